/**
 * The floor of dispatch on Redis: a BullMQ queue and worker set up as the gateway's dispatcher sets
 * them up (a connection for the queue and one for the worker, its job and worker options at the
 * default configuration, a new job id per job), whose processor does nothing. Jobs are added in
 * bulk, as ingest adds a group's deliveries. What it completes per second, and what each job costs
 * this process, every delivery on PostgreSQL + Redis pays before its store statements and its
 * outbound request.
 */
import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../gateway/config/load-config.ts';
import {
  deliveryWorkerOptions,
  JOB_DEFAULTS,
  PRODUCER_CONNECTION,
  WORKER_CONNECTION,
} from '../gateway/dispatch/bullmq-dispatcher.ts';
import { serveParent } from './child.ts';

const redisUrl = process.env.REDIS_URL;
if (!redisUrl) throw new Error('REDIS_URL is required');
const prefix = `bench-floor-${randomUUID()}`;
// The bench runs the gateway with the defaults, as `npm start` does.
const { concurrency, leaseMs } = loadConfig({});

const producer = new Redis(redisUrl, PRODUCER_CONNECTION);
const connection = new Redis(redisUrl, WORKER_CONNECTION);
const queue = new Queue('floor', { connection: producer, prefix });
let completed = 0;
let waiter: { count: number; resolve(): void } | undefined;
const worker = new Worker('floor', async () => undefined, {
  connection,
  prefix,
  ...deliveryWorkerOptions(concurrency, leaseMs),
});
worker.on('completed', () => {
  completed += 1;
  if (waiter && completed >= waiter.count) waiter.resolve();
});
await worker.waitUntilReady();

/** Adds `jobs` jobs, `bulk` per addBulk, and resolves when the worker has completed them all. */
async function run(args: unknown): Promise<{ seconds: number }> {
  const { jobs, bulk } = args as { jobs: number; bulk: number };
  const target = completed + jobs;
  const done = new Promise<void>((resolve) => (waiter = { count: target, resolve }));
  const started = performance.now();
  for (let added = 0; added < jobs; added += bulk) {
    const size = Math.min(bulk, jobs - added);
    await queue.addBulk(
      Array.from({ length: size }, () => {
        const id = randomUUID();
        return { name: 'floor', data: { deliveryId: id }, opts: { ...JOB_DEFAULTS, jobId: id } };
      }),
    );
  }
  await done;
  return { seconds: (performance.now() - started) / 1000 };
}

serveParent({}, { run }, async () => {
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  producer.disconnect();
  connection.disconnect();
});
