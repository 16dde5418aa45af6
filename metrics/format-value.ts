import { currencyDecimals } from '../lib/currency-decimals.ts';
import { metricByName } from './definitions/index.ts';

const grouped = (value: number, decimals: number) =>
  value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });

/**
 * A metric value as a person reads it in the run summary and in alerts: money to its currency's
 * minor unit (2 decimals for most, 0 for JPY, 3 for KWD), rates in %, MER as a multiple, days to
 * one decimal, counts whole; with thousands separators. `withCurrency` adds the currency's code
 * after an amount (an alert's message stands alone; the summary names the currency once).
 */
export function formatMetricValue(metric: string, value: number | null, currency: string, options: { withCurrency?: boolean } = {}): string {
  if (value === null) return 'n/a';
  const m = metricByName(metric);
  if (!m) return String(value);
  if (m.unit === 'count') return grouped(value, Number.isInteger(value) ? 0 : 2);
  if (m.unit === 'currency') return `${grouped(value, currencyDecimals(currency))}${options.withCurrency ? ` ${currency}` : ''}`;
  if (m.unit === 'days') return `${grouped(value, 1)} d`;
  if (m.display === 'percent') return `${grouped(value * 100, 2)}%`;
  if (m.display === 'multiple') return `${grouped(value, 2)}x`;
  return grouped(value, 2);
}
