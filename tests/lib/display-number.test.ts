import { describe, expect, it } from 'vitest';
import { displayNumber } from '../../lib/display-number.ts';

/** Issue 17: money was printed with 18 decimals (`5660.099311374795421377`); people read it rounded, the warehouse keeps every digit. */
describe('displayNumber', () => {
  it('rounds money to cents with thousands separators, half away from zero on the decimal digits', () => {
    expect(displayNumber('5660.099311374795421377', 'money')).toBe('5,660.10');
    expect(displayNumber('0.005', 'money')).toBe('0.01');
    expect(displayNumber('-1.005', 'money')).toBe('-1.01');
    // 1.005 as a double is 1.00499999999999989…: rounding the decimal text gives 1.01, as a person expects.
    expect(displayNumber(1.005, 'money')).toBe('1.01');
    expect(displayNumber('-0.004', 'money')).toBe('0.00');
    expect(displayNumber('160343.83', 'money', { grouping: false })).toBe('160343.83');
  });

  it('shows money to its currency\'s minor unit: none for the yen, 3 decimals for the Kuwaiti dinar', () => {
    // 354.1766625: to 3 places the 4th digit is 6, up → 354.177; to none the 1st is 1, down → 354; to 2 the 3rd is 6, up → 354.18.
    expect(displayNumber('354.1766625', 'money', { currency: 'KWD' })).toBe('354.177');
    expect(displayNumber('354.1766625', 'money', { currency: 'JPY' })).toBe('354');
    expect(displayNumber('354.1766625', 'money', { currency: 'USD' })).toBe('354.18');
    // ISO 4217's list, not Stripe's: the Iraqi and Libyan dinars have 3, the Icelandic króna none, the ariary 2.
    expect(displayNumber('1234.5678', 'money', { currency: 'IQD' })).toBe('1,234.568');
    expect(displayNumber('1234.5678', 'money', { currency: 'LYD' })).toBe('1,234.568');
    expect(displayNumber('1234.5', 'money', { currency: 'ISK' })).toBe('1,235');
    expect(displayNumber('1234.5', 'money', { currency: 'MGA' })).toBe('1,234.50');
    for (const code of ['KRW', 'VND', 'CLP', 'UGX']) expect(displayNumber('-0.5', 'money', { currency: code }), code).toBe('-1');
    for (const code of ['BHD', 'OMR', 'JOD', 'TND']) expect(displayNumber('0.0005', 'money', { currency: code }), code).toBe('0.001');
    // A whole amount gets its zeros; the currency changes money only.
    expect(displayNumber('12', 'money', { currency: 'KWD' })).toBe('12.000');
    expect(displayNumber('0.03294', 'percent', { currency: 'JPY' })).toBe('3.29%');
  });

  it('rounds exactly beyond double precision', () => {
    expect(displayNumber('123456789012345678901234.125', 'money')).toBe('123,456,789,012,345,678,901,234.13');
    expect(displayNumber(10n ** 20n, 'count')).toBe('100,000,000,000,000,000,000');
    expect(displayNumber(1e21, 'money')).toBe('1,000,000,000,000,000,000,000.00');
  });

  it('shows rates as percentages, multiples, days and counts', () => {
    expect(displayNumber(0.03294, 'percent')).toBe('3.29%');
    expect(displayNumber('1', 'percent')).toBe('100.00%');
    expect(displayNumber('8.0512', 'multiple')).toBe('8.05x');
    expect(displayNumber('2.25', 'days')).toBe('2.3 d');
    expect(displayNumber('1486', 'count')).toBe('1,486');
    expect(displayNumber('12.50', 'count')).toBe('12.50');
  });

  it('shows any other number to at most 6 decimals, without trailing zeros or grouping', () => {
    expect(displayNumber('0.02341234567', 'number')).toBe('0.023412');
    expect(displayNumber('1.0834000', 'number')).toBe('1.0834');
    expect(displayNumber('12345.5', 'number')).toBe('12345.5');
    expect(displayNumber(1.5e-7, 'number')).toBe('0');
  });

  it('leaves what is not a number as it is, and shows a missing value as asked', () => {
    expect(displayNumber('NaN', 'money')).toBe('NaN');
    expect(displayNumber(Number.POSITIVE_INFINITY, 'money')).toBe('Infinity');
    expect(displayNumber(null, 'money')).toBe('');
    expect(displayNumber(undefined, 'percent', { missing: 'n/a' })).toBe('n/a');
  });
});
