/**
 * A CSV row of `verite import google_ads campaign_daily` with the GAQL field names as columns
 * (`customer.id`, `segments.date`, `metrics.cost_micros` …, as a GAQL export writes them) turned
 * into the nested record google-ads-api returns. Values stay the text of the file; an empty cell
 * is left out, as the API leaves out a field it has no value for.
 */
export function googleAdsCsvRow(row: Record<string, string>): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) {
    if (value === '') continue;
    const path = column.trim().split('.');
    let target = record;
    for (const part of path.slice(0, -1)) {
      const next = target[part];
      if (next !== undefined && (typeof next !== 'object' || next === null)) throw new Error(`column ${column} clashes with column ${part}`);
      target = (next as Record<string, unknown> | undefined) ?? (target[part] = {});
    }
    target[path[path.length - 1]!] = value;
  }
  return record;
}
