import type { AdapterDefinition, AdapterInstance, RetryPolicy } from './adapter-kit/index.ts';

/** An adapter as the core runs it: its definition, its instance and the retry policy in force. */
export interface LoadedAdapter {
  readonly name: string;
  readonly definition: AdapterDefinition<any>;
  readonly instance: AdapterInstance;
  readonly accepts: ReadonlySet<string>;
  /** `true` when its deliveries wait for its periodic tick (dispatch mode `periodic`). */
  readonly periodic: boolean;
  /** The policy in force: API override, else KOPPEL_RETRY_<NAME>, else the adapter's default. */
  retryPolicy(): RetryPolicy;
  retryPolicySource(): 'default' | 'environment' | 'api';
}
