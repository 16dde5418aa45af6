import { displayNumber, type DisplayKind } from '../lib/display-number.ts';
import type { MetricDefinition } from '../metrics/definition.ts';
import { renderCharts } from './charts.ts';
import { CHANGE_THRESHOLD } from './kinds.ts';
import type { Headline, PeriodFigures, ReportData } from './data.ts';

/**
 * A report as one self-contained HTML page: inline styles, system fonts, charts as inline SVG,
 * no script and nothing fetched (a Content-Security-Policy forbids it), so it opens from a
 * mail, a file or `verite serve` alike.
 */

export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** How a metric's value is shown, from its definition. */
export function displayKind(m: MetricDefinition): DisplayKind {
  if (m.unit === 'currency') return 'money';
  if (m.unit === 'count') return 'count';
  if (m.unit === 'days') return 'days';
  return m.display ?? 'number';
}

/** A headline's value as shown, with the currency for money (to its minor unit: 354 JPY, 354.177 KWD). */
export function headlineText(h: Pick<Headline, 'metric' | 'value'>, currency: string): string {
  if (h.value === null) return 'no data';
  const shown = displayNumber(h.value, displayKind(h.metric), { currency });
  return h.metric.unit === 'currency' ? `${shown} ${currency}` : shown;
}

const signed = (x: number) => `${x > 0 ? '+' : x < 0 ? '−' : '±'}${Math.abs(x * 100).toFixed(1)}%`;

function comparison(h: Headline, label: string, other: PeriodFigures, change: number | null, before: number | null, currency: string): string {
  const was = before === null ? 'no data' : headlineText({ metric: h.metric, value: before }, currency);
  if (change !== null) {
    const tone = change === 0 ? '' : (change > 0) === !lowerIsBetter(h.metric) ? 'up' : 'down';
    return `<li class="${tone}">${signed(change)} ${label} <span class="muted">(${escapeHtml(other.period.id)}: ${escapeHtml(was)})</span></li>`;
  }
  return `<li class="muted">${label} <span>(${escapeHtml(other.period.id)}: ${escapeHtml(was)})</span>: not compared</li>`;
}

/** Whether a rise of the metric is bad news (a cost, an abandonment, a return). */
function lowerIsBetter(m: MetricDefinition): boolean {
  return ['cac', 'refund_rate', 'return_rate', 'cart_abandonment_rate', 'checkout_abandonment_rate', 'refunds', 'logistics_cost_per_order', 'avg_delivery_days'].includes(m.name);
}

function headlineCard(h: Headline, d: ReportData): string {
  const m = h.metric;
  const value = h.value === null ? '' : String(h.value);
  return `<article class="headline" data-metric="${escapeHtml(m.name)}" data-value="${escapeHtml(value)}">
  <h3 title="${escapeHtml(m.description)}">${escapeHtml(m.label)}</h3>
  <p class="value">${escapeHtml(headlineText(h, d.currency))}</p>
  <ul class="changes">
    ${comparison(h, 'vs previous', d.previous, h.changePrevious, h.previous, d.currency)}
    ${comparison(h, 'vs a year earlier', d.yearAgo, h.changeYear, h.yearAgo, d.currency)}
  </ul>
  ${h.notes.map((n) => `<p class="note">${escapeHtml(n)}</p>`).join('\n  ')}
  <details><summary>Definition</summary><p>${escapeHtml(m.description)}</p><p class="formula">${escapeHtml(m.formula)}</p></details>
</article>`;
}

