/**
 * The partner of the end-to-end scenarios: a loopback receiver in its own process that answers 200
 * at once, counts what arrives and, when asked, the arrival time of each Koppel message id. Given a
 * WebSub secret (`verify`), it checks the `x-hub-signature` HMAC of every request itself with
 * node:crypto, counts only requests that verify, and answers 403 to the others.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveParent } from './child.ts';

export interface ReceiverStats {
  /** Requests since the last reset; while verifying, only those whose signature verified. */
  readonly count: number;
  /** Epoch ms of the first and the latest counted request since the last reset (0 when none). */
  readonly firstAt: number;
  readonly lastAt: number;
  /** Requests whose signature was missing or wrong since `verify` was called (not zeroed by reset). */
  readonly bad: number;
  /** The first bad request, for the report. */
  readonly firstBad: string | null;
}

let count = 0;
let firstAt = 0;
let lastAt = 0;
let recording = false;
let arrivals: Array<[string, number]> = [];
let secret: Buffer | null = null;
let bad = 0;
let firstBad: string | null = null;

const arrived = (request: IncomingMessage, response: ServerResponse): void => {
  const at = Date.now();
  if (count++ === 0) firstAt = at;
  lastAt = at;
  if (recording) arrivals.push([String(request.headers['x-koppel-message-id']), at]);
  response.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 });
  response.end('ok');
};

/** WebSub §8: `sha256=<hex HMAC of the exact body bytes>` (sha1 allowed by the spec). */
const signatureHolds = (header: string | undefined, body: Buffer, key: Buffer): boolean => {
  const match = /^(sha256|sha1)=([0-9a-f]+)$/.exec(header ?? '');
  if (!match) return false;
  const expected = createHmac(match[1] as string, key)
    .update(body)
    .digest();
  const given = Buffer.from(match[2] as string, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
};

const server = createServer((request, response) => {
  const key = secret;
  if (key === null) {
    request.resume();
    request.on('end', () => arrived(request, response));
    return;
  }
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const header = request.headers['x-hub-signature'];
    if (signatureHolds(typeof header === 'string' ? header : undefined, Buffer.concat(chunks), key)) {
      arrived(request, response);
      return;
    }
    bad++;
    firstBad ??= `message ${String(request.headers['x-koppel-message-id'])}: x-hub-signature ${String(header)}`;
    response.writeHead(403, { 'content-type': 'text/plain', 'content-length': 13 });
    response.end('bad signature');
  });
});
server.keepAliveTimeout = 60_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;

let closed: Promise<void> | undefined;
serveParent(
  { url: `http://127.0.0.1:${port}/hook` },
  {
    stats: (): ReceiverStats => ({ count, firstAt, lastAt, bad, firstBad }),
    /** Zeroes the counters; `record` keeps each message id's arrival time until the next reset. */
    reset: (args) => {
      count = 0;
      firstAt = 0;
      lastAt = 0;
      recording = (args as { record?: boolean } | undefined)?.record === true;
      arrivals = [];
      return null;
    },
    /** `{ secret }` (the whole string is the HMAC key, as WebSub says) turns verification on; `null` off. */
    verify: (args) => {
      const given = (args as { secret?: string } | null | undefined)?.secret;
      secret = given === undefined ? null : Buffer.from(given, 'utf8');
      bad = 0;
      firstBad = null;
      return null;
    },
    arrivals: () => arrivals,
  },
  () => {
    closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closed;
  },
);
