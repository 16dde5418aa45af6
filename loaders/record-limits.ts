/**
 * What a record may be to be landed. Past these it is quarantined with the reason, so one
 * freak record never costs its neighbours: PostgreSQL parses `jsonb` recursively and fails the
 * whole COPY of a page ("stack depth limit exceeded") at 10,000 to 20,000 levels with the
 * default `max_stack_depth` of 2 MB, and at a few hundred on a server set to the 100 kB minimum.
 * Real API records nest fewer than ten levels (a Shopify order's deepest value,
 * `line_items[].tax_lines[].price_set.shop_money.amount`, is six down).
 */
export const RECORD_LIMITS = Object.freeze({
  /** Objects and arrays inside one another, the record itself being level 1. */
  maxDepth: 256,
  /** Bytes of the record's JSON text in UTF-8 (16 MiB; `jsonb` itself stops at 255 MiB). */
  maxBytes: 16 * 1024 * 1024,
});

/** A size read, exactly: `16,777,234 bytes`. */
export function byteCount(bytes: number): string {
  return `${bytes.toLocaleString('en-US')} bytes`;
}

/** A limit, shown in a reason: `16 MiB`, `64 KiB`, `900 bytes`. */
export function describeBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${+(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Whether valid JSON text nests deeper than `limit`. Most records hold fewer opening brackets
 * than the limit, which bounds their depth: those are counted with native searches, and only
 * the rest are walked character by character.
 */
export function nestedDeeperThan(json: string, limit: number): boolean {
  let opening = 0;
  for (let i = json.indexOf('{'); i !== -1 && opening <= limit; i = json.indexOf('{', i + 1)) opening++;
  for (let i = json.indexOf('['); i !== -1 && opening <= limit; i = json.indexOf('[', i + 1)) opening++;
  if (opening <= limit) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > limit) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return false;
}

/** The UTF-8 length of a string, computed only when its length leaves a doubt. */
function utf8LongerThan(text: string, bytes: number): boolean {
  // A UTF-16 code unit takes 1 to 3 bytes in UTF-8 (a surrogate pair, two units, takes 4).
  if (text.length > bytes) return true;
  if (text.length * 3 <= bytes) return false;
  return Buffer.byteLength(text, 'utf8') > bytes;
}

/** How much of a record too large to land is kept in the quarantine, to be looked at. */
export const PREVIEW_BYTES = 64 * 1024;

/**
 * Why a record's JSON text is past a {@link RECORD_LIMITS limit}, with what of it to keep in
 * the quarantine (the start of a record too large), or undefined when it is within them.
 */
export function recordLimitProblem(json: string): { reason: string; kept: string } | undefined {
  if (utf8LongerThan(json, RECORD_LIMITS.maxBytes)) {
    return {
      reason: `too large: ${byteCount(Buffer.byteLength(json, 'utf8'))} of JSON, over the limit of ${describeBytes(RECORD_LIMITS.maxBytes)} per record (its first ${describeBytes(PREVIEW_BYTES)} are kept here)`,
      kept: Buffer.from(json, 'utf8').subarray(0, PREVIEW_BYTES).toString('utf8'),
    };
  }
  if (nestedDeeperThan(json, RECORD_LIMITS.maxDepth)) {
    return { reason: `nested too deeply: more than ${RECORD_LIMITS.maxDepth} levels of objects and arrays (PostgreSQL's jsonb cannot be relied on past that)`, kept: json };
  }
  return undefined;
}
