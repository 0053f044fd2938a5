import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { accountChangedEvent, exampleData, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startHttpPartner, type HttpPartner } from '../helpers/servers/http-partner.ts';
import { withTestAdapter } from '../helpers/test-adapter.ts';

/**
 * Malformed, oversized, wrongly typed and hostile requests, generated systematically. Each must be
 * answered 4xx (never 5xx, never a hang), as a problem where JSON is answered, storing nothing;
 * afterwards the process still serves.
 */

const CANONICAL = new URL('../../schemas/canonical/', import.meta.url).pathname;
const ZAAK = 'nl.zaken.zaak-status-gezet';
const MAX_MESSAGE_BYTES = 65_536;

interface BadCase {
  readonly name: string;
  readonly method?: string;
  readonly path?: string;
  readonly body?: string | Buffer;
  readonly contentType?: string | null;
  /** Default: a token with every scope. */
  readonly token?: boolean;
}

const json = (value: unknown) => JSON.stringify(value);
const valid = () => accountChangedEvent();
const without = (event: Record<string, unknown>, key: string) => {
  const copy = { ...event };
  delete copy[key];
  return copy;
};
const nested = (depth: number, leaf = '1') => `${'{"a":'.repeat(depth)}${leaf}${'}'.repeat(depth)}`;
const nestedArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** The JSON text of a valid event with `data` replaced by raw JSON text. */
const withRawData = (raw: string) => json({ ...valid(), data: '__RAW__' }).replace('"__RAW__"', raw);

/** A value of another JSON type than `value`'s. */
function wrongType(value: unknown): unknown {
  if (typeof value === 'string') return { unexpected: true };
  if (typeof value === 'number' || typeof value === 'boolean') return { unexpected: true };
  if (Array.isArray(value)) return 'not a list';
  return 12345;
}

function canonicalTypes(): Array<{ type: string; required: string[]; data: Record<string, unknown> }> {
  return readdirSync(CANONICAL)
    .filter((f) => f.endsWith('.schema.json') && f !== 'envelope.schema.json')
    .map(
      (f) =>
        JSON.parse(readFileSync(join(CANONICAL, f), 'utf8')) as {
          'x-koppel-type': string;
          required?: string[];
        },
    )
    .map((schema) => ({
      type: schema['x-koppel-type'],
      required: schema.required ?? [],
      data: exampleData(schema['x-koppel-type']) as Record<string, unknown>,
    }));
}

