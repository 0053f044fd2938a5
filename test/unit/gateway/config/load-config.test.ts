import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig } from '../../../../gateway/config/load-config.ts';

const KEY = Buffer.alloc(32, 7).toString('base64');

/** The problems of a configuration that must be refused. */
function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.match(error.message, /^invalid configuration:/);
    return error.problems;
  }
  assert.fail(`configuration was accepted: ${JSON.stringify(env)}`);
}

describe('config/load-config', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'koppel-config-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the documented defaults for an empty environment', () => {
    const config = loadConfig({});
    assert.equal(config.port, 8080);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.role, 'all');
    assert.equal(config.dataDir, resolve('./data'));
    assert.equal(config.errorLogFile, join(resolve('./data'), 'error-log.jsonl'));
    assert.equal(config.logLevel, 'info');
    assert.equal(config.concurrency, 64);
    assert.equal(config.pollIntervalMs, 500);
    assert.equal(config.leaseMs, 120_000);
    assert.equal(config.maxMessageBytes, 1_048_576);
    assert.equal(config.maxBatchBytes, 16_777_216);
    assert.equal(config.tokenTtlSeconds, 900);
    assert.equal(config.queuePrefix, 'koppel');
    assert.deepEqual(config.outboundAllow, []);
    assert.equal(config.adapters, undefined);
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.redisUrl, undefined);
    assert.equal(config.publicUrl, 'http://127.0.0.1:8080');
    assert.equal(config.retryOverrides.size, 0);
    assert.equal(config.adapterSettings.size, 0);
  });

  it('reads numbers, lists and URLs from strings', () => {
    const config = loadConfig({
      PORT: '9090',
      HOST: '127.0.0.1',
      KOPPEL_ROLE: 'worker',
      KOPPEL_CONCURRENCY: '4',
      KOPPEL_OUTBOUND_ALLOW: ' 127.0.0.0/8 , ::1 ,,',
      KOPPEL_ADAPTERS: 'smtp, webhooks',
      DATABASE_URL: 'postgres://koppel@localhost/koppel',
      KOPPEL_SECRET_KEY: KEY,
      REDIS_URL: 'redis://localhost:6379',
      KOPPEL_MAX_MESSAGE_BYTES: '2048',
      KOPPEL_ERROR_LOG_FILE: '/var/log/koppel/errors.jsonl',
    });
    assert.equal(config.port, 9090);
    assert.equal(config.role, 'worker');
    assert.equal(config.concurrency, 4);
    assert.deepEqual(config.outboundAllow, ['127.0.0.0/8', '::1']);
    assert.deepEqual(config.adapters, ['smtp', 'webhooks']);
    assert.equal(config.databaseUrl, 'postgres://koppel@localhost/koppel');
    assert.equal(config.secretKey, KEY);
    assert.equal(config.redisUrl, 'redis://localhost:6379');
    assert.equal(config.maxMessageBytes, 2048);
    assert.equal(config.errorLogFile, '/var/log/koppel/errors.jsonl');
    assert.equal(config.publicUrl, 'http://127.0.0.1:9090');
  });

  it('ignores variables that are not Koppel’s and empty Koppel variables', () => {
    const config = loadConfig({ PATH: '/usr/bin', HOME: '/root', NODE_ENV: 'test', KOPPEL_CONCURRENCY: '' });
    assert.equal(config.concurrency, 64);
  });

  it('reports every bad variable at once', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      KOPPEL_ROLE: 'boss',
      KOPPEL_CONCURRENCY: '0',
      KOPPEL_LOG_LEVEL: 'loud',
      KOPPEL_MAX_MESSAGE_BYTES: '10',
      DATABASE_URL: 'mysql://x',
      REDIS_URL: 'http://redis',
      KOPPEL_SECRET_KEY: 'short',
      KOPPEL_PUBLIC_URL: 'not a url',
      KOPPEL_TOKEN_TTL_SECONDS: '5',
      KOPPEL_RETRY_WEBHOOKS: 'soon',
      KOPPEL_SETTINGS_SMTP: '{not json',
      KOPPEL_CONCURENCY: '8',
    });
    const expected: Array<[string, RegExp]> = [
      ['PORT', /^PORT must be integer/],
      ['KOPPEL_ROLE', /^KOPPEL_ROLE must be equal to one of the allowed values/],
      ['KOPPEL_CONCURRENCY', /^KOPPEL_CONCURRENCY must be >= 1/],
      ['KOPPEL_LOG_LEVEL', /^KOPPEL_LOG_LEVEL must be equal to one of the allowed values/],
      ['KOPPEL_MAX_MESSAGE_BYTES', /^KOPPEL_MAX_MESSAGE_BYTES must be >= 1024/],
      ['DATABASE_URL', /^DATABASE_URL must match pattern/],
      ['REDIS_URL', /^REDIS_URL must match pattern/],
      ['KOPPEL_SECRET_KEY', /^KOPPEL_SECRET_KEY must match pattern/],
      ['KOPPEL_PUBLIC_URL', /^KOPPEL_PUBLIC_URL must match format "uri"/],
      ['KOPPEL_TOKEN_TTL_SECONDS', /^KOPPEL_TOKEN_TTL_SECONDS must be >= 60/],
      ['KOPPEL_RETRY_WEBHOOKS', /^KOPPEL_RETRY_WEBHOOKS: "soon" is not a delay like/],
      ['KOPPEL_SETTINGS_SMTP', /^KOPPEL_SETTINGS_SMTP is not valid JSON/],
      ['KOPPEL_CONCURENCY', /^KOPPEL_CONCURENCY is not a Koppel variable/],
    ];
    for (const [name, pattern] of expected) {
      assert.ok(
        problems.some((p) => pattern.test(p)),
        `no problem for ${name} matching ${pattern}; got:\n${problems.join('\n')}`,
      );
    }
    assert.equal(
      problems.length,
      expected.length,
      `one problem per bad variable, got:\n${problems.join('\n')}`,
    );
  });

  it('requires KOPPEL_SECRET_KEY with DATABASE_URL, so that processes sharing a database share the key', () => {
    const problems = problemsOf({ DATABASE_URL: 'postgres://koppel@localhost/koppel' });
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(problems[0] ?? '', /^KOPPEL_SECRET_KEY is required with DATABASE_URL/);
  });

  it('never repeats a secret value in its problems', () => {
    const secret = 'c2VjcmV0LXRoYXQtaXMtd3JvbmctbGVuZ3Ro';
    const problems = problemsOf({ KOPPEL_SECRET_KEY: secret });
    assert.ok(!problems.join('\n').includes(secret), problems.join('\n'));
  });

  const unknown = [
    'KOPPEL_TYPO',
    'KOPPEL_RETRY_',
    'KOPPEL_RETRY_lower',
    'KOPPEL_SETTINGS_with-dash',
    'KOPPEL_MAX_MESSAGE_BYTE',
  ];
  for (const name of unknown) {
    it(`refuses the unknown variable ${name}`, () => {
      const problems = problemsOf({ [name]: '1' });
      assert.deepEqual(problems, [`${name} is not a Koppel variable (see the README's configuration table)`]);
    });
  }

  describe('KOPPEL_RETRY_<NAME>', () => {
    it('maps the variable to the adapter name and parses the delays', () => {
      const config = loadConfig({
        KOPPEL_RETRY_TEST_HTTP: '50ms,100ms',
        KOPPEL_RETRY_LOPENDE_ZAKEN: '1h,2h,6h,24h+',
        KOPPEL_RETRY_SMTP2: '30s',
      });
      assert.deepEqual(config.retryOverrides.get('test-http'), { delaysMs: [50, 100], repeatLast: false });
      assert.deepEqual(config.retryOverrides.get('lopende-zaken'), {
        delaysMs: [3_600_000, 7_200_000, 21_600_000, 86_400_000],
        repeatLast: true,
      });
      assert.deepEqual(config.retryOverrides.get('smtp2'), { delaysMs: [30_000], repeatLast: false });
      assert.equal(config.retryOverrides.size, 3);
    });

    it('reports each bad schedule', () => {
      const problems = problemsOf({ KOPPEL_RETRY_A: '50', KOPPEL_RETRY_B: '5m,,1h', KOPPEL_RETRY_C: '1s' });
      assert.equal(problems.length, 2, problems.join('\n'));
      assert.ok(problems.some((p) => p.startsWith('KOPPEL_RETRY_A: "50"')));
      assert.ok(problems.some((p) => p.startsWith('KOPPEL_RETRY_B: ""')));
    });
  });

  describe('adapter settings', () => {
    it('parses KOPPEL_SETTINGS_<NAME> as JSON under the adapter name', () => {
      const config = loadConfig({
        KOPPEL_SETTINGS_TEST_HTTP: '{"urls":["http://127.0.0.1:1/x"],"token":"t"}',
      });
      assert.deepEqual(config.adapterSettings.get('test-http'), {
        urls: ['http://127.0.0.1:1/x'],
        token: 't',
      });
    });

    it('reads adapters.<name> from KOPPEL_CONFIG_FILE (YAML), and the variable wins over the file', () => {
      const file = join(dir, 'koppel.yaml');
      writeFileSync(
        file,
        'adapters:\n  smtp:\n    host: mail.example\n    port: 25\n  webhooks:\n    maxEndpoints: 3\n',
      );
      const config = loadConfig({
        KOPPEL_CONFIG_FILE: file,
        KOPPEL_SETTINGS_SMTP: '{"host":"override.example"}',
      });
      assert.deepEqual(config.adapterSettings.get('smtp'), { host: 'override.example' });
      assert.deepEqual(config.adapterSettings.get('webhooks'), { maxEndpoints: 3 });
    });

    it('reads a JSON config file too', () => {
      const file = join(dir, 'koppel.json');
      writeFileSync(file, JSON.stringify({ adapters: { 'test-http': { urls: [] } } }));
      assert.deepEqual(loadConfig({ KOPPEL_CONFIG_FILE: file }).adapterSettings.get('test-http'), {
        urls: [],
      });
    });

    it('reports a missing or unreadable config file together with the other problems', () => {
      const problems = problemsOf({ KOPPEL_CONFIG_FILE: join(dir, 'absent.yaml'), PORT: '-1' });
      assert.equal(problems.length, 2, problems.join('\n'));
      assert.ok(problems.some((p) => p.startsWith(`KOPPEL_CONFIG_FILE ${join(dir, 'absent.yaml')}:`)));
      assert.ok(problems.some((p) => p.startsWith('PORT must be >= 0')));
    });

    it('reports a config file that is not YAML', () => {
      const file = join(dir, 'broken.yaml');
      writeFileSync(file, 'adapters: [unclosed\n  - : :');
      const problems = problemsOf({ KOPPEL_CONFIG_FILE: file });
      assert.equal(problems.length, 1, problems.join('\n'));
      assert.match(problems[0] ?? '', /^KOPPEL_CONFIG_FILE /);
    });
  });
});
