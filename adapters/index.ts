/**
 * THE registry: every adapter Koppel can run, listed once. The core knows adapters only through
 * this array and the contract in gateway/adapter-kit; test/architecture/catalogue.test.ts checks
 * that names are unique and that each has its settings schema and README section.
 */
import type { AdapterDefinition } from '../gateway/adapter-kit/index.ts';
import { lopendeZaken } from './lopende-zaken/index.ts';
import { smtpAdapter } from './smtp/index.ts';
import { webhooks } from './webhooks/index.ts';

export const adapters: readonly AdapterDefinition<any>[] = [lopendeZaken, smtpAdapter, webhooks];