function messageCases(): BadCase[] {
  const cases: BadCase[] = [];
  const post = (
    name: string,
    body: string | Buffer,
    contentType: string | null = 'application/cloudevents+json',
  ) => cases.push({ name, body, contentType });

  // Each required envelope attribute missing, each attribute of a wrong type.
  for (const key of ['specversion', 'id', 'source', 'type', 'data'])
    post(`envelope without ${key}`, json(without(valid(), key)));
  const wrongValues: unknown[] = [null, 0, 1.5, true, [], {}, ['1.0'], ''];
  for (const key of [
    'specversion',
    'id',
    'source',
    'type',
    'subject',
    'time',
    'datacontenttype',
    'dataschema',
    'data',
  ]) {
    for (const value of wrongValues) {
      if (key === 'data' && typeof value === 'object' && value !== null && !Array.isArray(value)) continue; // {} is an object; its emptiness is tested per type
      post(`envelope ${key} = ${json(value)}`, json({ ...valid(), [key]: value }));
    }
  }
  post('specversion 0.3', json({ ...valid(), specversion: '0.3' }));
  post('datacontenttype text/xml', json({ ...valid(), datacontenttype: 'text/xml' }));
  post('time without zone', json({ ...valid(), time: '2026-01-01T10:00:00' }));
  post('time not a date', json({ ...valid(), time: '31-12-2025' }));
  post('dataschema not a URI', json({ ...valid(), dataschema: 'schema please' }));
  post('extension attribute with upper case', json({ ...valid(), TraceParent: 'x' }));
  post('extension attribute too long', json({ ...valid(), averyveryverylongextensionname: 'x' }));
  post('extension attribute an object', json({ ...valid(), traceparent: { a: 1 } }));
  post('type not reverse-DNS', json({ ...valid(), type: 'AccountGewijzigd' }));
  post('type with a trailing dot', json({ ...valid(), type: 'nl.accounts.' }));
  post('unknown type', json({ ...valid(), type: 'nl.onbekend.iets-gebeurd' }));

  // Data per canonical type: required fields missing, fields of a wrong type, an unknown field, empty data.
  for (const { type, required, data } of canonicalTypes()) {
    const event = (d: unknown) => json({ ...valid(), type, data: d });
    post(`${type}: data {}`, event({}));
    post(`${type}: unknown field`, event({ ...data, onbekendVeld: 'x' }));
    for (const key of required) {
      const copy = { ...data };
      delete copy[key];
      post(`${type}: without ${key}`, event(copy));
    }
    for (const [key, value] of Object.entries(data))
      post(`${type}: ${key} of a wrong type`, event({ ...data, [key]: wrongType(value) }));
  }

  // BSNs: failing the elfproef in data, and any BSN in the subject.
  const zaak = (bsn: unknown) => {
    const data = structuredClone(exampleData(ZAAK)) as { zaak: { initiator: { bsn: unknown } } };
    data.zaak.initiator.bsn = bsn;
    return json({ ...valid(), type: ZAAK, data });
  };
  for (const bsn of [
    '123456789',
    '999990010',
    '12345678',
    '1234567890',
    'abcdefghi',
    '99999001 ',
    999990019,
    '',
  ])
    post(`BSN ${json(bsn)} in data`, zaak(bsn));
  for (const subject of ['999990019', ' 999990019 ', '123456782'])
    post(`BSN ${json(subject)} as subject`, json({ ...valid(), subject }));

  // Sources that are no URN.
  for (const source of [
    'http://zaaksysteem.example',
    'zaaksysteem',
    'urn:',
    'urn::x',
    'urn:nld:oin 123',
    'urn:nld:',
    ' urn:nld:oin:1:systeem:x',
    'x'.repeat(600),
  ]) {
    post(`source ${json(source.slice(0, 40))}`, json({ ...valid(), source }));
  }

  // Oversized fields within the body limit.
  post('id of 201 characters', json({ ...valid(), id: 'i'.repeat(201) }));
  post('type of 201 characters', json({ ...valid(), type: `nl.${'a'.repeat(200)}` }));
  post('subject of 201 characters', json({ ...valid(), subject: 's'.repeat(201) }));
  post(
    'accountId of 60 KB',
    json({
      ...valid(),
      data: { ...(exampleData('nl.accounts.account-gewijzigd') as object), accountId: 'a'.repeat(60_000) },
    }),
  );
  post(
    '60 000 roles',
    json({
      ...valid(),
      data: {
        ...(exampleData('nl.accounts.account-gewijzigd') as object),
        rollen: Array.from({ length: 6000 }, (_, i) => `r${i}`),
      },
    }),
  );

  // Bodies above the limits.
  post(
    'a string above KOPPEL_MAX_MESSAGE_BYTES',
    json({ ...valid(), data: { accountId: 'x'.repeat(MAX_MESSAGE_BYTES) } }),
  );
  post('10 MB body', Buffer.alloc(10 * 1024 * 1024, 0x20));
  post('10 MB of JSON', json({ ...valid(), data: { accountId: 'x'.repeat(10 * 1024 * 1024) } }));

  // Deep nesting.
  post('data nested 10 000 levels', withRawData(nested(10_000)));
  post(
    'extension attribute nested 10 000 levels',
    json({ ...valid(), deep: '__RAW__' }).replace('"__RAW__"', nested(10_000)),
  );
  post('body an array nested 10 000 levels', nestedArray(10_000));
  post('body nested 10 000 levels', nested(10_000));
  post(
    'data nested 30 000 levels (within the limit)',
    withRawData(`${'['.repeat(30_000)}${']'.repeat(30_000)}`),
  );

  // Prototype pollution keys.
  post('__proto__ at the top', `{"__proto__":{"polluted":true},${json(valid()).slice(1)}`);
  post(
    '__proto__ in data',
    withRawData(
      `{"__proto__":{"polluted":true},${json(exampleData('nl.accounts.account-gewijzigd')).slice(1)}`,
    ),
  );
  post(
    'constructor.prototype at the top',
    `{"constructor":{"prototype":{"polluted":true}},${json(valid()).slice(1)}`,
  );
  post(
    'constructor.prototype in data',
    withRawData(
      `{"constructor":{"prototype":{"polluted":true}},${json(exampleData('nl.accounts.account-gewijzigd')).slice(1)}`,
    ),
  );
  post('__proto__ as the only key', '{"__proto__":{"specversion":"1.0"}}');
  post(
    '__proto__ replacing data',
    json({ ...valid(), data: '__RAW__' }).replace('"__RAW__"', '{"__proto__":{"accountId":"x"}}'),
  );

  // NUL bytes and control characters.
  for (const key of ['id', 'source', 'subject']) {
    post(
      `escaped NUL in ${key}`,
      json({ ...valid(), [key]: key === 'source' ? 'urn:nld:oin:1:systeem:a\u0000b' : 'a\u0000b' }),
    );
  }
  post(
    'escaped NUL in a data field',
    json({
      ...valid(),
      data: { ...(exampleData('nl.accounts.account-gewijzigd') as object), accountId: 'ACC\u0000-1' },
    }),
  );
  post('escaped NUL in a key', json({ ...valid(), 'trace\u0000': 'x' }));
  post(
    'raw NUL byte in a string',
    Buffer.from(json(valid()).replace('"1.0"', '"1.\u00000"').replace('\\u0000', '\u0000'), 'utf8'),
  );
  post(
    'raw NUL byte between tokens',
    Buffer.concat([
      Buffer.from('{"specversion":"1.0",'),
      Buffer.from([0]),
      Buffer.from(json(valid()).slice(1)),
    ]),
  );
  post('raw control character in a string', json(valid()).replace('"evt-', '"\u0001evt-'));

  // Invalid UTF-8.
  const utf8 = (text: string, bytes: number[]) => {
    const [head, tail] = json(valid()).split(text) as [string, string];
    return Buffer.concat([
      Buffer.from(head + text.slice(0, -1)),
      Buffer.from(bytes),
      Buffer.from(text.slice(-1) + tail),
    ]);
  };
  post('invalid UTF-8 (0xff) in the id', utf8('"evt-', [0xff]));
  post('invalid UTF-8 (lone continuation byte) in the id', utf8('"evt-', [0x80]));
  post('invalid UTF-8 (truncated sequence) in the id', utf8('"evt-', [0xe2, 0x82]));
  post('invalid UTF-8 (overlong NUL) in the id', utf8('"evt-', [0xc0, 0x80]));
  post('invalid UTF-8 (UTF-16 surrogate) in the id', utf8('"evt-', [0xed, 0xa0, 0x80]));
  post('random bytes', Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7919 + 13) % 256)));
  post('UTF-16 encoded JSON', Buffer.from(`\ufeff${json(valid())}`, 'utf16le'));

  // Not a CloudEvent at all.
  for (const body of [
    '[]',
    `[${json(valid())}]`,
    '42',
    '-1',
    '1e999',
    'null',
    'true',
    'false',
    '"a string"',
    '{}',
    '""',
  ])
    post(`body ${body.slice(0, 30)}`, body);
  post('empty body', '');
  post('whitespace body', '   \n\t ');

  // Truncated and broken JSON.
  const text = json(valid());
  for (const cut of [1, 2, 10, 30, 60, 100, 200, text.length - 2, text.length - 1])
    post(`JSON cut at ${cut}`, text.slice(0, cut));
  post('trailing garbage', `${text}xyz`);
  post('two documents', `${text}${text}`);
  post('trailing comma', text.replace(/}$/, ',}'));
  post('single quotes', text.replace(/"/g, "'"));
  post('comments', `/* hi */${text}`);
  post('NaN value', text.replace('"1.0"', 'NaN'));
  post('unquoted key', text.replace('"specversion"', 'specversion'));
  post('byte order mark', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]));

  // Duplicate keys: the last one wins, so a bad last value must be refused.
  post(
    'duplicate source, last not a URN',
    text
      .replace('"source":', '"source":"urn:nld:oin:1:systeem:a","source":')
      .replace(/"source":"urn:nld:oin:00000001823288444000:systeem:test"/, '"source":"no urn"'),
  );
  post('duplicate specversion, last wrong', `${text.slice(0, -1)},"specversion":"0.3"}`);
  post('duplicate data, last empty', `${text.slice(0, -1)},"data":{}}`);
  post('duplicate type, last unknown', `${text.slice(0, -1)},"type":"nl.onbekend.x"}`);

  // Other formats.
  const xml =
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><event><id>&e;</id></event>';
  post('XML as application/xml', xml, 'application/xml');
  post('XML as application/json', xml, 'application/json');
  post('XML as cloudevents+json', xml);
  post(
    'form body',
    'specversion=1.0&id=1&source=urn%3Aa%3Ab&type=nl.accounts.account-gewijzigd',
    'application/x-www-form-urlencoded',
  );
  post('form body as JSON', 'specversion=1.0&id=1', 'application/json');
  post(
    'multipart body',
    '--b\r\nContent-Disposition: form-data; name="e"\r\n\r\n{}\r\n--b--',
    'multipart/form-data; boundary=b',
  );

  // Wrong content types with a valid body.
  for (const contentType of [
    'text/plain',
    'text/json',
    'application/xml',
    'application/cloudevents+xml',
    'application/json-patch+json',
    'application/octet-stream',
    'application/cloudevents-batch+json',
    '*/*',
    'application',
    'application/json/extra',
    null,
  ]) {
    post(`valid event as ${String(contentType)}`, text, contentType);
  }
  return cases;
}

