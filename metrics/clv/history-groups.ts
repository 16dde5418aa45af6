/**
 * A customer's purchase history as of the calibration end, as the BG/NBD model reads it
 * (docs/metrics.md, "Predicted customer value"): `x` repeat transactions (purchase days after the
 * first), `tx` the weeks from the first purchase day to the last, `T` the weeks from the first
 * purchase day to the calibration end.
 */
export interface PurchaseHistory {
  readonly x: number;
  readonly tx: number;
  readonly T: number;
}

/**
 * Customers with the same history, each history once with how many customers share it. The
 * likelihood of the model depends on a customer only through (x, tx, T), so it is summed over
 * these groups: purchase days make tx and T whole numbers of days, and a shop's million
 * customers share some hundred thousand histories. Columns, so the fit reads them without
 * allocating.
 */
export interface HistoryGroups {
  readonly size: number;
  readonly x: Float64Array;
  readonly tx: Float64Array;
  readonly T: Float64Array;
  /** Customers with this history (a weight; need not be whole). */
  readonly count: Float64Array;
}

/** The groups of given histories, each with its count, in order of first appearance. */
export function groupHistories(histories: Iterable<PurchaseHistory & { readonly count?: number }>): HistoryGroups {
  // Numbers, not strings, as keys: T and t_x each become the index of their value, (T, t_x) one
  // integer below 2^52, and x a key under it, so a million customers group in a fraction of a second.
  const TIndex = new Map<number, number>();
  const txIndex = new Map<number, number>();
  const index = new Map<number, Map<number, number>>();
  const x: number[] = [];
  const tx: number[] = [];
  const T: number[] = [];
  const count: number[] = [];
  const indexOf = (values: Map<number, number>, v: number) => {
    let k = values.get(v);
    if (k === undefined) values.set(v, (k = values.size));
    return k;
  };
  for (const h of histories) {
    const key = indexOf(TIndex, h.T) * 2 ** 26 + indexOf(txIndex, h.tx);
    if (TIndex.size > 2 ** 26 || txIndex.size > 2 ** 26) throw new RangeError('more than 2^26 distinct values of T or t_x to group');
    let byX = index.get(key);
    if (!byX) index.set(key, (byX = new Map()));
    const at = byX.get(h.x);
    if (at !== undefined) {
      count[at]! += h.count ?? 1;
      continue;
    }
    byX.set(h.x, x.length);
    x.push(h.x);
    tx.push(h.tx);
    T.push(h.T);
    count.push(h.count ?? 1);
  }
  return historyGroups({ x, tx, T, count });
}

/** Groups from columns already grouped (e.g. by the warehouse), checked. */
export function historyGroups(columns: { x: ArrayLike<number>; tx: ArrayLike<number>; T: ArrayLike<number>; count: ArrayLike<number> }): HistoryGroups {
  const size = columns.x.length;
  if (columns.tx.length !== size || columns.T.length !== size || columns.count.length !== size) throw new RangeError('history columns of different lengths');
  const groups = { size, x: Float64Array.from(columns.x), tx: Float64Array.from(columns.tx), T: Float64Array.from(columns.T), count: Float64Array.from(columns.count) };
  for (let i = 0; i < size; i++) {
    const [x, tx, T, n] = [groups.x[i]!, groups.tx[i]!, groups.T[i]!, groups.count[i]!];
    if (!(Number.isInteger(x) && x >= 0 && tx >= 0 && T >= tx && n >= 0) || (x === 0 && tx !== 0)) {
      throw new RangeError(`not a purchase history: x ${x}, t_x ${tx}, T ${T}, count ${n} (expected a whole x ≥ 0, 0 ≤ t_x ≤ T, t_x = 0 when x = 0)`);
    }
  }
  return groups;
}
