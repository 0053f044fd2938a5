/**
 * Secrets at rest. One 32-byte key (`KOPPEL_SECRET_KEY`, or a key file beside the SQLite data)
 * seals secrets that must be read back (TOTP secrets, signing keys, adapter passwords) with
 * AES-256-GCM, and hashes API tokens, which are only ever compared.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SecretBox } from '../adapter-kit/index.ts';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SEALED_PREFIX = 'v1';
const TOKEN_HASH_PREFIX = 'hmac-sha256';

/** The core's box: adapters see it as a `SecretBox`; the core also hashes API tokens with it. */
export interface CoreSecretBox extends SecretBox {
  /** Keyed hash of a high-entropy token, for storage. Deterministic for one key. */
  hashToken(token: string): string;
  /** Constant-time check of a token against `hashToken`'s output; `false` on any malformed hash. */
  verifyToken(token: string, hash: string): boolean;
}

export function createSecretBox(key: Buffer): CoreSecretBox {
  if (key.length !== KEY_BYTES)
    throw new Error(`the secret key must be ${KEY_BYTES} bytes, got ${key.length}`);
  const aesKey = Buffer.from(key);
  // A separate key for hashing, so that a leak of token hashes says nothing about the sealing key.
  const pepper = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'koppel/api-token-hash/v1', KEY_BYTES));

  // API tokens are 256-bit random values, so a fast keyed hash cannot be brute-forced; scrypt would
  // only slow every token request down without adding security (it protects low-entropy passwords).
  const digest = (token: string): Buffer => createHmac('sha256', pepper).update(token, 'utf8').digest();

  return {
    seal(plain) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', aesKey, iv);
      const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return [
        SEALED_PREFIX,
        iv.toString('base64url'),
        ct.toString('base64url'),
        cipher.getAuthTag().toString('base64url'),
      ].join('.');
    },
    open(sealed) {
      const parts = sealed.split('.');
      if (parts.length !== 4 || parts[0] !== SEALED_PREFIX) {
        throw new Error('cannot open sealed secret: not a v1 sealed value');
      }
      const iv = Buffer.from(parts[1] ?? '', 'base64url');
      const ct = Buffer.from(parts[2] ?? '', 'base64url');
      const tag = Buffer.from(parts[3] ?? '', 'base64url');
      if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
        throw new Error('cannot open sealed secret: malformed value');
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', aesKey, iv, { authTagLength: TAG_BYTES });
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8');
      } catch {
        throw new Error('cannot open sealed secret: wrong KOPPEL_SECRET_KEY or the value was altered');
      }
    },
    hashToken(token) {
      return `${TOKEN_HASH_PREFIX}.${digest(token).toString('base64url')}`;
    },
    verifyToken(token, hash) {
      const dot = hash.indexOf('.');
      if (dot < 0 || hash.slice(0, dot) !== TOKEN_HASH_PREFIX) return false;
      const expected = Buffer.from(hash.slice(dot + 1), 'base64url');
      const actual = digest(token);
      return expected.length === actual.length && timingSafeEqual(expected, actual);
    },
  };
}

export interface SecretKeyOptions {
  /** `KOPPEL_SECRET_KEY`: base64 of 32 random bytes. Wins over the key file when given. */
  readonly keyBase64?: string | undefined;
  /** Where the embedded default keeps its key (beside the SQLite file); created with mode 0600. */
  readonly keyFile: string;
}

/**
 * The key that seals secrets. Processes sharing a database must share the key, so in a
 * multi-process set-up the operator sets `KOPPEL_SECRET_KEY`; the key file serves the embedded
 * single-machine default, where `npm start` must work without any configuration.
 */
export function loadOrCreateSecretKey(options: SecretKeyOptions): Buffer {
  if (options.keyBase64 !== undefined && options.keyBase64 !== '') {
    return decodeKey(options.keyBase64, 'KOPPEL_SECRET_KEY');
  }
  const existing = readKeyFile(options.keyFile);
  if (existing) return existing;
  mkdirSync(dirname(options.keyFile), { recursive: true });
  // Written whole under a temporary name, then linked: when two processes start at once, one link
  // wins, and neither can read a half-written key.
  const temporary = `${options.keyFile}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temporary, `${randomBytes(KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(temporary, options.keyFile);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temporary);
  }
  const created = readKeyFile(options.keyFile);
  if (!created) throw new Error(`secret key file ${options.keyFile} could not be read back`);
  return created;
}

function readKeyFile(file: string): Buffer | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return decodeKey(text.trim(), `secret key file ${file}`);
}

function decodeKey(base64: string, origin: string): Buffer {
  const key = /^[A-Za-z0-9+/_-]+={0,2}$/.test(base64) ? Buffer.from(base64, 'base64') : Buffer.alloc(0);
  if (key.length !== KEY_BYTES) {
    throw new Error(
      `${origin} must be base64 of ${KEY_BYTES} random bytes (e.g. \`openssl rand -base64 32\`)`,
    );
  }
  return key;
}