function batchCases(): BadCase[] {
  const batch = (
    name: string,
    body: string | Buffer,
    contentType = 'application/cloudevents-batch+json',
  ): BadCase => ({ name: `batch: ${name}`, path: '/v1/messages/batch', body, contentType });
  return [
    batch('501 events', json(Array.from({ length: 501 }, () => valid()))),
    batch('10 000 nulls', json(Array.from({ length: 10_000 }, () => null))),
    batch('an object', json(valid())),
    batch('a number', '5'),
    batch('null', 'null'),
    batch('a string', '"[]"'),
    batch('truncated', json([valid(), valid()]).slice(0, -10)),
    batch('an object nested 10 000 levels', nested(10_000)),
    batch('as text/plain', json([valid()]), 'text/plain'),
    batch('as cloudevents+json', json([valid()]), 'application/cloudevents+json'),
    batch(
      'invalid UTF-8',
      Buffer.concat([Buffer.from('[{"id":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}]')]),
    ),
    batch('empty body', ''),
  ];
}

/** Every item garbage: 207 with every item refused, nothing stored. */
const GARBAGE_ITEMS: unknown[] = [
  null,
  1,
  'x',
  true,
  [],
  [valid()],
  {},
  { ...valid(), source: 'x' },
  { ...valid(), type: 'nl.x.y' },
  { __proto__: null },
  without(valid(), 'data'),
];

