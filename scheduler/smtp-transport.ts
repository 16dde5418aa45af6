import { createRequire } from 'node:module';
import { isIPv4 } from 'node:net';
import type * as Nodemailer from 'nodemailer';
import type { SMTPTransportOptions } from 'nodemailer';

/**
 * How report e-mails reach the SMTP server of a URL (docs/reports.md, "Delivery on schedule").
 * `smtps://` is TLS from the first byte. `smtp://` to another machine must upgrade with STARTTLS
 * before the login (nodemailer's `requireTLS`): without it nodemailer upgrades only when the
 * server offers STARTTLS, and sends the password in plain text when it does not. `smtp://` to
 * this machine (127.0.0.0/8, ::1, `localhost`) is trusted as it is: a local relay (a sidecar
 * postfix on loopback) often offers no TLS, and nothing crosses a network. So is `smtp://`
 * without a user (a relay that takes mail without a login, such as a Compose service's): there
 * is no password to protect, and nodemailer still upgrades when the server offers STARTTLS.
 */

/**
 * nodemailer, required on the first transport made (a report e-mailed, `verite check` asking an
 * SMTP server). Imported at the top, its ES build's 39 modules went through tsx's hooks at
 * every command's start, mail or not.
 */
let nodemailerLibrary: typeof Nodemailer | undefined;
export function nodemailer(): typeof Nodemailer {
  nodemailerLibrary ??= createRequire(import.meta.url)('nodemailer') as typeof Nodemailer;
  return nodemailerLibrary;
}

export interface SmtpTransportChoice {
  /** Whether a server on this machine may be logged in to without TLS (default true); tests pass false to stand a local server in for another machine's. */
  trustLoopback?: boolean;
}

/** A host that is this machine: an IPv4 address in 127.0.0.0/8, ::1, or `localhost`. */
export function isLoopbackSmtpHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
  return h === 'localhost' || h === '::1' || (isIPv4(h) && h.startsWith('127.'));
}

/**
 * The nodemailer transport options of an SMTP URL: the URL as nodemailer reads it (its query and
 * a `service` included, read by nodemailer's own transport, which connects nowhere until used),
 * with `requireTLS` set unless the connection is TLS from the start or the server is this
 * machine's. The options are given whole rather than as `url`, since nodemailer lets the URL's
 * own fields override the options beside it (`?requireTLS=false` would win).
 *
 * @example
 * smtpTransportOptions('smtp://user:pass@smtp.example.com:587').requireTLS // true
 * smtpTransportOptions('smtps://user:pass@smtp.example.com:465').requireTLS // false (TLS from the first byte)
 * smtpTransportOptions('smtp://127.0.0.1:25').requireTLS                  // false (this machine)
 */
export function smtpTransportOptions(smtpUrl: string, choice: SmtpTransportChoice = {}): SMTPTransportOptions {
  const reader = nodemailer().createTransport(smtpUrl);
  let read: SMTPTransportOptions;
  try {
    // The URL's fields, then those of a named service, as the transport would connect.
    read = (reader.transporter as unknown as { options: SMTPTransportOptions }).options;
  } finally {
    reader.close();
  }
  const { url: _url, service: _service, ...options } = read;
  const local = (choice.trustLoopback ?? true) && isLoopbackSmtpHost(options.host ?? 'localhost');
  // No login, no password to keep off the network: a relay that takes mail without one (a
  // Compose service's postfix) is sent to as it answers, upgraded when it offers STARTTLS.
  const login = options.auth?.user !== undefined && options.auth.user !== '';
  return { ...options, requireTLS: options.secure !== true && !local && login };
}

/**
 * What a refused STARTTLS means, or undefined for another error: the server, asked for TLS
 * before the login, answered the `STARTTLS` command with an error (nodemailer's `ETLS` with the
 * server's response code; a handshake that fails after the server said yes has none).
 */
export function startTlsRefusal(error: unknown): string | undefined {
  const e = error as { code?: unknown; command?: unknown; responseCode?: unknown } | null;
  if (e?.code !== 'ETLS' || e.command !== 'STARTTLS' || typeof e.responseCode !== 'number') return undefined;
  return (
    'it does not offer STARTTLS, so verite did not log in: the password would cross the network unencrypted. ' +
    'Use its TLS port (smtps://…:465) or a server that offers STARTTLS on 587; only a server on this machine (127.0.0.1, ::1, localhost) is logged in to without TLS'
  );
}
