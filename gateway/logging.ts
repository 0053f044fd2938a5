import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino, type DestinationStream, type Logger } from 'pino';

const ALWAYS_SECRET = [
  'authorization',
  'password',
  'secret',
  'clientSecret',
  'client_secret',
  'apiToken',
  'totpSecret',
  'privateKey',
  'accessToken',
  'access_token',
];

/**
 * Property names marked `writeOnly: true` anywhere in the adapter settings schemas and the config
 * schema: the one mark that drives redaction in logs, evidence and API answers (STYLE.md §3.5).
 */
export function writeOnlyPropertyNames(schemaDirs: readonly string[]): string[] {
  const names = new Set<string>(ALWAYS_SECRET);
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    const properties = record.properties as Record<string, { writeOnly?: boolean }> | undefined;
    for (const [name, property] of Object.entries(properties ?? {})) if (property?.writeOnly) names.add(name);
    Object.values(record).forEach(visit);
  };
  for (const dir of schemaDirs) {
    let files: string[] = [];
    try {
      files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    } catch {
      continue;
    }
    for (const file of files) visit(JSON.parse(readFileSync(join(dir, file), 'utf8')));
  }
  return [...names];
}

export function createLogger(
  level: string,
  secretNames: readonly string[],
  destination?: DestinationStream,
): Logger {
  const paths = secretNames.flatMap((name) => [name, `*.${name}`, `*.*.${name}`, `req.headers.${name}`]);
  return pino(
    {
      level,
      base: { service: 'koppel' },
      redact: { paths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

const redactionPatterns = new WeakMap<readonly string[], RegExp>();

/** Replaces the values of secret-named properties in JSON text, for evidence stored from partners' answers. */
export function redactJsonText(text: string, secretNames: readonly string[]): string {
  if (secretNames.length === 0 || text === '') return text;
  let pattern = redactionPatterns.get(secretNames);
  if (!pattern) {
    pattern = new RegExp(`("(?:${secretNames.map(escape).join('|')})"\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*"`, 'gi');
    redactionPatterns.set(secretNames, pattern);
  }
  return text.replace(pattern, '$1"[redacted]"');
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
