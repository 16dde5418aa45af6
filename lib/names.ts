/** Names close to `name` (one contains the other, or at most two edits apart), closest first, for "did you mean". */
export function similarNames(name: string, names: readonly string[]): string[] {
  const distance = (a: string, b: string): number => {
    let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      const row = [i];
      for (let j = 1; j <= b.length; j++) row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = row;
    }
    return previous[b.length]!;
  };
  return names
    .map((n) => ({ n, d: distance(n.toLowerCase(), name.toLowerCase()) }))
    .filter(({ n, d }) => n.includes(name) || name.includes(n) || d <= 2)
    .sort((a, b) => a.d - b.d)
    .map(({ n }) => n);
}

/** ` (did you mean a, b?)` for the names close to `name`, or nothing. */
export function didYouMean(name: string, names: readonly string[]): string {
  const near = similarNames(name, names);
  return near.length ? ` (did you mean ${near.slice(0, 3).join(', ')}?)` : '';
}
