import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type {
  AccountView,
  AdapterDeliveries,
  GuardedHttp,
  SecretBox,
} from '../../gateway/adapter-kit/index.ts';
import type { TokenCache } from './oauth2-token.ts';
import type { ResolvedSettings } from './settings.ts';

/** What the adapter's parts share, taken from the AdapterContext once in create(). */
export interface WebhooksContext {
  readonly db: Kysely<any>;
  readonly secrets: SecretBox;
  readonly log: Logger;
  readonly http: GuardedHttp;
  readonly settings: ResolvedSettings;
  readonly tokens: TokenCache;
  now(): Date;
  retryDeliveries(deliveryIds: readonly string[]): Promise<number>;
  /** The adapter's deliveries as the core shows them (the log, resend, recover, notices). */
  readonly deliveries: AdapterDeliveries;
  account(clientId: string): Promise<AccountView | undefined>;
}
