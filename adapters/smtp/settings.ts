import schema from '../../schemas/adapters/smtp.settings.schema.json' with { type: 'json' };

export const settingsSchema: Readonly<Record<string, unknown>> = schema;

export type { SmtpSettings, Limits, DkimKey } from '../../schemas/types/smtp.settings.js';
import type { SmtpSettings } from '../../schemas/types/smtp.settings.js';

export type ServerType = NonNullable<NonNullable<SmtpSettings['defaultServer']>['type']>;
export type Security = NonNullable<NonNullable<SmtpSettings['defaultServer']>['security']>;

/** The settings with every default filled in, whether or not the core applied the schema's defaults. */
export interface ResolvedSettings {
  readonly defaultServer: SmtpSettings['defaultServer'];
  readonly defaultLanguage: string;
  readonly templateDirs: readonly string[];
  readonly maxAttachmentBytes: number;
  readonly codeTtlMs: number;
  readonly maxTries: number;
  readonly maxConnections: number;
  readonly maxMessages: number;
  readonly connectionTimeoutMs: number;
  readonly clientName?: string;
}

export function resolveSettings(settings: SmtpSettings | undefined): ResolvedSettings {
  const s = settings ?? {};
  return {
    defaultServer: s.defaultServer,
    defaultLanguage: s.defaultLanguage ?? 'nl-NL',
    templateDirs: s.templateDirs ?? [],
    maxAttachmentBytes: s.maxAttachmentBytes ?? 5 * 1024 * 1024,
    codeTtlMs: (s.verification?.codeTtlMinutes ?? 15) * 60_000,
    maxTries: s.verification?.maxTries ?? 5,
    maxConnections: s.pool?.maxConnections ?? 3,
    maxMessages: s.pool?.maxMessages ?? 100,
    connectionTimeoutMs: s.connectionTimeoutMs ?? 15_000,
    ...(s.clientName === undefined ? {} : { clientName: s.clientName }),
  };
}