const STYLE = `
:root { color-scheme: light; --ink: #1d2330; --muted: #667085; --line: #e3e6ec; --up: #1e7b45; --down: #b42318; --warn: #9a5b00; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1360px; padding: 24px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: #fff; }
header { border-bottom: 2px solid var(--ink); padding-bottom: 12px; margin-bottom: 16px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 10px; } h3 { font-size: 13px; margin: 0; color: var(--muted); font-weight: 600; cursor: help; }
.muted { color: var(--muted); } .partial { color: var(--warn); font-weight: 600; }
.meta { display: flex; flex-wrap: wrap; gap: 6px 24px; margin: 6px 0; }
.headlines { display: grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr)); gap: 12px; }
.headline { border: 1px solid var(--line); border-radius: 8px; padding: 12px; }
.headline .value { font-size: 24px; font-weight: 650; margin: 4px 0; font-variant-numeric: tabular-nums; }
.changes { list-style: none; padding: 0; margin: 0; font-size: 12.5px; } .up { color: var(--up); } .down { color: var(--down); }
.note { color: var(--warn); font-size: 12px; margin: 4px 0 0; }
details { font-size: 12px; margin-top: 6px; } summary { cursor: pointer; color: var(--muted); } .formula { font-family: ui-monospace, Menlo, Consolas, monospace; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(606px, 1fr)); gap: 16px; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 8px; padding: 12px; overflow-x: auto; } figcaption { font-size: 12px; color: var(--muted); }
figure h3 { color: var(--ink); font-size: 14px; margin-bottom: 6px; cursor: default; }
table { border-collapse: collapse; font-size: 13px; } td, th { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left; }
ul.plain { padding-left: 18px; } code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
`;

/** The products section, when metrics.product_daily exists. */
function productsHtml(d: ReportData): string {
  const p = d.products;
  if (p === null) return '';
  const list = (title: string, cls: string, items: string[]) =>
    `<div class="${cls}"><h3>${escapeHtml(title)}</h3>${items.length ? `<ol>${items.map((i) => `<li>${i}</li>`).join('')}</ol>` : '<p class="muted">None.</p>'}</div>`;
  const money = (v: number) => `${displayNumber(v, 'money', { currency: d.currency })} ${escapeHtml(d.currency)}`;
  return `<section class="products">
  <h2>Products</h2>
  <div class="headlines">
    ${list('Best sellers (product sales)', 'best-sellers', p.bestSellers.map((x) => `${escapeHtml(x.product)} — ${money(x.value)}`))}
    ${p.outOfStock === null ? '' : list('Out of stock at the end of the period', 'out-of-stock', p.outOfStock.map(escapeHtml))}
    ${list('Refunded most (units)', 'most-returned', p.mostReturned.map((x) => `${escapeHtml(x.product)} — ${displayNumber(x.value, 'count')}`))}
  </div>
</section>`;
}

const periodLabel = (p: PeriodFigures) => `${escapeHtml(p.period.id)} (${p.period.start} – ${p.period.end})`;
const when = (d: Date | null) => (d === null ? 'never' : `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`);

