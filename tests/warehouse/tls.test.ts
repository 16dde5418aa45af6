import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { generate } from 'selfsigned';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openWarehouse } from '../../warehouse/connection.ts';

/**
 * Connecting to a managed server over TLS (docs/operations.md, "TLS to a managed server"). The
 * stand-in speaks the part of PostgreSQL's protocol that comes before the start-up message:
 * it answers the client's SSLRequest (Int32 8, Int32 80877103) with `S` and takes the TLS
 * handshake with a self-signed certificate for 127.0.0.1, made for this run (the client reads
 * it from a file, as `sslrootcert` names one), or answers `N` as a server without TLS does; or,
 * to a client that asks for no TLS, refuses the start-up message as a `pg_hba.conf` with
 * `hostssl` lines alone does.
 */
const SSL_REQUEST = 80877103;
let dir: string;
let CERT: string;
let pems: { cert: string; key: string };

beforeAll(async () => {
  const made = await generate([{ name: 'commonName', value: 'verite test server' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  });
  pems = { cert: made.cert, key: made.private };
  dir = mkdtempSync(join(tmpdir(), 'verite-tls-'));
  CERT = join(dir, 'server-cert.pem');
  writeFileSync(CERT, made.cert);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Standin {
  port: number;
  /** TLS handshakes completed. */
  handshakes: number;
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

async function standin(mode: 'tls' | 'no-tls' | 'tls-only'): Promise<Standin> {
  const { key, cert } = pems;
  const state = { handshakes: 0 };
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.once('data', (chunk: Buffer) => {
      const sslRequest = chunk.length >= 8 && chunk.readInt32BE(4) === SSL_REQUEST;
      if (sslRequest && mode === 'tls') {
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
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  open.push(made);
  return made;
}

const failure = (url: string) =>
  openWarehouse({ databaseUrl: url, migrate: false }).then(
    async (wh) => {
      await wh.close();
      return 'connected';
    },
    (error: Error) => error.message,
  );

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
});
