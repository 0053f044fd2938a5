import type { Limits, Security, ServerType } from './settings.ts';

export interface ServerPreset {
  readonly host?: string;
  readonly port?: number;
  readonly security?: Security;
  readonly limits: Limits;
}

/**
 * What a server type fills in when the admin leaves it out. Limits follow the providers' published
 * sending limits for one mailbox (Exchange Online: 30 messages a minute, 10,000 recipients a day;
 * Google Workspace: 2,000 messages a day), so that Koppel waits instead of being throttled.
 */
export const SERVER_TYPES: Readonly<Record<ServerType, ServerPreset>> = {
  'microsoft-365': {
    host: 'smtp.office365.com',
    port: 587,
    security: 'starttls',
    limits: { perMinute: 30, perDay: 10_000 },
  },
  google: { host: 'smtp.gmail.com', port: 465, security: 'tls', limits: { perDay: 2_000 } },
  generic: { limits: {} },
};

export function defaultPort(security: Security): number {
  return security === 'tls' ? 465 : 587;
}
