/**
 * CLV fit benchmark: draws N customers from the BG/NBD and Gamma-Gamma generative processes
 * (first purchases spread over two years, purchase times cut to whole days as the warehouse sees
 * them), then times what a fit does with their histories: grouping the customers by
 * (x, t_x, T), fitting BG/NBD, fitting Gamma-Gamma on the repeat customers, and, apart, the
 * predictions of every group. Each size is measured `BENCH_ROUNDS` times (default 3) and the
 * medians are printed, with the estimates next to the parameters the customers were drawn with.
 *
 *   npm run bench:clv                   # 100,000 and 1,000,000 customers, 3 rounds
 *   npm run bench:clv -- 250000         # other sizes
 *   BENCH_ROUNDS=1 npm run bench:clv    # one round
 */
import { fitBgNbd, type BgNbdParameters } from '../metrics/clv/bg-nbd.ts';
import { predictGroups } from '../metrics/clv/customer-value.ts';
import { fitGammaGamma, spendGroups, type GammaGammaParameters } from '../metrics/clv/gamma-gamma.ts';
import { groupHistories } from '../metrics/clv/history-groups.ts';
import { simulateCustomers } from '../metrics/clv/simulate.ts';
import { median } from './median.ts';

const SIZES = process.argv.slice(2).map(Number).filter((n) => n > 0);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
/** The CDNOW estimates of Fader, Hardie & Lee (2005). */
const BG_NBD: BgNbdParameters = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
const GAMMA_GAMMA: GammaGammaParameters = { p: 6.25, q: 3.74, gamma: 15.44 };

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const grouped = (n: number) => n.toLocaleString('en-US');

function timed<T>(fn: () => T): [T, number] {
  const started = performance.now();
  const value = fn();
  return [value, performance.now() - started];
}

for (const n of SIZES.length ? SIZES : [100_000, 1_000_000]) {
  const [customers, drawMs] = timed(() => simulateCustomers({ customers: n, bgNbd: BG_NBD, gammaGamma: GAMMA_GAMMA, acquisitionDays: 730, seed: 11 }));
  const repeat = customers.filter((c) => c.x > 0 && c.m > 0);
  process.stdout.write(`\n${grouped(n)} customers drawn in ${seconds(drawMs)} (${grouped(repeat.length)} repeat)\n`);
  const rounds: { group: number; bgNbd: number; gammaGamma: number; fit: number; predict: number }[] = [];
  let last: { groups: number; bg: ReturnType<typeof fitBgNbd>; gg: ReturnType<typeof fitGammaGamma> } | undefined;
  for (let round = 0; round < ROUNDS; round++) {
    const [groups, groupMs] = timed(() => groupHistories(customers));
    const [bg, bgMs] = timed(() => fitBgNbd(groups));
    const [gg, ggMs] = timed(() => fitGammaGamma(spendGroups({ x: repeat.map((c) => c.x), m: repeat.map((c) => c.m), count: repeat.map(() => 1) })));
    const [, predictMs] = timed(() => predictGroups(bg.parameters, groups, { monthlyDiscountRate: 0.01 }));
    rounds.push({ group: groupMs, bgNbd: bgMs, gammaGamma: ggMs, fit: groupMs + bgMs + ggMs, predict: predictMs });
    last = { groups: groups.size, bg, gg };
    process.stdout.write(`  round ${round + 1}: fit ${seconds(groupMs + bgMs + ggMs)} (grouping ${seconds(groupMs)}, BG/NBD ${seconds(bgMs)}, Gamma-Gamma ${seconds(ggMs)}), predictions ${seconds(predictMs)}\n`);
  }
  const m = (key: keyof (typeof rounds)[number]) => median(rounds.map((r) => r[key]));
  const { groups, bg, gg } = last!;
  process.stdout.write(
    `fit of ${grouped(n)} customers, median of ${ROUNDS}: ${seconds(m('fit'))} ` +
      `(grouping into ${grouped(groups)} histories ${seconds(m('group'))}, BG/NBD ${seconds(m('bgNbd'))} in ${bg.evaluations} evaluations, ` +
      `Gamma-Gamma ${seconds(m('gammaGamma'))} in ${gg.evaluations}); predictions of every history ${seconds(m('predict'))}\n`,
  );
  const f = (v: number) => v.toFixed(3);
  process.stdout.write(
    `  BG/NBD r ${f(bg.parameters.r)} (drawn with ${BG_NBD.r}), alpha ${f(bg.parameters.alpha)} (${BG_NBD.alpha}), a ${f(bg.parameters.a)} (${BG_NBD.a}), b ${f(bg.parameters.b)} (${BG_NBD.b})\n` +
      `  Gamma-Gamma p ${f(gg.parameters.p)} (${GAMMA_GAMMA.p}), q ${f(gg.parameters.q)} (${GAMMA_GAMMA.q}), gamma ${f(gg.parameters.gamma)} (${GAMMA_GAMMA.gamma}); ` +
      'cutting purchase times to days merges same-day purchases, which biases the estimates a little\n',
  );
}
