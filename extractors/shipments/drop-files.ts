import { readdir, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { errorMessage } from '../../lib/errors.ts';
import { didYouMean } from '../../lib/names.ts';
import { fileColumns, FileFormatError, formatOf, workbookFit, type SheetChoice } from '../../loaders/file-reader.ts';
import { problem, warning, type CheckFinding } from '../check.ts';

/** One export file of the drop, named by its path relative to the drop's folder. */
export interface DropFile {
  /** The name recorded in `ops.landed_files`: relative to the folder, `/`-separated. */
  name: string;
  path: string;
}

const GLOB_CHARS = /[*?[\]{}]/;

/**
 * Whether a drop leaves a file (or a folder on its path) out by its name alone, whatever its
 * type: a hidden one (`.name`, as uploads in progress often are; macOS's `.DS_Store`;
 * LibreOffice's lock file `.~lock.costs.xlsx#`), the owner file Office and OneDrive keep beside
 * an open document (`~$costs.xlsx`, a few bytes that are no workbook), and the files Windows
 * keeps in a folder (`Thumbs.db`, `desktop.ini`, in any capitals). None is an export: read, an
 * owner file named `.xlsx` would fail the stream on every run while the workbook is open.
 */
export function leftOutByName(name: string): boolean {
  return name.startsWith('.') || name.startsWith('~$') || /^(thumbs\.db|desktop\.ini)$/i.test(name);
}

/**
 * The export files of a drop, sorted by name: every `.csv`, `.xlsx`, `.jsonl`/`.ndjson` or `.json`
 * file directly in a folder, the one file named, or the files matching a glob (`exports/*.csv`,
 * `drop/**\/*.jsonl`, `3pl-{a,b}-*.csv`). Files {@link leftOutByName} are left out unsaid;
 * `ignored` lists the other files skipped for their type.
 */
export async function listDropFiles(pattern: string, cwd = process.cwd()): Promise<{ files: DropFile[]; ignored: string[] }> {
  const absolute = resolve(cwd, pattern);
  const segments = absolute.split(sep);
  const firstGlob = segments.findIndex((s) => GLOB_CHARS.test(s));
  const files: DropFile[] = [];
  const ignored: string[] = [];
  const consider = (name: string, path: string) => {
    if (name.split('/').some(leftOutByName)) return;
    if (formatOf(path)) files.push({ name, path });
    else ignored.push(name);
  };
  if (firstGlob < 0) {
    const info = await stat(absolute).catch(() => undefined);
    if (!info) throw new Error(`${pattern} does not exist`);
    if (info.isFile()) {
      consider(segments[segments.length - 1]!, absolute);
    } else {
      for (const entry of await readdir(absolute, { withFileTypes: true })) if (entry.isFile()) consider(entry.name, join(absolute, entry.name));
    }
  } else {
    const base = segments.slice(0, firstGlob).join(sep) || sep;
    const rest = segments.slice(firstGlob).join('/');
    const matcher = globToRegExp(rest);
    const deep = rest.includes('/');
    const info = await stat(base).catch(() => undefined);
    if (!info?.isDirectory()) throw new Error(`${pattern}: the folder ${base} does not exist`);
    const entries = await readdir(base, { withFileTypes: true, recursive: deep });
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      const path = join(entry.parentPath, entry.name);
      const name = relative(base, path).split(sep).join('/');
      if (matcher.test(name)) consider(name, path);
    }
  }
  files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { files, ignored: ignored.sort() };
}

/**
 * A glob as a regular expression over `/`-separated relative paths: `*` and `?` within one
 * segment, `**` across segments, `[abc]` classes, `{a,b}` alternatives.
 */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  let depth = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      out += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) out += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        out += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = end;
      }
    } else if (c === '{') {
      depth++;
      out += '(?:';
    } else if (c === '}' && depth > 0) {
      depth--;
      out += ')';
    } else if (c === ',' && depth > 0) out += '|';
    else out += c.replace(/[.+^$()|\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

/**
 * For `verite check`: the newest file of a drop (the last by name) against the column mapping.
 * A warning names the columns of the mapping it lacks, with the file's columns close to each, in
 * the words of the run's own warning; a problem, a file the run could not read (a header naming a
 * column twice, a workbook saved as .csv); null when it has them all or has no records yet.
 */
export async function newestFileFinding(
  files: readonly DropFile[],
  missing: (row: Record<string, unknown>) => string[],
  drop: { source: string; sheet?: SheetChoice; sheetLacks?: (row: Record<string, unknown>) => string[] },
): Promise<CheckFinding | null> {
  const newest = files.at(-1);
  if (!newest) return null;
  let columns: string[] | undefined;
  try {
    columns = await fileColumns(newest.path, drop.sheet);
  } catch (error) {
    return unreadableFile(newest.name, error);
  }
  if (!columns) return null;
  // A workbook read on the wrong sheet is left unread by the run, as this says.
  const fit = await workbookFit(newest.path, drop.sheet, drop.sheetLacks ?? missing);
  if (fit && fit.lacking.length && fit.others.length) return warning(`${newest.name} would not be read: ${wrongSheet(fit, setSheetIn(drop.source))}`);
  const lacking = missing(Object.fromEntries(columns.map((c) => [c, ''])));
  if (!lacking.length) return null;
  return warning(`${newest.name} has no column ${lacking.map((c) => `"${c}"${didYouMean(c, columns)}`).join(', ')}, which the columns mapping names: its rows would be quarantined or lack those fields`);
}

/**
 * Why a workbook's sheet is the wrong one, and which to read instead (`advice`, given the sheet's
 * name quoted): `its sheet "Summary" has no column "sku", "unit_cost", which its rows need to be
 * read, and its sheet "Costs" has them: set "sheet": "Costs" in sources.costs`.
 */
export function wrongSheet(fit: { sheet: string; lacking: string[]; others: string[] }, advice: (quotedSheet: string) => string): string {
  const others = fit.others.map((s) => JSON.stringify(s));
  return (
    `its sheet ${JSON.stringify(fit.sheet)} has no column ${fit.lacking.map((c) => `"${c}"`).join(', ')}, which its rows need to be read, ` +
    `and its sheet ${others.join(', ')} ${others.length === 1 ? 'has' : 'have'} them: ${advice(others[0]!)}`
  );
}

/** {@link wrongSheet}'s advice for a source's config entry. */
export const setSheetIn = (source: string) => (sheet: string) => `set "sheet": ${sheet} in sources.${source}`;

/** A file of a source that the run could not read, as a problem of `verite check`. */
export function unreadableFile(name: string, error: unknown): CheckFinding {
  return problem(`${name} cannot be read: ${error instanceof FileFormatError ? error.reason : errorMessage(error)}`);
}
