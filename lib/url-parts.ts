/**
 * Whether a part of a URL (its user, password, path) holds a `%` that begins no escape
 * (`100%sure`): decoding it, as node-postgres, nodemailer and the proxy agents do, throws
 * "URI malformed", which names nothing.
 */
export function lonePercent(part: string): boolean {
  try {
    decodeURIComponent(part);
    return false;
  } catch {
    return true;
  }
}