function managementCases(): BadCase[] {
  const get = (path: string): BadCase => ({
    name: `GET ${path.slice(0, 80)}`,
    method: 'GET',
    path,
    contentType: null,
  });
  const cases: BadCase[] = [];
  for (const value of ['0', '-1', '201', '1e3', 'abc', '1.5', '', '99999999999999999999']) {
    cases.push(get(`/v1/messages?limit=${value}`), get(`/v1/errors?limit=${value}`));
  }
  for (const value of ['0', '169', '-5', 'abc', '24.5']) cases.push(get(`/v1/stats/hourly?hours=${value}`));
  for (const value of ['yesterday', '2026-13-01T00:00:00Z', '1700000000', "2026-01-01' OR '1'='1"]) {
    cases.push(
      get(`/v1/messages?since=${encodeURIComponent(value)}`),
      get(`/v1/errors?until=${encodeURIComponent(value)}`),
    );
  }
  for (const cursor of [
    'x',
    'MTIzOmFiYw',
    Buffer.from(`1:${'0'.repeat(36)}'--`).toString('base64url'),
    'a'.repeat(201),
    '../../etc/passwd',
  ]) {
    cases.push(
      get(`/v1/messages?cursor=${encodeURIComponent(cursor)}`),
      get(`/v1/errors?cursor=${encodeURIComponent(cursor)}`),
    );
  }
  cases.push(
    get('/v1/errors?kind=everything'),
    get('/v1/errors?resolved=maybe'),
    get('/v1/errors?adapter=..%2F..%2Fetc'),
    get(`/v1/errors?q=${'q'.repeat(201)}`),
    get('/v1/messages?status=lost'),
    get(`/v1/messages?type=${'t'.repeat(201)}`),
    get(`/v1/messages?eventId=${'e'.repeat(501)}`),
    get('/v1/adapters/..%2F..%2Fetc%2Fpasswd'),
    get('/v1/adapters/UPPER'),
    get('/v1/adapters/nope'),
  );
  for (const id of [
    '..%2F..%2Fetc%2Fpasswd',
    '%2e%2e%2f%2e%2e%2fpackage.json',
    "1'%20OR%20'1'%3D'1",
    '%00',
    'x'.repeat(300),
    '00000000-0000-4000-8000-000000000000',
    'null',
    '-1',
  ]) {
    cases.push(get(`/v1/messages/${id}`), get(`/v1/deliveries/${id}`), get(`/v1/errors/${id}`));
  }
  cases.push(
    get('/v1/schemas/..%2F..%2Fpackage.json'),
    get('/v1/schemas/%2e%2e'),
    get(`/v1/schemas/${'s'.repeat(201)}`),
    get('/v1/../../etc/passwd'),
    get('/..%2f..%2fetc/passwd'),
  );

  const postJson = (
    name: string,
    path: string,
    body: string,
    method = 'POST',
    contentType: string | null = 'application/json',
  ): BadCase => ({ name, method, path, body, contentType });
  const entry = '/v1/errors/00000000-0000-4000-8000-000000000000';
  cases.push(
    postJson('resolve: __proto__ body', `${entry}/resolve`, '{"__proto__":{"polluted":true},"note":"x"}'),
    postJson(
      'resolve: constructor body',
      `${entry}/resolve`,
      '{"constructor":{"prototype":{"polluted":true}}}',
    ),
    postJson('resolve: note nested 10 000 levels', `${entry}/resolve`, `{"note":${nested(10_000)}}`),
    postJson('resolve: truncated', `${entry}/resolve`, '{"note":"x'),
    postJson('resolve: an array', `${entry}/resolve`, '["note"]'),
    postJson('resolve: as text', `${entry}/resolve`, '{"note":"x"}', 'POST', 'text/plain'),
    postJson('bulk retry: unknown field', '/v1/errors/retry', '{"sql":"DELETE FROM messages"}'),
    postJson('bulk retry: since not a date', '/v1/errors/retry', '{"since":"\'; DROP TABLE messages; --"}'),
    postJson('bulk retry: dryRun a string', '/v1/errors/retry', '{"dryRun":"yes please"}'),
    postJson('bulk retry: __proto__', '/v1/errors/retry', '{"__proto__":{"dryRun":false}}'),
    postJson(
      'retry policy: nested',
      '/v1/adapters/test-http/retry-policy',
      `{"delaysMs":${nestedArray(10_000)},"afterLast":"fail"}`,
      'PUT',
    ),
    postJson(
      'retry policy: 51 delays',
      '/v1/adapters/test-http/retry-policy',
      json({ delaysMs: Array.from({ length: 51 }, () => 1), afterLast: 'fail' }),
      'PUT',
    ),
    postJson(
      'retry policy: huge delay',
      '/v1/adapters/test-http/retry-policy',
      json({ delaysMs: [1e300], afterLast: 'fail' }),
      'PUT',
    ),
    postJson(
      'account: __proto__ scopes',
      '/v1/accounts',
      '{"name":"x","scopes":["admin"],"__proto__":{"scopes":["admin"]}}',
    ),
    postJson('account: name with NUL', '/v1/accounts', json({ name: 'evil\u0000name', scopes: ['admin'] })),
    postJson(
      'token: nested JSON',
      '/oauth2/token',
      `{"grant_type":${nested(10_000, '"client_credentials"')}}`,
    ),
    postJson('token: __proto__', '/oauth2/token', '{"__proto__":{"grant_type":"client_credentials"}}'),
    postJson(
      'token: form with __proto__',
      '/oauth2/token',
      '__proto__=x&grant_type=client_credentials&client_id=kpl_x&client_secret=y123456',
      'POST',
      'application/x-www-form-urlencoded',
    ),
    postJson(
      'token: huge client secret',
      '/oauth2/token',
      json({ grant_type: 'client_credentials', client_id: 'kpl_x', client_secret: 's'.repeat(100_000) }),
    ),
    postJson('token: array body', '/oauth2/token', '[1,2,3]'),
    { name: 'DELETE /v1/messages', method: 'DELETE', path: '/v1/messages', contentType: null },
    {
      name: 'PATCH /v1/errors',
      method: 'PATCH',
      path: '/v1/errors',
      body: '{}',
      contentType: 'application/json',
    },
    { name: 'unknown route', method: 'GET', path: '/v1/nothing-here', contentType: null },
  );
  return cases;
}

