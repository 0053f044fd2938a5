import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createSecretBox, loadOrCreateSecretKey } from '../../../../gateway/security/secrets.ts';

describe('security/secrets', () => {
  const key = randomBytes(32);
  const box = createSecretBox(key);

  describe('secret box', () => {
    it('seals to v1.<iv>.<ct>.<tag> and opens again', () => {
      const sealed = box.seal('JBSWY3DPEHPK3PXP – ünïcode');
      assert.match(sealed, /^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
      assert.ok(!sealed.includes('JBSWY3DPEHPK3PXP'));
      assert.equal(box.open(sealed), 'JBSWY3DPEHPK3PXP – ünïcode');
    });

    it('uses a fresh IV each time', () => {
      assert.notEqual(box.seal('same'), box.seal('same'));
    });

    it('refuses a tampered value with a clear error', () => {
      const [v, iv, ct, tag] = box.seal('secret value').split('.') as [string, string, string, string];
      const bytes = Buffer.from(ct, 'base64url');
      bytes[0] = (bytes[0] ?? 0) ^ 1;
      assert.throws(
        () => box.open([v, iv, bytes.toString('base64url'), tag].join('.')),
        /wrong KOPPEL_SECRET_KEY or the value was altered/,
      );
    });

    it('refuses a value sealed with another key', () => {
      const other = createSecretBox(randomBytes(32));
      assert.throws(() => box.open(other.seal('x')), /wrong KOPPEL_SECRET_KEY/);
    });

    it('refuses malformed values', () => {
      assert.throws(() => box.open('plain text'), /not a v1 sealed value/);
      assert.throws(() => box.open('v1.AA.AA.AA'), /malformed/);
    });

    it('insists on a 32-byte key', () => {
      assert.throws(() => createSecretBox(randomBytes(16)), /32 bytes/);
    });
  });

  describe('token hashes', () => {
    it('verifies the token it hashed and nothing else', () => {
      const hash = box.hashToken('kpt_abc');
      assert.ok(!hash.includes('kpt_abc'));
      assert.equal(box.hashToken('kpt_abc'), hash);
      assert.equal(box.verifyToken('kpt_abc', hash), true);
      assert.equal(box.verifyToken('kpt_abd', hash), false);
      assert.equal(box.verifyToken('', hash), false);
    });

    it('depends on the key (peppered)', () => {
      const other = createSecretBox(randomBytes(32));
      assert.notEqual(other.hashToken('kpt_abc'), box.hashToken('kpt_abc'));
      assert.equal(other.verifyToken('kpt_abc', box.hashToken('kpt_abc')), false);
    });

    it('answers false for malformed hashes', () => {
      assert.equal(box.verifyToken('kpt_abc', ''), false);
      assert.equal(box.verifyToken('kpt_abc', 'sha1.xyz'), false);
      assert.equal(box.verifyToken('kpt_abc', 'hmac-sha256.short'), false);
    });
  });

  describe('loadOrCreateSecretKey', () => {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'koppel-secrets-'))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('takes KOPPEL_SECRET_KEY when given and writes no file', () => {
      const file = join(dir, 'secret.key');
      assert.deepEqual(loadOrCreateSecretKey({ keyBase64: key.toString('base64'), keyFile: file }), key);
      assert.throws(() => statSync(file), /ENOENT/);
    });

    it('refuses a KOPPEL_SECRET_KEY of the wrong length', () => {
      assert.throws(
        () =>
          loadOrCreateSecretKey({ keyBase64: randomBytes(16).toString('base64'), keyFile: join(dir, 'k') }),
        /KOPPEL_SECRET_KEY must be base64 of 32 random bytes/,
      );
      assert.throws(
        () => loadOrCreateSecretKey({ keyBase64: 'not base64!', keyFile: join(dir, 'k') }),
        /KOPPEL_SECRET_KEY/,
      );
    });

    it('creates a 0600 key file once and reads it back afterwards', () => {
      const file = join(dir, 'data', 'secret.key');
      const first = loadOrCreateSecretKey({ keyFile: file });
      assert.equal(first.length, 32);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(
        Buffer.from(readFileSync(file, 'utf8').trim(), 'base64').toString('hex'),
        first.toString('hex'),
      );
      assert.deepEqual(loadOrCreateSecretKey({ keyFile: file, keyBase64: '' }), first);
    });
  });
});