/** The report as a complete HTML page. */
export function renderReportHtml(d: ReportData): string {
  const { charts, empty } = renderCharts(d);
  const stale = d.sources.filter((s) => s.fresh === false).map((s) => s.name);
  const incomplete = d.sources.filter((s) => s.incompleteFrom !== null);
  const missing = [...new Set(d.headlines.flatMap((h) => h.missingSources))];
  const title = `${d.layout.title}: ${d.current.period.id}${d.current.partial ? ' (partial)' : ''}`;
  const gaps = d.reconciliation;
  const gapLines = [
    gaps.ordersWithoutPayment > 0
      ? `<li>${gaps.ordersWithoutPayment} order${gaps.ordersWithoutPayment === 1 ? '' : 's'} paid with Stripe without a succeeded payment: <code>select * from core.orders o where is_counted and paid_with_stripe and order_date between '${d.current.period.start}' and '${d.current.period.end}' and not exists (select 1 from core.payments p where p.order_id = o.order_id and p.status = 'succeeded')</code></li>`
      : '',
    gaps.paymentsWithoutOrder > 0
      ? `<li>${gaps.paymentsWithoutOrder} succeeded payment${gaps.paymentsWithoutOrder === 1 ? '' : 's'} without an order: <code>select * from core.payments where status = 'succeeded' and order_id is null and payment_date between '${d.current.period.start}' and '${d.current.period.end}'</code></li>`
      : '',
  ].filter(Boolean);

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)} · ${escapeHtml(d.shop)}</title>
<style>${STYLE}</style>
</head>
<body data-report="${d.kind}" data-period="${escapeHtml(d.current.period.id)}" data-partial="${d.current.partial ? 'true' : 'false'}">
<header>
  <h1>${escapeHtml(title)}</h1>
  <div class="meta">
    <span><strong>${escapeHtml(d.shop)}</strong></span>
    <span class="period">Period: ${periodLabel(d.current)}${d.current.partial ? ` <span class="partial">${escapeHtml(d.current.partial)}</span>` : ''}</span>
    <span>Currency: ${escapeHtml(d.currency)}</span>
    <span>Time zone: ${escapeHtml(d.timeZone)}</span>
    <span>Complete through: ${escapeHtml(d.completeThrough ?? 'unknown')}</span>
    <span class="muted">Metrics refreshed ${when(d.refreshedAt)}; report made ${when(d.generatedAt)}</span>
  </div>
  <div class="meta comparison">
    <span>Compared with the previous period ${periodLabel(d.previous)}${d.previous.partial ? ` <span class="partial">${escapeHtml(d.previous.partial)}</span>` : ''}</span>
    <span>and a year earlier ${periodLabel(d.yearAgo)}${d.yearAgo.partial ? ` <span class="partial">${escapeHtml(d.yearAgo.partial)}</span>` : ''}</span>
  </div>
  <details class="sources"><summary>Data as of, per source${stale.length ? ` — <span class="partial">stale: ${escapeHtml(stale.join(', '))}</span>` : ''}${missing.length ? ` — <span class="partial">missing: ${escapeHtml(missing.join(', '))}</span>` : ''}</summary>
    <table><thead><tr><th>Source</th><th>Newest data</th><th>Last successful read</th><th>Fresh</th><th>Incomplete from</th></tr></thead><tbody>
    ${d.sources
      .map(
        (s) =>
          `<tr data-source="${escapeHtml(s.name)}"><td>${escapeHtml(s.name)}</td><td>${escapeHtml(s.newestDataDate ?? 'no data')}</td><td>${when(s.lastSuccessAt)}</td><td>${s.fresh === null ? '—' : s.fresh ? 'yes' : '<span class="partial">stale</span>'}</td><td>${escapeHtml(s.incompleteFrom ?? '')}</td></tr>`,
      )
      .join('\n    ')}
    </tbody></table>
  </details>
  ${incomplete.length ? `<p class="note">${incomplete.map((s) => `${escapeHtml(s.name)}: incomplete from ${escapeHtml(s.incompleteFrom!)}`).join('; ')}</p>` : ''}
</header>

<section>
  <h2>Headline numbers</h2>
  <div class="headlines">
${d.headlines.map((h) => headlineCard(h, d)).join('\n')}
  </div>
</section>

<section class="what-changed">
  <h2>What changed</h2>
  <ul class="plain">
    ${d.current.partial || d.previous.partial ? `<li class="partial">${escapeHtml(d.current.partial ? `${d.current.period.id} is ${d.current.partial}` : `${d.previous.period.id} is ${d.previous.partial}`)}: changes against the previous period are not compared</li>` : ''}
    ${d.changes.map((c) => `<li class="change">${escapeHtml(c)}</li>`).join('\n    ')}
    ${!d.current.partial && !d.previous.partial && d.changes.length === 0 ? `<li class="muted">No headline moved by ${CHANGE_THRESHOLD * 100}% or more against the previous period.</li>` : ''}
    ${d.alerts.map((a) => `<li class="alert down">Alert firing: ${escapeHtml(a.message)}</li>`).join('\n    ')}
    ${gapLines.join('\n    ')}
    ${gapLines.length === 0 ? '<li class="muted">Reconciliation: every order paid with Stripe has its payment, every payment its order.</li>' : ''}
  </ul>
</section>

${productsHtml(d)}
<section>
  <h2>Charts</h2>
  <div class="charts">
${charts.map((c) => `<figure class="chart" data-chart="${c.name}" data-points="${c.points}"><h3>${escapeHtml(c.title)}</h3>${c.svg}<figcaption>${escapeHtml(c.caption)}</figcaption></figure>`).join('\n')}
  </div>
  ${empty.length ? `<p class="muted">No data to draw: ${escapeHtml(empty.join('; '))}.</p>` : ''}
</section>
<footer class="muted"><p>Made by verite from the metrics tables; each number's definition is under it (docs/metrics.md).</p></footer>
</body>
</html>
`;
}
