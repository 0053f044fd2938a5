import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { RuntimeSettings, SecretBox } from '../../gateway/adapter-kit/index.ts';

/**
 * Sender verification codes: six digits, stored only as HMAC-SHA256 over a per-code salt. The
 * HMAC key is a random pepper kept sealed in the runtime settings: a code space of a million is
 * brute-forced in a moment from a salted hash alone, so a copy of the table without Koppel's
 * secret key must not be enough to recover a code.
 */
export interface StoredCode {
  readonly hash: string;
  readonly salt: string;
  readonly expiresAt: number;
}

export type CodeCheck = 'valid' | 'wrong' | 'expired' | 'exhausted' | 'none';

const PEPPER_KEY = 'sender-code-pepper';

export function newCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0');
}

export function hashCode(pepper: Buffer, salt: string, code: string): string {
  return createHmac('sha256', pepper).update(`${salt}:${code}`).digest('hex');
}

export function storeCode(pepper: Buffer, code: string, now: number, ttlMs: number): StoredCode {
  const salt = randomBytes(16).toString('hex');
  return { hash: hashCode(pepper, salt, code), salt, expiresAt: now + ttlMs };
}

/** Checks a code against what is stored; `tries` is the number of wrong codes already given. */
export function checkCode(
  pepper: Buffer,
  stored: StoredCode | undefined,
  tries: number,
  maxTries: number,
  code: string,
  now: number,
): CodeCheck {
  if (stored === undefined) return 'none';
  if (tries >= maxTries) return 'exhausted';
  if (now >= stored.expiresAt) return 'expired';
  const expected = Buffer.from(stored.hash, 'hex');
  const given = Buffer.from(hashCode(pepper, stored.salt, code.trim()), 'hex');
  return expected.length === given.length && timingSafeEqual(expected, given) ? 'valid' : 'wrong';
}

/** The pepper, created once per installation. A second process that races the first adopts what was stored. */
export async function loadPepper(runtime: RuntimeSettings, secrets: SecretBox): Promise<Buffer> {
  const stored = await runtime.get<string>(PEPPER_KEY);
  if (stored !== undefined) return Buffer.from(secrets.open(stored), 'base64');
  await runtime.set(PEPPER_KEY, secrets.seal(randomBytes(32).toString('base64')));
  const winner = await runtime.get<string>(PEPPER_KEY);
  if (winner === undefined) throw new Error('runtime settings lost the sender code pepper');
  return Buffer.from(secrets.open(winner), 'base64');
}