describe('integration: bad input', function () {
  this.timeout(120_000);
  let gw: TestGateway;
  let partner: HttpPartner;
  let admin: string;
  let initial: { messages: number; deliveries: number; accounts: number };

  const counts = async () => {
    const count = async (table: 'messages' | 'deliveries' | 'accounts') =>
      Number(
        (
          await gw.gateway.store.db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    return {
      messages: await count('messages'),
      deliveries: await count('deliveries'),
      accounts: await count('accounts'),
    };
  };

  async function send(c: BadCase): Promise<{ status: number; contentType: string; text: string }> {
    const headers: Record<string, string> = {};
    if (c.token !== false) headers.authorization = `Bearer ${admin}`;
    if (c.contentType) headers['content-type'] = c.contentType;
    const response = await fetch(`${gw.baseUrl}${c.path ?? '/v1/messages'}`, {
      method: c.method ?? 'POST',
      headers,
      ...(c.body !== undefined ? { body: typeof c.body === 'string' ? c.body : new Uint8Array(c.body) } : {}),
      // "Never a hang": a request that is not answered in time fails the case.
      signal: AbortSignal.timeout(30_000),
    });
    return {
      status: response.status,
      contentType: response.headers.get('content-type') ?? '',
      text: await response.text(),
    };
  }

  before(async () => {
    partner = await startHttpPartner();
    gw = await startGateway({
      ...withTestAdapter([partner.url]),
      env: {
        KOPPEL_MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES),
        KOPPEL_MAX_BATCH_BYTES: String(4 * 1024 * 1024),
      },
    });
    admin = await gw.token();
    assert.equal((await gw.post(valid())).status, 202, 'a valid post is taken before the run');
    initial = await counts();
  });
  after(async () => {
    await gw?.stop();
    await partner?.stop();
  });

  const all = [...messageCases(), ...batchCases(), ...managementCases()];

  it(`has at least 200 cases (${all.length})`, () => {
    assert.ok(all.length >= 200);
    assert.equal(new Set(all.map((c) => c.name)).size, all.length, 'case names are unique');
  });

  it('answers every case 4xx, as a problem when JSON, and stores nothing', async () => {
    const failures: string[] = [];
    for (const c of all) {
      let answer;
      try {
        answer = await send(c);
      } catch (error) {
        failures.push(`${c.name}: no answer (${(error as Error).message})`);
        continue;
      }
      const where = `${c.name}: ${answer.status} ${answer.text.slice(0, 200)}`;
      if (answer.status < 400 || answer.status > 499) {
        failures.push(where);
        continue;
      }
      const isOAuth = c.path === '/oauth2/token' && answer.contentType.startsWith('application/json');
      if (!isOAuth) {
        if (!answer.contentType.startsWith('application/problem+json'))
          failures.push(`${where} (content-type ${answer.contentType})`);
        else {
          const body = JSON.parse(answer.text) as { type?: string; status?: number; title?: string };
          if (!body.type?.startsWith('urn:koppel:problem:') || body.status !== answer.status || !body.title)
            failures.push(`${where} (not a complete problem)`);
        }
      }
    }
    assert.deepEqual(
      failures,
      [],
      `${failures.length} of ${all.length} cases misanswered:\n${failures.join('\n')}`,
    );
    assert.deepEqual(await counts(), initial, 'nothing stored');
  });

  it('answers a batch of garbage items 207 with every item refused, and stores nothing', async () => {
    const answer = await send({
      name: 'garbage items',
      path: '/v1/messages/batch',
      body: json(GARBAGE_ITEMS),
      contentType: 'application/cloudevents-batch+json',
    });
    assert.equal(answer.status, 207, answer.text);
    const body = JSON.parse(answer.text) as {
      accepted: number;
      rejected: number;
      results: Array<{ status: number; type: string; index: number }>;
    };
    assert.equal(body.accepted, 0);
    assert.equal(body.rejected, GARBAGE_ITEMS.length);
    body.results.forEach((r, i) => {
      assert.ok(r.status === 400 || r.status === 422, `item ${i}: ${JSON.stringify(r)}`);
      assert.match(r.type, /^urn:koppel:problem:/);
      assert.equal(r.index, i);
    });
    assert.deepEqual(await counts(), initial);
  });

  it('answers SQL-looking filters as plain text: nothing found, nothing broken', async () => {
    for (const value of [
      "' OR '1'='1",
      "x'; DROP TABLE messages; --",
      '%',
      '_',
      '\\',
      "') UNION SELECT * FROM accounts --",
    ]) {
      for (const name of ['type', 'source', 'eventId']) {
        const answer = await gw.request('GET', `/v1/messages?${name}=${encodeURIComponent(value)}`, {
          token: admin,
        });
        assert.equal(answer.status, 200, `${name}=${value}`);
        assert.deepEqual(answer.body.items, [], `${name}=${value}`);
      }
      const errors = await gw.request(
        'GET',
        `/v1/errors?q=${encodeURIComponent(value)}&messageType=${encodeURIComponent(value)}`,
        { token: admin },
      );
      assert.equal(errors.status, 200);
      assert.deepEqual(errors.body.items, []);
    }
    assert.deepEqual(await counts(), initial);
  });

  it('pollutes no prototype', () => {
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal((Object.prototype as unknown as Record<string, unknown>).polluted, undefined);
  });

  it('still serves afterwards: /healthz, a valid post, a delivery', async () => {
    assert.equal((await gw.request('GET', '/healthz')).status, 200);
    const posted = await gw.post(valid());
    assert.equal(posted.status, 202);
    await gw.eventually(async () =>
      (await gw.get(`/v1/messages/${posted.body.id}`)).body.deliveries[0].status === 'delivered'
        ? true
        : undefined,
    );
    const logs = gw.logs.lines().filter((l) => l.msg === 'request_failed');
    assert.deepEqual(logs, [], 'no request ended in an internal error');
  });
});
