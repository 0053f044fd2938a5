/**
 * Settings as validated and defaulted by the core from
 * schemas/adapters/webhooks.settings.schema.json.
 * TODO(schemas:types): replace by the generated `schemas/types/webhooks.settings.d.ts` once
 * `npm run schemas:types` exists; this mirrors that schema and must not drift from it.
 */
export interface WebhooksSettings {
  readonly publicUrl?: string;
  readonly requestTimeoutMs?: number;
  readonly tokenRefreshMarginSeconds?: number;
  readonly housekeepingIntervalMs?: number;
  readonly healthCacheMs?: number;
  readonly failureNotice?: {
    readonly email: string;
    readonly senderId: string;
    readonly language?: 'nld' | 'eng';
    readonly source?: string;
  };
  readonly hub?: {
    readonly enabled?: boolean;
    readonly accountClientId?: string;
    readonly defaultLeaseSeconds?: number;
    readonly minLeaseSeconds?: number;
    readonly maxLeaseSeconds?: number;
  };
}

/** The settings with every default applied, so that the rest of the adapter reads plain values. */
export interface ResolvedSettings {
  readonly publicUrl: string;
  readonly hubUrl: string;
  readonly requestTimeoutMs: number;
  readonly tokenRefreshMarginMs: number;
  readonly housekeepingIntervalMs: number;
  readonly healthCacheMs: number;
  readonly failureNotice?: {
    readonly email: string;
    readonly senderId: string;
    readonly language: 'nld' | 'eng';
    readonly source: string;
  };
  readonly hub: {
    readonly enabled: boolean;
    readonly accountClientId?: string;
    readonly defaultLeaseSeconds: number;
    readonly minLeaseSeconds: number;
    readonly maxLeaseSeconds: number;
  };
}

export const HUB_PATH = '/websub/hub';
export const TOPIC_PATH = '/websub/topics/';

export function resolveSettings(settings: WebhooksSettings, gatewayPublicUrl: string): ResolvedSettings {
  const publicUrl = (settings.publicUrl ?? gatewayPublicUrl).replace(/\/+$/, '');
  const notice = settings.failureNotice;
  const hub = settings.hub ?? {};
  return {
    publicUrl,
    hubUrl: publicUrl + HUB_PATH,
    requestTimeoutMs: settings.requestTimeoutMs ?? 15_000,
    tokenRefreshMarginMs: (settings.tokenRefreshMarginSeconds ?? 60) * 1000,
    housekeepingIntervalMs: settings.housekeepingIntervalMs ?? 60_000,
    healthCacheMs: settings.healthCacheMs ?? 30_000,
    ...(notice
      ? {
          failureNotice: {
            email: notice.email,
            senderId: notice.senderId,
            language: notice.language ?? 'nld',
            source: notice.source ?? 'urn:nld:oin:00000000000000000000:systeem:koppel-webhooks',
          },
        }
      : {}),
    hub: {
      enabled: hub.enabled ?? false,
      ...(hub.accountClientId !== undefined ? { accountClientId: hub.accountClientId } : {}),
      defaultLeaseSeconds: hub.defaultLeaseSeconds ?? 864_000,
      minLeaseSeconds: hub.minLeaseSeconds ?? 3600,
      maxLeaseSeconds: hub.maxLeaseSeconds ?? 2_592_000,
    },
  };
}

export function topicUrl(settings: ResolvedSettings, topic: string): string {
  return settings.publicUrl + TOPIC_PATH + encodeURIComponent(topic);
}
