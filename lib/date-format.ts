/**
 * The tokens of a file source's `dateFormat` (`DD/MM/YYYY HH:mm`): one list for the parser that
 * reads the files' dates (extractors/shipments/date-parse.ts) and for the config's check, which
 * refuses a pattern the parser would read otherwise than meant (`DD/MM/YYY` read its last `Y` as
 * a letter to find in every date, so every row was quarantined).
 */

/** What a token reads. */
export type DateFormatField = 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second' | 'fraction' | 'meridiem' | 'offset';

/** The tokens, longest first so `YYYY` wins over `YY`, with the field each reads. */
export const DATE_FORMAT_TOKENS = [
  ['YYYY', 'year'],
  ['YY', 'year'],
  ['MMM', 'month'],
  ['MM', 'month'],
  ['M', 'month'],
  ['DD', 'day'],
  ['D', 'day'],
  ['HH', 'hour'],
  ['H', 'hour'],
  ['hh', 'hour'],
  ['h', 'hour'],
  ['mm', 'minute'],
  ['ss', 'second'],
  ['SSS', 'fraction'],
  ['A', 'meridiem'],
  ['a', 'meridiem'],
  ['Z', 'offset'],
] as const satisfies readonly (readonly [string, DateFormatField])[];

export type DateFormatToken = (typeof DATE_FORMAT_TOKENS)[number][0];

/** A token, or literal text: `[bracketed]` (`quoted`), or one character no token starts with. */
export type DateFormatPart = { token: DateFormatToken; field: DateFormatField } | { literal: string; quoted: boolean };

/** `format` split as the parser reads it; throws when a `[` is not closed. */
export function dateFormatParts(format: string): DateFormatPart[] {
  const parts: DateFormatPart[] = [];
  for (let i = 0; i < format.length; ) {
    if (format[i] === '[') {
      const end = format.indexOf(']', i);
      if (end < 0) throw new Error(`dateFormat "${format}": a [ is not closed`);
      parts.push({ literal: format.slice(i + 1, end), quoted: true });
      i = end + 1;
      continue;
    }
    const match = DATE_FORMAT_TOKENS.find(([name]) => format.startsWith(name, i));
    if (match) {
      parts.push({ token: match[0], field: match[1] });
      i += match[0].length;
    } else {
      parts.push({ literal: format[i]!, quoted: false });
      i++;
    }
  }
  return parts;
}

/** The letters outside `[brackets]` in runs of one letter (`DD`, `YYY`, `T`), with where each starts. */
function letterRuns(format: string): { run: string; at: number }[] {
  const runs: { run: string; at: number }[] = [];
  for (let i = 0; i < format.length; ) {
    if (format[i] === '[') {
      const end = format.indexOf(']', i);
      i = end < 0 ? format.length : end + 1;
      continue;
    }
    if (!/[A-Za-z]/.test(format[i]!)) {
      i++;
      continue;
    }
    let end = i + 1;
    while (format[end] === format[i]) end++;
    runs.push({ run: format.slice(i, end), at: i });
    i = end;
  }
  return runs;
}

const TOKEN_NAMES: readonly string[] = DATE_FORMAT_TOKENS.map(([name]) => name);

/** `YYYY YY MMM … Z`, for messages and docs. */
export const DATE_FORMAT_TOKEN_LIST = TOKEN_NAMES.join(' ');

/**
 * What is wrong with `format` as a `dateFormat`, or undefined: a `[` not closed; letters outside
 * brackets that are not a token (`YYY`, `yyyy`: the parser would look for them as written in
 * every date; a lone `T`, ISO's separator, is taken as written); no year, month or day; a field
 * written twice (`DD … D`).
 */
export function dateFormatProblem(format: string): { kind: 'unclosed' | 'not tokens' | 'incomplete' | 'twice'; message: string } | undefined {
  let parts: DateFormatPart[];
  try {
    parts = dateFormatParts(format);
  } catch {
    return { kind: 'unclosed', message: 'a [ is not closed' };
  }
  const fields = parts.flatMap((p) => ('token' in p ? [p] : []));
  if (!['year', 'month', 'day'].every((f) => fields.some((p) => p.field === f))) return { kind: 'incomplete', message: 'no year, month or day' };
  // A lone `T` is ISO 8601's separator (`YYYY-MM-DDTHH:mm`), read as written, as it always was.
  const strays = [...new Set(letterRuns(format).map((r) => r.run).filter((run) => !TOKEN_NAMES.includes(run) && run !== 'T'))];
  if (strays.length) {
    return {
      kind: 'not tokens',
      message: `${strays.map((s) => JSON.stringify(s)).join(', ')} ${strays.length === 1 ? 'is not a token' : 'are not tokens'} (the tokens: ${DATE_FORMAT_TOKEN_LIST}; other letters go in [brackets])`,
    };
  }
  const twice = fields.find((p, i) => fields.findIndex((q) => q.field === p.field) !== i);
  if (twice) {
    const written = fields.filter((p) => p.field === twice.field).map((p) => p.token);
    return { kind: 'twice', message: `the ${twice.field} is written twice (${written.join(' and ')})` };
  }
  return undefined;
}

/** The token a run of letters that is none most likely means (`YYY` → `YYYY`, `dd` → `DD`, `tt` → `A`, `T` → `[T]`). */
function tokenMeant(run: string): string {
  const letter = run[0]!;
  const n = run.length;
  switch (letter) {
    case 'Y':
    case 'y':
      return n === 2 ? 'YY' : 'YYYY';
    case 'D':
    case 'd':
      return n === 1 ? 'D' : 'DD';
    case 'M':
      return 'MMM';
    case 'm':
    case 's':
      return letter.repeat(2);
    case 'H':
    case 'h':
      return letter.repeat(2);
    case 'S':
      return 'SSS';
    case 'A':
    case 'a':
      return letter;
    case 't':
      // .NET's AM/PM.
      return n === 2 ? 'A' : `[${run}]`;
    case 'Z':
    case 'z':
      return 'Z';
    default:
      return `[${run}]`;
  }
}

/**
 * `format` with each run of letters that is not a token made the token it most likely means,
 * or undefined when that changes nothing or does not give a pattern {@link dateFormatProblem}
 * takes.
 */
export function dateFormatTokensMeant(format: string): string | undefined {
  if (dateFormatProblem(format)?.kind === 'unclosed') return undefined;
  let meant = '';
  let from = 0;
  for (const { run, at } of letterRuns(format)) {
    meant += format.slice(from, at) + (TOKEN_NAMES.includes(run) ? run : tokenMeant(run));
    from = at + run.length;
  }
  meant += format.slice(from);
  return meant !== format && !dateFormatProblem(meant) ? meant : undefined;
}
