/** How the APIs write amounts: Shopify decimal strings, Graph API strings, plain numbers. */

/** Integer cents as a decimal string with two places: 1234 → "12.34". */
export function money(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  const units = Math.floor(abs / 100);
  const rest = abs - units * 100;
  return `${sign}${units}.${rest < 10 ? '0' : ''}${rest}`;
}

/** A number rounded to `places` decimals, as a number. */
export function round(value: number, places: number): number {
  const f = 10 ** places;
  return Math.round(value * f) / f;
}
