import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { minutes, hours } from '../../gateway/adapter-kit/index.ts';
import { projectPath } from '../../gateway/adapter-kit/project-files.ts';
import type { StufSysteem } from '../../mappings/lopende-zaken/case-status-change-to-zaak-lk01.ts';
import { LOPENDE_ZAKEN_ONTVANGER } from '../../mappings/lopende-zaken/case-status-change-to-zaak-lk01.ts';
import schema from '../../schemas/adapters/lopende-zaken.settings.schema.json' with { type: 'json' };
import type { LopendeZakenSettings } from '../../schemas/types/lopende-zaken.settings.d.ts';
import type { SigningMaterial, TlsMaterial } from './transport.ts';

export const settingsSchema: Readonly<Record<string, unknown>> = schema;
export type { LopendeZakenSettings };

/** Koppel's own WUS-conform WSDL for zakLk01, the default of `lopendeZaken.wsdl`. */
export const KOPPEL_ZAK_LK01_WSDL = projectPath('adapters/lopende-zaken/wsdl/zaak-lk01.wsdl');

const LOGIUS_OIN = '00000004003214345001';

/** Run-time settings (core `settings` table), changed through PUT /v1/lopende-zaken/settings. */
export const RUNTIME_DEFAULTS = { intervalMs: minutes(5), alertAfterMs: hours(24) } as const;
export type RuntimeSettingsValue = { readonly intervalMs: number; readonly alertAfterMs: number };

/** The settings with defaults applied and every PEM read. */
export interface ResolvedSettings {
  readonly oin: string;
  readonly tls: TlsMaterial;
  /** Present for profile 2W-be-S. */
  readonly signing?: SigningMaterial;
  readonly zender: StufSysteem;
  readonly ontvanger: StufSysteem;
  readonly lopendeZaken: {
    readonly endpoint: string;
    readonly wsdl: string;
    readonly schemaFolder: string;
    readonly receiverOin: string;
  };
  readonly accountCheck: {
    readonly endpoint: string;
    readonly wsdl: string;
    readonly schemaFolder?: string;
    readonly berichtleverancierCode: string;
    readonly berichtTypeCode: string;
    readonly receiverOin: string;
    readonly batchSize: number;
  };
  readonly timeoutMs: number;
  readonly sendConcurrency: number;
}

export function resolveSettings(s: LopendeZakenSettings): ResolvedSettings {
  const passphrase = (value: string | undefined) => (value === undefined ? {} : { passphrase: value });
  const tls: TlsMaterial = {
    key: pem(s.tls.privateKey),
    cert: pem(s.tls.certificate),
    ca: pem(s.tls.ca),
    minVersion: s.tls.minVersion ?? 'TLSv1.2',
    ...passphrase(s.tls.privateKeyPassphrase),
  };
  const signing: SigningMaterial | undefined =
    (s.profile ?? '2W-be') === '2W-be-S'
      ? {
          key: s.signing?.privateKey === undefined ? tls.key : pem(s.signing.privateKey),
          cert: s.signing?.certificate === undefined ? tls.cert : pem(s.signing.certificate),
          ...passphrase(
            s.signing?.privateKey === undefined ? s.tls.privateKeyPassphrase : s.signing.privateKeyPassphrase,
          ),
        }
      : undefined;
  const checkWsdl = s.accountCheck.wsdl;
  const checkFolder =
    s.accountCheck.schemaFolder ?? (/^https?:/i.test(checkWsdl) ? undefined : dirname(resolve(checkWsdl)));
  return {
    oin: s.oin,
    tls,
    ...(signing === undefined ? {} : { signing }),
    zender: s.zender ?? { organisatie: s.oin, applicatie: 'Koppel' },
    ontvanger: s.lopendeZaken.ontvanger ?? LOPENDE_ZAKEN_ONTVANGER,
    lopendeZaken: {
      endpoint: s.lopendeZaken.endpoint,
      wsdl: s.lopendeZaken.wsdl ?? KOPPEL_ZAK_LK01_WSDL,
      schemaFolder: s.lopendeZaken.schemaFolder,
      receiverOin: s.lopendeZaken.receiverOin ?? LOGIUS_OIN,
    },
    accountCheck: {
      endpoint: s.accountCheck.endpoint,
      wsdl: checkWsdl,
      ...(checkFolder === undefined ? {} : { schemaFolder: checkFolder }),
      berichtleverancierCode: s.accountCheck.berichtleverancierCode ?? s.oin,
      berichtTypeCode: s.accountCheck.berichtTypeCode,
      receiverOin: s.accountCheck.receiverOin ?? LOGIUS_OIN,
      batchSize: s.accountCheck.batchSize ?? 250,
    },
    timeoutMs: s.timeoutMs ?? 30_000,
    sendConcurrency: s.sendConcurrency ?? 4,
  };
}

function pem(value: string): string {
  return value.trimStart().startsWith('-----BEGIN') ? value : readFileSync(value, 'utf8');
}
