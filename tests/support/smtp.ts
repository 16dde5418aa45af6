import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** A plain SMTP relay on 127.0.0.1 that takes mail without a login and keeps each message's recipients. */
export interface TestRelay {
  /** `smtp://127.0.0.1:<port>`. */
  url: string;
  /** Each message taken: its envelope's recipients. */
  mails: string[][];
  close(): Promise<void>;
}

/**
 * Starts a {@link TestRelay}. `refuses`, asked at each MAIL FROM, makes the relay answer 451 (a
 * relay down for a while: it takes the connection and refuses the message).
 */
export async function startRelay(options: { refuses?: () => boolean } = {}): Promise<TestRelay> {
  const mails: string[][] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onMailFrom(_address, _session, callback) {
      if (options.refuses?.()) return callback(Object.assign(new Error('mail system unavailable, try later'), { responseCode: 451 }));
      callback();
    },
    onData(stream, session, callback) {
      stream.on('data', () => undefined);
      stream.on('end', () => {
        mails.push(session.envelope.rcptTo.map((r) => r.address));
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  return {
    url: `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`,
    mails,
    close: () => new Promise<void>((resolve) => smtp.close(() => resolve())),
  };
}
