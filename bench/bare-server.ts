/**
 * The baselines: a bare node:http server in its own process like the gateway, so that "share of the
 * bare server's rate" compares like with like. BENCH_BARE_WORK says what it does with each body
 * before it answers 202: `none` (reads it), `validate` (JSON.parse and the canonical schemas, as
 * ingest validates), `validate-store` (and one insert into SQLite, committed before the answer: WAL,
 * synchronous=NORMAL, as the gateway's store, but one commit per post where the gateway shares one
 * among concurrent posts). The last two are the floors the issue measured the road by: on the
 * reference machine about 42,000 and 27,000 posts/s against the bare 60,000.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createCanonicalValidator } from '../gateway/ingest/canonical-validator.ts';
import { serveParent } from './child.ts';

export type BareWork = 'none' | 'validate' | 'validate-store';

const work = (process.env.BENCH_BARE_WORK ?? 'none') as BareWork;
const validator = work === 'none' ? undefined : createCanonicalValidator();
const store = work === 'validate-store' ? openStore() : undefined;

function openStore(): { insert(event: { id: string; source: string }): void; close(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'koppel-bench-bare-'));
  const db = new Database(join(dir, 'bare.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`create table messages (id text primary key, source text not null, event_id text not null,
    envelope text not null, unique (source, event_id))`);
  const statement = db.prepare('insert into messages (id, source, event_id, envelope) values (?, ?, ?, ?)');
  return {
    insert: (event) => statement.run(randomUUID(), event.source, event.id, JSON.stringify(event)),
    close: () => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const accepted = Buffer.from('{}');
const refused = Buffer.from('{"title":"refused"}');
const answer = (response: import('node:http').ServerResponse, status: number, body: Buffer): void => {
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
    try {
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: string; source: string };
      if (!validator.validate(event).ok) return answer(response, 400, refused);
      store?.insert(event);
      answer(response, 202, accepted);
    } catch {
      // The bench counts it as an error and refuses the baseline.
      answer(response, 500, refused);
    }
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
  }).then(() => store?.close());
  return closed;
});
