import type { FastifyInstance } from 'fastify';
import { TIMED_OUT, withinTime } from '../adapter-kit/abort.ts';
import type { LoadedAdapter } from '../registry.ts';
import type { Store } from '../store/db.ts';
import type { Metrics } from './metrics.ts';

export interface OperationalDeps {
  readonly store: Store;
  readonly metrics: Metrics;
  readonly dispatcherHealthy: () => Promise<boolean>;
  readonly adapters: () => readonly LoadedAdapter[];
}

/**
 * /healthz: the process runs. /readyz: the store and the queue answer (503 otherwise), with each
 * adapter's partner health as detail only — a partner being down never makes Koppel unready,
 * because accepting messages while a partner is down is exactly Koppel's job. /metrics: Prometheus.
 */
export function registerOperationalRoutes(app: FastifyInstance, deps: OperationalDeps): void {
  app.get('/healthz', async (_request, reply) => reply.type('application/json').send({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const [store, queue] = await Promise.all([
      answerWithin(deps.store.ping(), false),
      answerWithin(deps.dispatcherHealthy(), false),
    ]);
    const adapters = Object.fromEntries(
      await Promise.all(
        deps.adapters().map(
          async (a) =>
            [
              a.name,
              await answerWithin(
                a.instance
                  .health()
                  .catch((error: unknown) => ({ ok: false, detail: (error as Error).message })),
                { ok: false, detail: `no answer within ${READINESS_TIMEOUT_MS} ms` },
              ),
            ] as const,
        ),
      ),
    );
    const ready = store && queue;
    return reply
      .code(ready ? 200 : 503)
      .type('application/json')
      .send({ status: ready ? 'ready' : 'not ready', store, queue, adapters });
  });

  app.get('/metrics', async (_request, reply) => {
    const rows = await deps.store.db
      .selectFrom('deliveries')
      .select(['adapter', 'status', (eb) => eb.fn.countAll<number>().as('n')])
      .where('status', 'in', ['pending', 'retrying', 'active'])
      .groupBy(['adapter', 'status'])
      .execute();
    deps.metrics.queueDepth.reset();
    for (const adapter of deps.adapters()) {
      for (const status of ['pending', 'retrying', 'active']) {
        const n = rows.find((r) => r.adapter === adapter.name && r.status === status)?.n ?? 0;
        deps.metrics.queueDepth.set({ adapter: adapter.name, status }, Number(n));
      }
    }
    return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
}

/**
 * A readiness check answers within this time whatever it waits for: a store or queue that hangs
 * (a paused Redis, a PostgreSQL behind a dead network path) is not ready, and the probe learns that
 * instead of timing out itself.
 */
const READINESS_TIMEOUT_MS = 2000;

async function answerWithin<T>(check: Promise<T>, otherwise: T): Promise<T> {
  const answer = await withinTime(check, READINESS_TIMEOUT_MS);
  return answer === TIMED_OUT ? otherwise : answer;
}
