import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startRedis } from '../helpers/servers/redis.ts';
import { requireServer } from '../helpers/servers/require-server.ts';

describe('test server: Redis', function () {
  const redis = requireServer('Redis', startRedis);

  it('answers PING through ioredis and keeps what is written', async function () {
    const client = new Redis({ host: redis().host, port: redis().port, maxRetriesPerRequest: null });
    try {
      assert.equal(await client.ping(), 'PONG');
      await client.set('koppel:servers-test', 'kept');
      assert.equal(await client.get('koppel:servers-test'), 'kept');
    } finally {
      client.disconnect();
    }
  });

  it('describes itself by url as well as host and port', function () {
    assert.equal(redis().url, `redis://${redis().host}:${redis().port}`);
  });

  it('does not persist to disk', async function () {
    const client = new Redis(redis().url);
    try {
      const [, save] = (await client.config('GET', 'save')) as [string, string];
      const [, appendonly] = (await client.config('GET', 'appendonly')) as [string, string];
      assert.deepEqual({ save, appendonly }, { save: '', appendonly: 'no' });
    } finally {
      client.disconnect();
    }
  });
});
