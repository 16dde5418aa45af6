import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { generate } from 'selfsigned';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { biConnectionString } from '../../cli/commands/serve.ts';
import { ConfigError } from '../../lib/errors.ts';
import { driverUrl, openWarehouse } from '../../warehouse/connection.ts';
import { openingOutcome } from '../support/database.ts';

/**
 * Connecting to a managed server over TLS (docs/operations.md, "TLS to a managed server"). The
 * stand-in speaks the part of PostgreSQL's protocol that comes before the start-up message:
 * it answers the client's SSLRequest (Int32 8, Int32 80877103) with `S` and takes the TLS
 * handshake with a self-signed certificate for 127.0.0.1, made for this run (the client reads
 * it from a file, as `sslrootcert` names one), or answers `N` as a server without TLS does; or,
 * to a client that asks for no TLS, refuses the start-up message as a `pg_hba.conf` with
 * `hostssl` lines alone does; or asks for a client certificate and judges the start-up message
 * as a `hostssl … cert` line does: no certificate, or one whose common name is not the user,
 * is refused with PostgreSQL's own words.
 */
const SSL_REQUEST = 80877103;
let dir: string;
let CERT: string;
let pems: { cert: string; key: string };
let CLIENT_CERT: string;
let CLIENT_KEY: string;

