/**
 * The keys a JSON text names twice in one object, each with where its second writing is.
 * `JSON.parse` keeps the last value of a key written twice and drops the first without a word:
 * in a hand-written config, two `"sources"` blocks or two `"shopify"` entries lose one.
 * A scan of the text, for a text `JSON.parse` has accepted (it does not check the syntax).
 */
export interface DuplicateKey {
  /** The object's path and the key: `sources.shopify`, `reports[1].to`. */
  path: string;
  line: number;
  column: number;
}

interface Frame {
  kind: 'object' | 'array';
  path: string;
  keys: Set<string>;
  /** In an object: a string now is a key. In an array: the index of the next value. */
  expectKey: boolean;
  index: number;
  /** The key or index the value being read belongs to. */
  pending: string;
}

export function duplicateJsonKeys(text: string): DuplicateKey[] {
  const found: DuplicateKey[] = [];
  const stack: Frame[] = [];
  let line = 1;
  let lineStart = 0;
  const childPath = (frame: Frame | undefined) => {
    if (!frame) return '';
    if (frame.kind === 'array') return `${frame.path}[${frame.index}]`;
    return frame.path ? `${frame.path}.${frame.pending}` : frame.pending;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      lineStart = i + 1;
      continue;
    }
    const top = stack.at(-1);
    if (c === '"') {
      const start = i;
      let value = '';
      for (i++; i < text.length && text[i] !== '"'; i++) {
        if (text[i] === '\\') {
          value += text.slice(i, i + 2);
          i++;
        } else value += text[i];
      }
      if (top?.kind === 'object' && top.expectKey) {
        const key = JSON.parse(`"${value}"`) as string;
        if (top.keys.has(key)) found.push({ path: top.path ? `${top.path}.${key}` : key, line, column: start - lineStart + 1 });
        top.keys.add(key);
        top.pending = key;
        top.expectKey = false;
      }
      continue;
    }
    if (c === '{' || c === '[') {
      stack.push({ kind: c === '{' ? 'object' : 'array', path: childPath(top), keys: new Set(), expectKey: c === '{', index: 0, pending: '' });
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',' && top) {
      if (top.kind === 'object') top.expectKey = true;
      else top.index++;
    }
  }
  return found;
}
