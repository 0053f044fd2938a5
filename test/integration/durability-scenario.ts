import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createAccount } from '../../gateway/auth/accounts.ts';
import { createSecretBox } from '../../gateway/security/secrets.ts';
import { openStore, type Store } from '../../gateway/store/db.ts';
import { accountChangedEvent } from '../helpers/gateway.ts';
import { startHttpPartner } from '../helpers/servers/http-partner.ts';
import { accessToken } from '../helpers/access-token.ts';

const GATEWAY_PROCESS = new URL('../helpers/gateway-process.ts', import.meta.url).pathname;
const TOTAL = 5000;
const BATCH = 100;
const SINGLES = 500;
const KILL_AFTER = 2500;

export interface DurabilityFigures {
  readonly accepted: number;
  /** Accepted by a commit whose answer the kill cut off; a re-post answered `duplicate: true`. */
  readonly committedWithoutAnswer: number;
  readonly deliveredDistinct: number;
  readonly requests: number;
  readonly duplicates: number;
  readonly activeAtKill: number;
  readonly deliveredAtKill: number;
}

interface RunningGateway {
  readonly url: string;
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `gateway-process.ts` and resolves with its URL once it listens. */
export async function spawnGateway(env: Record<string, string>, logFile: string): Promise<RunningGateway> {
  const log = openSync(logFile, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', GATEWAY_PROCESS], {
    // Only what Node needs from our environment: loadConfig refuses KOPPEL_* names it does not know.
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', log],
  });
  closeSync(log);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const url = await Promise.race([
    new Promise<string>((resolve) =>
      lines.once('line', (line) => resolve((JSON.parse(line) as { url: string }).url)),
    ),
    exited.then(({ code }) => {
      throw new Error(
        `gateway process exited with ${code} before listening:\n${readFileSync(logFile, 'utf8').slice(-3000)}`,
      );
    }),
  ]);
  return { url, child, exited };
}

/** An account made directly in the store (as `koppel accounts create` does) and a token for it. */
async function fetchToken(url: string, store: Store, secretKey: string): Promise<string> {
  const box = createSecretBox(Buffer.from(secretKey, 'base64'));
  const account = await createAccount(store.db, box, {
    name: 'durability',
    scopes: ['messages:write'],
    employers: ['*'],
    now: new Date(),
  });
  return accessToken(url, account);
}

/**
 * Posts 5,000 messages (batches of 100 and single posts, concurrently), SIGKILLs the gateway once
 * about half are accepted, restarts it on the same store, re-posts what the kill cut off (as a
 * client would: the same CloudEvents id, so a committed one answers with its first message id),
 * and waits until the receiver has seen every accepted message id.
 */
