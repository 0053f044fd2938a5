/**
 * A controllable SMTP server on 127.0.0.1 (the `smtp-server` package) for the smtp adapter's
 * tests and the conformance suite:
 * - `security`: `starttls` (offers STARTTLS), `tls` (implicit TLS) or `none` (offers no STARTTLS);
 *   always with the given certificate, never smtp-server's bundled (expired) one;
 * - `auth`: when given, AUTH PLAIN/LOGIN is required and checked;
 * - scripted replies per recipient (`script('a@x.nl', [451, 250])`: the first RCPT gets 451, the
 *   next 250) and per message (`scriptData([451])`); `refuseAll(550)` answers every RCPT "no";
 * - every accepted mail parsed with mailparser, with its envelope, TLS state and user; every
 *   message that reached DATA (refused ones too) in `dataLog` with its `X-Koppel-Message-Id`;
 * - `stop()` / `start()` on the same port, so "partner down, then back" can be tested.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';

export type SmtpPartnerSecurity = 'starttls' | 'tls' | 'none';

export interface SmtpPartnerOptions {
  readonly security: SmtpPartnerSecurity;
  readonly keyPem: string;
  readonly certPem: string;
  readonly auth?: { readonly user: string; readonly pass: string };
}

export interface ReceivedMail {
  readonly from: string;
  readonly to: readonly string[];
  readonly secure: boolean;
  readonly user: string | undefined;
  readonly raw: Buffer;
  readonly parsed: ParsedMail;
}

export interface SmtpPartner {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly mails: ReceivedMail[];
  /** Every RCPT TO seen, with the code it was answered with. */
  readonly rcptLog: { address: string; code: number }[];
  /** Every message that reached the end of DATA, with its X-Koppel-Message-Id and the code it was answered with. */
  readonly dataLog: { koppelMessageId: string | undefined; code: number }[];
  /** Client connections open right now. */
  openConnections(): number;
  /** Replies for the next RCPT commands naming `address` (case-insensitive), consumed in order. */
  script(address: string, codes: readonly number[]): void;
  /** Replies for the next DATA ends (the whole message), consumed in order. */
  scriptData(codes: readonly number[]): void;
  /** Answer every RCPT with `code` until `acceptAll()`. */
  refuseAll(code?: number): void;
  acceptAll(): void;
  /** Resolves when at least `count` mails were accepted. */
  waitForMails(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  stop(): Promise<void>;
  /** Listens again on the same port; does nothing while running. */
  start(): Promise<void>;
  close(): Promise<void>;
}

const REPLY_TEXT: Readonly<Record<number, string>> = {
  421: 'Service not available, closing channel',
  450: 'Mailbox unavailable, try again later',
  451: 'Requested action aborted: local error, try again later',
  452: 'Insufficient system storage',
  550: 'Mailbox unavailable: no such user here',
  552: 'Message exceeds storage allocation',
  553: 'Mailbox name not allowed',
  554: 'Transaction failed',
};

function smtpError(code: number): Error {
  return Object.assign(new Error(REPLY_TEXT[code] ?? `Scripted reply ${code}`), { responseCode: code });
}

export async function startSmtpPartner(options: SmtpPartnerOptions): Promise<SmtpPartner> {
  const mails: ReceivedMail[] = [];
  const rcptLog: { address: string; code: number }[] = [];
  const dataLog: { koppelMessageId: string | undefined; code: number }[] = [];
  const rcptScripts = new Map<string, number[]>();
  const dataScript: number[] = [];
  let refuseCode: number | undefined;
  let waiters: { count: number; resolve: () => void }[] = [];
  let server: SMTPServer | undefined;
  let port = 0;

  const serverOptions = (): SMTPServerOptions => ({
    secure: options.security === 'tls',
    key: options.keyPem,
    cert: options.certPem,
    ...(options.security === 'none' ? { disabledCommands: ['STARTTLS'], hideSTARTTLS: true } : {}),
    authMethods: ['PLAIN', 'LOGIN'],
    authOptional: options.auth === undefined,
    allowInsecureAuth: options.security === 'none',
    disableReverseLookup: true,
    logger: false,
    closeTimeout: 20,
    onAuth(auth, _session, callback) {
      if (options.auth && auth.username === options.auth.user && auth.password === options.auth.pass) {
        callback(null, { user: auth.username });
      } else {
        callback(Object.assign(new Error('Authentication credentials invalid'), { responseCode: 535 }));
      }
    },
    onRcptTo(address, _session, callback) {
      const key = address.address.toLowerCase();
      const scripted = rcptScripts.get(key)?.shift();
      const code = refuseCode ?? scripted ?? 250;
      rcptLog.push({ address: key, code });
      callback(code >= 400 ? smtpError(code) : undefined);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const code = dataScript.shift() ?? 250;
        const raw = Buffer.concat(chunks);
        simpleParser(raw).then((parsed) => {
          const header = parsed.headers.get('x-koppel-message-id');
          dataLog.push({ koppelMessageId: typeof header === 'string' ? header : undefined, code });
          if (code >= 400) {
            callback(smtpError(code));
            return;
          }
          mails.push(received(session, raw, parsed));
          waiters = waiters.filter((w) => (mails.length >= w.count ? (w.resolve(), false) : true));
          callback(null);
        }, callback);
      });
    },
  });

  async function start(): Promise<void> {
    if (server) return;
    server = new SMTPServer(serverOptions());
    server.on('error', () => undefined);
    server.listen(port, '127.0.0.1');
    await once(server.server, 'listening');
    port = (server.server.address() as AddressInfo).port;
  }

  async function stop(): Promise<void> {
    const running = server;
    server = undefined;
    if (running) await new Promise<void>((resolve) => running.close(() => resolve()));
  }

  await start();

  return {
    host: '127.0.0.1',
    get port() {
      return port;
    },
    mails,
    rcptLog,
    dataLog,
    openConnections: () => server?.connections.size ?? 0,
    script(address, codes) {
      rcptScripts.set(address.toLowerCase(), [...codes]);
    },
    scriptData(codes) {
      dataScript.push(...codes);
    },
    refuseAll(code = 550) {
      refuseCode = code;
    },
    acceptAll() {
      refuseCode = undefined;
    },
    waitForMails(count, timeoutMs = 5000) {
      if (mails.length >= count) return Promise.resolve(mails);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`expected ${count} mails, got ${mails.length}`)),
          timeoutMs,
        );
        waiters.push({ count, resolve: () => (clearTimeout(timer), resolve(mails)) });
      });
    },
    stop,
    start,
    close: stop,
  };
}

function received(session: SMTPServerSession, raw: Buffer, parsed: ParsedMail): ReceivedMail {
  const from = session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address;
  return {
    from,
    to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
    secure: session.secure,
    user: typeof session.user === 'string' ? session.user : undefined,
    raw,
    parsed,
  };
}
