/**
 * The disk room a bulk export needs. Reading an export of `fileSize` bytes keeps two copies of
 * it in the temporary folder at once: the downloaded file, and the part files `bulk-file.ts`
 * splits it into (each line again, prefixed with the id of the object it belongs to), both
 * removed when the window is landed. So the download goes ahead only when the disk holds both
 * and still has {@link leftFree} free after them; and it may not run past the announced size.
 */

/**
 * Bytes each line of an export gains in its part-file copy: the id of the object it belongs to,
 * two tabs and a letter. A Shopify global id is at most about 50 characters
 * (`gid://shopify/ProductVariant/` and a 64-bit number); 64 bounds it.
 */
export const PART_LINE_BYTES = 64;

/** Free space left after an export and its copy, at the least: 256 MiB (the embedded warehouse's own low-disk mark) … */
export const MIN_LEFT_BYTES = 256 * 1024 * 1024;
/** … or a twentieth of what they take, when that is more: room for the estimate's error and for other writers meanwhile. */
export const LEFT_SHARE = 0.05;

/** Slack allowed over the announced size while downloading: 1% of it, at least 1 MiB (well within {@link LEFT_SHARE}). */
export const MIN_SLACK_BYTES = 1024 * 1024;
export const SLACK_SHARE = 0.01;

/** What reading an export of `fileSize` bytes in `lines` lines takes on disk, and what must stay free after it. */
export function exportRoom(fileSize: number, lines: number): { takes: number; leftFree: number } {
  const takes = 2 * fileSize + lines * PART_LINE_BYTES;
  return { takes, leftFree: leftFree(takes) };
}

/** The free space to leave after writing `takes` bytes: the larger of 256 MiB and 5% of them. */
export function leftFree(takes: number): number {
  return Math.max(MIN_LEFT_BYTES, Math.ceil(takes * LEFT_SHARE));
}

/** The slack over the announced size a download may run to before it is stopped. */
export function downloadSlack(fileSize: number): number {
  return Math.max(MIN_SLACK_BYTES, Math.ceil(fileSize * SLACK_SHARE));
}

/**
 * An `UnsignedInt64` as the Admin API writes it (a string of base-10 digits, e.g. `"50"`), or
 * a number; undefined when absent (null) or not such a value.
 */
export function unsignedInt(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}