export async function killAndRestartUnderLoad(
  backendEnv: Record<string, string>,
): Promise<DurabilityFigures> {
  const dataDir = mkdtempSync(join(tmpdir(), 'koppel-durability-'));
  const receiver = await startHttpPartner();
  // A small delay keeps deliveries in flight, so that the kill cuts some off.
  const firstSeen = new Map<string, number>();
  let killedAt = Infinity;
  receiver.respondWith(async (request) => {
    const id = String(request.headers['x-koppel-message-id']);
    if (!firstSeen.has(id)) firstSeen.set(id, Date.now());
    await new Promise((resolve) => setTimeout(resolve, 10));
    return { status: 200 };
  });
  const secretKey = backendEnv.KOPPEL_SECRET_KEY ?? randomBytes(32).toString('base64');
  const env: Record<string, string> = {
    PORT: '0',
    HOST: '127.0.0.1',
    KOPPEL_DATA_DIR: dataDir,
    KOPPEL_SECRET_KEY: secretKey,
    KOPPEL_LOG_LEVEL: 'warn',
    KOPPEL_OUTBOUND_ALLOW: '127.0.0.0/8',
    // Short, so that the deliveries held by the killed process come back quickly; live attempts renew
    // theirs every third of it. It must still outlast the longest event-loop stall of a live process
    // under this load (with BullMQ, a stalled job is handed out again), so not shorter than this.
    KOPPEL_LEASE_MS: '6000',
    KOPPEL_POLL_INTERVAL_MS: '100',
    KOPPEL_SWEEP_INTERVAL_MS: '1000',
    KOPPEL_SETTINGS_TEST_HTTP: JSON.stringify({ urls: [receiver.url] }),
    KOPPEL_RETRY_TEST_HTTP: '100ms+',
    ...backendEnv,
  };
  const logFile = join(dataDir, 'gateway.log');
  const store = openStore({
    sqliteFile: join(dataDir, 'koppel.sqlite'),
    ...(env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : {}),
    ...(env.KOPPEL_DATABASE_SCHEMA ? { databaseSchema: env.KOPPEL_DATABASE_SCHEMA } : {}),
    poolSize: 2,
  });
  let gateway: RunningGateway | undefined;
  try {
    gateway = await spawnGateway(env, logFile);
    let token = await fetchToken(gateway.url, store, secretKey);
    let current: { url: string; token: string } = { url: gateway.url, token };
    let restarted: Promise<void> | undefined;

    const events = Array.from({ length: TOTAL }, (_, i) => accountChangedEvent({ id: `durability-${i}` }));
    const accepted = new Map<string, string>();
    const cutOff = new Set<string>();
    let committedWithoutAnswer = 0;
    const batches: Array<Record<string, unknown>[]> = [];
    for (let i = 0; i < TOTAL - SINGLES; i += BATCH) batches.push(events.slice(i, i + BATCH));
    const singles = events.slice(TOTAL - SINGLES).map((e) => [e]);

    let killed: Promise<{ activeIds: Set<string>; delivered: number }> | undefined;
    const killOnce = () =>
      (killed ??= (async () => {
        const dying = gateway as RunningGateway;
        let resolveRestart!: () => void;
        restarted = new Promise((resolve) => (resolveRestart = resolve));
        killedAt = Date.now();
        dying.child.kill('SIGKILL');
        await dying.exited;
        // Read before the restart: which deliveries the dead process held.
        const active = await store.db
          .selectFrom('deliveries')
          .select('message_id')
          .where('status', '=', 'active')
          .execute();
        const done = await store.db
          .selectFrom('deliveries')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('status', '=', 'delivered')
          .executeTakeFirstOrThrow();
        gateway = await spawnGateway(env, logFile);
        token = await fetchToken(gateway.url, store, secretKey);
        current = { url: gateway.url, token };
        resolveRestart();
        return { activeIds: new Set(active.map((a) => a.message_id)), delivered: Number(done.n) };
      })());

    const post = async (group: Record<string, unknown>[]): Promise<void> => {
      for (;;) {
        const { url, token: bearer } = current;
        const single = group.length === 1;
        try {
          const answer = await fetch(`${url}/v1/messages${single ? '' : '/batch'}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
            body: JSON.stringify(single ? group[0] : group),
          });
          const body = (await answer.json()) as { id: string; duplicate: boolean } & {
            results: Array<{ status: number; id: string; duplicate: boolean }>;
          };
          const results = single ? [{ ...body, status: answer.status }] : body.results;
          assert.equal(answer.status, single ? 202 : 207, JSON.stringify(body).slice(0, 500));
          results.forEach((result, i) => {
            const eventId = String(group[i]?.id);
            assert.equal(result.status, 202, JSON.stringify(result));
            if (result.duplicate && cutOff.has(eventId)) committedWithoutAnswer++;
            assert.ok(!result.duplicate || cutOff.has(eventId), `only a re-post is a duplicate (${eventId})`);
            accepted.set(eventId, result.id);
          });
          if (accepted.size >= KILL_AFTER) void killOnce();
          return;
        } catch (error) {
          if (error instanceof assert.AssertionError || restarted === undefined) throw error;
          // The kill cut this post off: it may or may not be committed. Post it again once the gateway is back.
          for (const event of group) cutOff.add(String(event.id));
          await restarted;
        }
      }
    };

    const queue = [...batches, ...singles].sort(() => Math.random() - 0.5);
    const poster = async (): Promise<void> => {
      for (let group = queue.shift(); group; group = queue.shift()) await post(group);
    };
    await Promise.all(Array.from({ length: 6 }, poster));
    const atKill = await (killed ?? Promise.reject(new Error('the load finished before the kill')));

    const acceptedIds = new Set(accepted.values());
    const seen = () => new Set(receiver.received.map((r) => String(r.headers['x-koppel-message-id'])));
    const deadline = Date.now() + 45_000;
    while ([...acceptedIds].some((id) => !seen().has(id))) {
      if (Date.now() > deadline) {
        const missing = [...acceptedIds].filter((id) => !seen().has(id));
        const states = await store.db
          .selectFrom('deliveries')
          .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
          .where('message_id', 'in', missing.slice(0, 500))
          .groupBy('status')
          .execute();
        throw new Error(
          `${missing.length} accepted messages not delivered (${JSON.stringify(states)}); gateway log:\n${readFileSync(logFile, 'utf8').slice(-2000)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // Let attempts re-taken after the lease finish, so that every repeat is counted.
    for (;;) {
      const open = await store.db
        .selectFrom('deliveries')
        .select('status')
        .where('status', '!=', 'delivered')
        .limit(5)
        .execute();
      if (open.length === 0) break;
      if (Date.now() > deadline) throw new Error(`deliveries not delivered: ${JSON.stringify(open)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }

    const counts = new Map<string, number>();
    for (const request of receiver.received) {
      const id = String(request.headers['x-koppel-message-id']);
      assert.equal(
        (JSON.parse(request.text) as { id: string }).id,
        id,
        'body and header carry the same message id',
      );
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const repeated = [...counts].filter(([, n]) => n > 1);
    const figures: DurabilityFigures = {
      accepted: acceptedIds.size,
      committedWithoutAnswer,
      deliveredDistinct: counts.size,
      requests: receiver.received.length,
      duplicates: repeated.reduce((sum, [, n]) => sum + n - 1, 0),
      activeAtKill: atKill.activeIds.size,
      deliveredAtKill: atKill.delivered,
    };
    console.log(`      durability: ${JSON.stringify(figures)}`);

    assert.equal(
      acceptedIds.size,
      TOTAL,
      'every CloudEvent was accepted once (re-posts answer with the first message id)',
    );
    assert.deepEqual(
      [...counts.keys()].filter((id) => !acceptedIds.has(id)),
      [],
      'nothing delivered that was not accepted',
    );
    assert.deepEqual(
      repeated
        .filter(([id, n]) => n > 2 || !atKill.activeIds.has(id))
        .map(([id, n]) => ({ id, n, firstSeenMsAfterKill: (firstSeen.get(id) ?? 0) - killedAt })),
      [],
      'a repeat only for a delivery in flight at the kill, and only once',
    );
    const rows = await store.db.selectFrom('deliveries').select(['status']).execute();
    assert.equal(rows.length, TOTAL);
    return figures;
  } finally {
    if (gateway) {
      gateway.child.kill('SIGKILL');
      await gateway.exited;
    }
    await store.close();
    await receiver.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