beforeAll(async () => {
  const made = await generate([{ name: 'commonName', value: 'verite test server' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
    // A client certificate for the user "verite", signed by the server's own key.
    clientCertificate: { cn: 'verite' },
  });
  pems = { cert: made.cert, key: made.private };
  dir = mkdtempSync(join(tmpdir(), 'verite-tls-'));
  CERT = join(dir, 'server-cert.pem');
  writeFileSync(CERT, made.cert);
  CLIENT_CERT = join(dir, 'client-cert.pem');
  CLIENT_KEY = join(dir, 'client-key.pem');
  writeFileSync(CLIENT_CERT, made.clientcert!);
  writeFileSync(CLIENT_KEY, made.clientprivate!, { mode: 0o600 });
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Standin {
  port: number;
  /** TLS handshakes completed. */
  handshakes: number;
  /** The common names of the client certificates the stand-in took (signed by its authority, naming the user). */
  clientsAccepted: string[];
  close(): Promise<void>;
}

let open: Standin[] = [];
afterEach(async () => {
  await Promise.all(open.map((s) => s.close()));
  open = [];
});

/** An ErrorResponse: severity, code and message, as PostgreSQL writes it. */
function errorResponse(code: string, message: string): Buffer {
  const fields = Buffer.concat([
    ...[['S', 'FATAL'], ['V', 'FATAL'], ['C', code], ['M', message]].map(([k, v]) => Buffer.from(`${k}${v}\0`, 'utf8')),
    Buffer.from([0]),
  ]);
  const head = Buffer.alloc(5);
  head.write('E', 0);
  head.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([head, fields]);
}

/** The `user` of a start-up message (Int32 length, Int32 protocol, then name\0value\0 pairs). */
function startupUser(message: Buffer): string | undefined {
  const fields = message.subarray(8).toString('utf8').split('\0');
  const at = fields.indexOf('user');
  return at >= 0 ? fields[at + 1] : undefined;
}

async function standin(mode: 'tls' | 'no-tls' | 'tls-only' | 'client-cert'): Promise<Standin> {
  const { key, cert } = pems;
  const state = { handshakes: 0, clientsAccepted: [] as string[] };
  // Every connection taken, so that closing the stand-in ends them: on Node 26 the socket under a
  // TLS session the stand-in ended stays open after the client has gone, and server.close() waits for it.
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.once('data', (chunk: Buffer) => {
      const sslRequest = chunk.length >= 8 && chunk.readInt32BE(4) === SSL_REQUEST;
      if (sslRequest && mode === 'client-cert') {
        socket.write('S');
        // As PostgreSQL does with an ssl_ca_file: the certificate is asked for, and its absence judged after the handshake.
        const secure = new tls.TLSSocket(socket, { isServer: true, key, cert, requestCert: true, rejectUnauthorized: false, ca: [cert] });
        // A bare TLSSocket does not judge the certificate (tls.Server does): it is checked against the authority here.
        const authority = new X509Certificate(cert);
        secure.on('error', () => socket.destroy());
        secure.once('data', (startup: Buffer) => {
          const user = startupUser(startup);
          const peer = secure.getPeerCertificate();
          if (!peer || !peer.subject) {
            secure.end(errorResponse('28000', 'connection requires a valid client certificate'));
          } else if (!new X509Certificate(peer.raw).verify(authority.publicKey) || peer.subject.CN !== user) {
            secure.end(errorResponse('28000', `certificate authentication failed for user "${user}"`));
          } else {
            state.clientsAccepted.push(String(peer.subject.CN));
            secure.end();
          }
        });
      } else if (sslRequest && mode === 'tls') {
        socket.write('S');
        const secure = new tls.TLSSocket(socket, { isServer: true, key, cert });
        secure.on('error', () => socket.destroy());
        secure.on('secure', () => {
          state.handshakes += 1;
          secure.end();
        });
      } else if (sslRequest) {
        socket.write('N');
      } else if (mode === 'tls-only') {
        socket.end(errorResponse('28000', 'no pg_hba.conf entry for host "127.0.0.1", user "verite", database "shop", no encryption'));
      } else {
        socket.destroy();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const made: Standin = {
    port: (server.address() as net.AddressInfo).port,
    get handshakes() {
      return state.handshakes;
    },
    get clientsAccepted() {
      return state.clientsAccepted;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
  open.push(made);
  return made;
}

const failure = openingOutcome;

describe('TLS to a managed server', () => {
  it('says what to add when the certificate is signed by an authority Node does not trust, sslmode=require included', async () => {
    const server = await standin('tls');
    for (const mode of ['require', 'verify-full']) {
      const message = await failure(`postgres://verite:secret@127.0.0.1:${server.port}/shop?sslmode=${mode}`);
      expect(message).toContain(`cannot connect to the warehouse at postgres://verite@127.0.0.1:${server.port}/shop (DATABASE_URL): `);
      expect(message).toContain("the server's TLS certificate is signed by an authority Node does not trust");
      expect(message).toContain('add sslrootcert=<path of');
      expect(message).not.toContain('secret');
    }
    expect(server.handshakes).toBe(0);
  });

  it('with sslrootcert naming the authority, the handshake goes through', async () => {
    const server = await standin('tls');
    const message = await failure(`postgres://verite:secret@127.0.0.1:${server.port}/shop?sslmode=verify-full&sslrootcert=${encodeURIComponent(CERT)}`);
    // The stand-in ends the connection after the handshake: the failure is no longer the certificate.
    expect(server.handshakes).toBe(1);
    expect(message).not.toContain('certificate');
  });

  it('says so when the certificate was issued for another host name', async () => {
    const server = await standin('tls');
    // The certificate names 127.0.0.1; "localhost" is another name for the same server.
    const message = await failure(`postgres://verite:secret@localhost:${server.port}/shop?sslmode=verify-full&sslrootcert=${encodeURIComponent(CERT)}`);
    expect(message).toContain("the server's TLS certificate was issued for another host name: connect by the name it names");
    expect(message).toContain('uselibpqcompat=true&sslmode=verify-ca&sslrootcert=<path>');
    // What it advises: the chain is checked against the authority, the name is not.
    const chainOnly = await failure(`postgres://verite:secret@localhost:${server.port}/shop?uselibpqcompat=true&sslmode=verify-ca&sslrootcert=${encodeURIComponent(CERT)}`);
    expect(server.handshakes).toBe(1);
    expect(chainOnly).not.toContain('certificate');
    // And a certificate of another authority is still refused that way.
    const other = await generate([{ name: 'commonName', value: 'another authority' }], { keySize: 2048, algorithm: 'sha256' });
    const otherFile = join(dir, 'other-authority.pem');
    writeFileSync(otherFile, other.cert);
    const refused = await failure(`postgres://verite:secret@localhost:${server.port}/shop?uselibpqcompat=true&sslmode=verify-ca&sslrootcert=${encodeURIComponent(otherFile)}`);
    expect(refused).toContain('signed by an authority Node does not trust');
    expect(server.handshakes).toBe(1);
  });

  it('says so when the server does not take TLS, and when it takes nothing else', async () => {
    const plain = await standin('no-tls');
    expect(await failure(`postgres://verite:secret@127.0.0.1:${plain.port}/shop?sslmode=verify-full`)).toContain(
      'the server does not take TLS: leave sslmode out of DATABASE_URL, or set sslmode=disable',
    );
    const only = await standin('tls-only');
    expect(await failure(`postgres://verite:secret@127.0.0.1:${only.port}/shop`)).toContain(
      'the server takes only TLS connections: add sslmode=verify-full to DATABASE_URL, and sslrootcert=<path> for a provider',
    );
  });

  it('a provider\'s sslrootcert=system is the trusted authorities, with the host name checked: no file named "system" is read', async () => {
    // libpq 16's meaning: verify-full unless said otherwise (node-postgres, left alone, opens a file "system").
    expect(driverUrl('postgres://verite:secret@db.example.com/shop?sslrootcert=system&application_name=bi')).toBe(
      'postgres://verite:secret@db.example.com/shop?application_name=bi&sslmode=verify-full',
    );
    expect(driverUrl('postgres://verite:secret@db.example.com/shop?sslmode=verify-full&sslrootcert=system')).toBe(
      'postgres://verite:secret@db.example.com/shop?sslmode=verify-full',
    );
    // A path is a file, passed as it is.
    const withFile = `postgres://verite:secret@db.example.com/shop?sslmode=verify-full&sslrootcert=${encodeURIComponent(CERT)}`;
    expect(driverUrl(withFile)).toBe(withFile);
    // Against a server whose certificate no public authority signed, TLS is asked for and the certificate refused.
    const server = await standin('tls');
    const message = await failure(`postgres://verite:secret@127.0.0.1:${server.port}/shop?sslrootcert=system`);
    expect(message).toContain("the server's TLS certificate is signed by an authority Node does not trust");
    expect(message).not.toContain('ENOENT');
    expect(server.handshakes).toBe(0);
  });

  it('refuses sslrootcert=system with a weaker sslmode, and a certificate or key file that cannot be read, naming the parameter', async () => {
    const refused = async (url: string) => {
      const error = await openWarehouse({ databaseUrl: url, migrate: false }).then(
        async (wh) => {
          await wh.close();
          return null;
        },
        (e: Error) => e,
      );
      expect(error).toBeInstanceOf(ConfigError);
      expect(error!.message).not.toContain('secret');
      return error!.message;
    };
    expect(await refused('postgres://verite:secret@127.0.0.1:1/shop?sslmode=require&sslrootcert=system')).toContain(
      'DATABASE_URL has sslrootcert=system with sslmode=require: the system\'s authorities prove a server only with its host name checked too; set sslmode=verify-full',
    );
    const missing = join(dir, 'no-such-key.pem');
    expect(await refused(`postgres://verite:secret@127.0.0.1:1/shop?sslmode=verify-full&sslcert=${encodeURIComponent(CLIENT_CERT)}&sslkey=${encodeURIComponent(missing)}`)).toContain(
      `DATABASE_URL names sslkey=${missing}, and there is no such file`,
    );
    expect(await refused(`postgres://verite:secret@127.0.0.1:1/shop?sslrootcert=${encodeURIComponent(join(dir, 'ca.pem'))}`)).toContain('names sslrootcert=');
  });

  it('a client certificate: asked for and missing, sent for the login, sent for another user', async () => {
    const server = await standin('client-cert');
    const base = `127.0.0.1:${server.port}/shop?sslmode=verify-full&sslrootcert=${encodeURIComponent(CERT)}`;
    expect(await failure(`postgres://verite:secret@${base}`)).toContain(
      'the server wants a client certificate: add sslcert=<path of the certificate>&sslkey=<path of its key> to DATABASE_URL',
    );
    const withCertificate = `${base}&sslcert=${encodeURIComponent(CLIENT_CERT)}&sslkey=${encodeURIComponent(CLIENT_KEY)}`;
    // The stand-in takes the certificate and then ends the connection: what fails is no longer the certificate.
    const accepted = await failure(`postgres://verite:secret@${withCertificate}`);
    expect(server.clientsAccepted).toEqual(['verite']);
    expect(accepted).not.toContain('certificate');
    expect(await failure(`postgres://analyst:secret@${withCertificate}`)).toContain(
      'the client certificate names another user: connect as the user its common name (CN) names',
    );
    expect(server.clientsAccepted).toEqual(['verite']);
  });

  it("the string for BI tools keeps the TLS settings any login needs, not verite's password nor its client certificate", () => {
    const url = 'postgres://verite:secret@db.example.com:5432/shop?sslmode=verify-full&sslrootcert=%2Fetc%2Fverite%2Fca.pem&sslcert=%2Fetc%2Fverite%2Fverite.crt&sslkey=%2Fetc%2Fverite%2Fverite.key&application_name=x';
    expect(biConnectionString(url, 'looker_reader')).toBe('postgres://looker_reader@db.example.com:5432/shop?sslmode=verify-full&sslrootcert=%2Fetc%2Fverite%2Fca.pem');
    expect(biConnectionString('postgres://verite:secret@db.example.com/shop?sslrootcert=system', 'looker_reader')).toBe('postgres://looker_reader@db.example.com/shop?sslrootcert=system');
    expect(biConnectionString('postgres://verite:secret@127.0.0.1:5432/postgres', 'looker_reader')).toBe('postgres://looker_reader@127.0.0.1:5432/postgres');
  });
});
