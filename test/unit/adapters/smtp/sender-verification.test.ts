import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { checkCode, loadPepper, newCode, storeCode } from '../../../../adapters/smtp/sender-verification.ts';
import { startSmtpHarness } from './context.ts';

describe('adapters/smtp/sender-verification', () => {
  const pepper = randomBytes(32);
  const now = 1_000_000;

  it('makes six-digit codes', () => {
    for (let i = 0; i < 50; i++) assert.match(newCode(), /^\d{6}$/);
  });

  it('stores a salted keyed hash, never the code', () => {
    const a = storeCode(pepper, '123456', now, 900_000);
    const b = storeCode(pepper, '123456', now, 900_000);
    assert.notEqual(a.hash, b.hash, 'salted');
    assert.ok(!a.hash.includes('123456'));
    assert.equal(a.expiresAt, now + 900_000);
  });

  it('checks validity, expiry, tries and the key', () => {
    const stored = storeCode(pepper, '123456', now, 900_000);
    assert.equal(checkCode(pepper, stored, 0, 5, '123456', now), 'valid');
    assert.equal(checkCode(pepper, stored, 0, 5, ' 123456 ', now), 'valid');
    assert.equal(checkCode(pepper, stored, 0, 5, '654321', now), 'wrong');
    assert.equal(checkCode(pepper, stored, 0, 5, '123456', now + 900_000), 'expired');
    assert.equal(checkCode(pepper, stored, 5, 5, '123456', now), 'exhausted');
    assert.equal(checkCode(randomBytes(32), stored, 0, 5, '123456', now), 'wrong');
    assert.equal(checkCode(pepper, undefined, 0, 5, '123456', now), 'none');
  });

  it('keeps one sealed pepper per installation', async () => {
    const h = await startSmtpHarness({});
    try {
      const first = await loadPepper(h.ctx.runtimeSettings, h.ctx.secrets);
      const second = await loadPepper(h.ctx.runtimeSettings, h.ctx.secrets);
      assert.deepEqual(first, second);
      const stored = await h.ctx.runtimeSettings.get<string>('sender-code-pepper');
      assert.ok(stored && !stored.includes(first.toString('base64')));
    } finally {
      await h.close();
    }
  });
});
