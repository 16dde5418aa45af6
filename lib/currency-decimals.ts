/**
 * The decimals of a currency's minor unit as ISO 4217 lists them (its "minor unit" column):
 * what an amount is shown to. 2 for most; none for the yen, the won, the dong, the Chilean peso,
 * the Icelandic króna and the others below; 3 for the dinars of Bahrain, Iraq, Jordan, Kuwait,
 * Libya and Tunisia and the Omani rial (fils and baisa).
 *
 * Display only. Stripe's amounts in minor units are read with `ops.currency_exponent` (the
 * migrations), which follows Stripe's own list: it differs for ISK (2 at Stripe), MGA (0 at
 * Stripe, 2 in ISO 4217), and IQD and LYD, which Stripe does not process.
 */

const NO_MINOR_UNIT: ReadonlySet<string> = new Set(['BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG', 'RWF', 'UGX', 'VND', 'VUV', 'XAF', 'XOF', 'XPF']);
const THREE_DECIMALS: ReadonlySet<string> = new Set(['BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND']);

/**
 * How many decimals an amount in `currency` (an ISO 4217 code) is shown with; 2 for a code not
 * listed above, XDR and XSU included (units of account, with no minor unit in ISO 4217).
 *
 * @example
 * currencyDecimals('JPY') // 0
 * currencyDecimals('KWD') // 3
 * currencyDecimals('EUR') // 2
 */
export function currencyDecimals(currency: string): number {
  const code = currency.trim().toUpperCase();
  if (NO_MINOR_UNIT.has(code)) return 0;
  if (THREE_DECIMALS.has(code)) return 3;
  return 2;
}
