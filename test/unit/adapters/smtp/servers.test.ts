import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSecretBox } from '../../../../gateway/security/secrets.ts';
import { buildServerRow, openServer, serverView, type ServerRow } from '../../../../adapters/smtp/servers.ts';

describe('adapters/smtp/servers buildServerRow', () => {
  const secrets = createSecretBox(randomBytes(32));
  const ids = { id: 'srv', now: 1000 };
  const build = (input: Parameters<typeof buildServerRow>[0], existing?: ServerRow) => {
    const built = buildServerRow(input, existing, secrets, ids);
    if (!built.ok) throw new Error(JSON.stringify(built.errors));
    return built.row;
  };

  it('fills in a type: Google is smtp.gmail.com:465 with TLS and 2000 a day', () => {
    const row = build({ name: 'G', type: 'google' });
    assert.deepEqual(
      [row.host, row.port, row.security, row.limit_per_day, row.limit_per_minute],
      ['smtp.gmail.com', 465, 'tls', 2000, null],
    );
  });

  it('takes 587 for generic starttls and 465 for generic tls', () => {
    assert.equal(build({ name: 'a', host: 'h' }).port, 587);
    assert.equal(build({ name: 'a', host: 'h', security: 'tls' }).port, 465);
  });

  it('refuses security none and a missing name, all at once', () => {
    const built = buildServerRow({ host: 'h', security: 'none' }, undefined, secrets, ids);
    assert.equal(built.ok, false);
    if (!built.ok)
      assert.deepEqual(
        built.errors.map((e) => e.pointer),
        ['/body/security', '/body/name'],
      );
  });

  it('seals the password and DKIM keys, keeps them on PATCH without them, and drops the password with the user', () => {
    const created = build({
      name: 'a',
      host: 'h',
      authentication: { user: 'u', password: 'geheim' },
      dkim: [{ domain: 'Example.NL', selector: 's', privateKeyPem: 'KEY' }],
    });
    assert.ok(created.password_sealed && !created.password_sealed.includes('geheim'));
    assert.ok(created.dkim_sealed && !created.dkim_sealed.includes('KEY'));
    assert.equal(created.dkim_domains, '[{"domain":"example.nl","selector":"s"}]');
    const renamed = build({ name: 'b' }, created);
    assert.equal(openServer(renamed, secrets).password, 'geheim');
    assert.deepEqual(openServer(renamed, secrets).dkim, [
      { domain: 'example.nl', selector: 's', privateKeyPem: 'KEY' },
    ]);
    assert.ok(
      renamed.updated_at > created.updated_at,
      'a change is a new version even within one millisecond',
    );
    const otherUser = build({ authentication: { user: 'v' } }, created);
    assert.equal(otherUser.password_sealed, null);
    const noAuth = build({ authentication: null }, created);
    assert.deepEqual([noAuth.username, noAuth.password_sealed], [null, null]);
    assert.doesNotMatch(JSON.stringify(serverView(created)), /geheim|KEY|password_sealed/);
  });

  it('applies a new type over the stored values when the type changes', () => {
    const generic = build({ name: 'a', host: 'mail.example.nl', port: 2525 });
    const m365 = build({ type: 'microsoft-365' }, generic);
    assert.deepEqual(
      [m365.host, m365.port, m365.security, m365.limit_per_minute],
      ['smtp.office365.com', 587, 'starttls', 30],
    );
  });
});
