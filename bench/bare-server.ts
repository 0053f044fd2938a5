/**
 * The baselines: a bare node:http server in its own process like the gateway, so that "share of the
 * bare server's rate" compares like with like. BENCH_BARE_WORK says what it does with each body
 * before it answers 202: `none` (reads it), `validate` (JSON.parse and the canonical schemas, as
 * ingest validates), `validate-store` (and one row into the gateway's own SQLite store, committed
 * before the answer, one commit per post where the gateway shares one among concurrent posts). The
 * last two are the floors the issue measured the road by: on the reference machine about 42,000 and
 * 27,000 posts/s against the bare 60,000.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCanonicalValidator } from '../gateway/ingest/canonical-validator.ts';
import { MESSAGE_COLUMNS, messageRow } from '../gateway/ingest/post-message.ts';
import { insertRows } from '../gateway/store/bulk.ts';
import { openStore } from '../gateway/store/db.ts';
import { serveParent } from './child.ts';

export type BareWork = 'none' | 'validate' | 'validate-store';

type Event = Parameters<typeof messageRow>[0];

const work = (process.env.BENCH_BARE_WORK ?? 'none') as BareWork;
const validator = work === 'none' ? undefined : createCanonicalValidator();
const floorStore = work === 'validate-store' ? await openFloorStore() : undefined;

/** The gateway's own store (its pragmas, checkpoint thread and messages table) in a directory of its own. */
async function openFloorStore(): Promise<{ insert(event: Event): Promise<void>; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'koppel-bench-floor-'));
  const store = openStore({ sqliteFile: join(dir, 'floor.sqlite') });
  await store.migrate(new Map());
  return {
    insert: (event) =>
      insertRows(store.db, 'sqlite', 'messages', MESSAGE_COLUMNS, [messageRow(event, Date.now())]),
    close: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const accepted = Buffer.from('{}');
const refused = Buffer.from('{"title":"refused"}');
const answer = (response: ServerResponse, status: number, body: Buffer): void => {
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length });
  response.end(body);
};

const server = createServer((request, response) => {
  if (validator === undefined) {
    request.resume();
    request.on('end', () => answer(response, 202, accepted));
    return;
  }
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    void (async () => {
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Event;
      if (!validator.validate(event).ok) return answer(response, 400, refused);
      await floorStore?.insert(event);
      answer(response, 202, accepted);
    })().catch(() => answer(response, 500, refused)); // counted as an error: the bench refuses the baseline
  });
});
server.keepAliveTimeout = 60_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;

let closed: Promise<void> | undefined;
serveParent({ url: `http://127.0.0.1:${port}` }, {}, () => {
  closed ??= new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  }).then(() => floorStore?.close());
  return closed;
});
