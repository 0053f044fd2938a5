import { describeBackend } from '../helpers/backends.ts';
import { dispatchSuite } from './dispatch-suite.ts';

// The same suite as dispatch.test.ts, on PostgreSQL + BullMQ (Redis); skips when either is not installed.
describeBackend('postgres-bullmq', 'dispatch', dispatchSuite);
