import assert from 'node:assert/strict';
import { lookup as systemLookup, type LookupAddress } from 'node:dns';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { createGuardedHttp } from '../../../../gateway/adapter-kit/http.ts';
import { createOutboundGuard, type OutboundGuard } from '../../../../gateway/security/outbound-url-guard.ts';

function lookupAll(guard: OutboundGuard, host: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) =>
    guard.lookup(host, { all: true }, (error, addresses) =>
      error ? reject(error) : resolve(addresses as LookupAddress[]),
    ),
  );
}

function lookupOne(guard: OutboundGuard, host: string): Promise<string> {
  return new Promise((resolve, reject) =>
    guard.lookup(host, {}, (error, address) =>
      error ? reject(error) : resolve(address as unknown as string),
    ),
  );
}

describe('outbound URL guard: checkUrl', () => {
  const guard = createOutboundGuard([]);
  const refused = [
    ['IPv4 loopback', 'http://127.0.0.1/'],
    ['IPv4 loopback, other address', 'https://127.255.0.9:8443/x'],
    ['localhost', 'http://localhost:8080/'],
    ['a .localhost name', 'http://api.localhost/'],
    ['10/8', 'http://10.1.2.3/'],
    ['172.16/12, low end', 'http://172.16.0.1/'],
    ['172.16/12, high end', 'http://172.31.255.254/'],
    ['192.168/16', 'http://192.168.1.1/'],
    ['169.254/16 (cloud metadata)', 'http://169.254.169.254/latest/meta-data/'],
    ['100.64/10 (carrier-grade NAT)', 'http://100.64.0.1/'],
    ['0.0.0.0', 'http://0.0.0.0/'],
    ['0 (= 0.0.0.0)', 'http://0/'],
    ['decimal 2130706433', 'http://2130706433/'],
    ['hex 0x7f000001', 'http://0x7f000001/'],
    ['hex dotted 0x7f.1', 'http://0x7f.0.0.1/'],
    ['octal 0177.0.0.1', 'http://0177.0.0.1/'],
    ['short 127.1', 'http://127.1/'],
    ['IPv6 loopback', 'http://[::1]/'],
    ['IPv6 loopback, long form', 'http://[0:0:0:0:0:0:0:1]:8080/'],
    ['IPv6 unspecified', 'http://[::]/'],
    ['IPv4-mapped loopback', 'http://[::ffff:127.0.0.1]/'],
    ['IPv4-mapped loopback, hex', 'http://[::ffff:7f00:1]/'],
    ['IPv4-mapped private', 'http://[::ffff:10.0.0.1]/'],
    ['IPv6 link-local', 'http://[fe80::1]/'],
    ['IPv6 unique local fc00::/7', 'http://[fc00::1]/'],
    ['IPv6 unique local fd..', 'http://[fd12:3456:789a::1]/'],
    ['IPv6 multicast', 'http://[ff02::1]/'],
    ['NAT64 of loopback', 'http://[64:ff9b::7f00:1]/'],
    ['6to4 of loopback', 'http://[2002:7f00:1::]/'],
    ['broadcast', 'http://255.255.255.255/'],
    ['multicast', 'http://224.0.0.1/'],
    ['benchmarking 198.18/15', 'http://198.18.0.1/'],
    ['scheme file', 'file:///etc/passwd'],
    ['scheme gopher', 'gopher://example.com/'],
    ['scheme ftp', 'ftp://example.com/'],
    ['credentials in the URL', 'https://user:pw@example.com/'],
    ['not a URL', 'example.com/hook'],
  ] as const;
  for (const [name, url] of refused) {
    it(`refuses ${name}: ${url}`, () => assert.notEqual(guard.checkUrl(url), null));
  }

  const allowed = [
    ['a public IPv4 address', 'https://93.184.215.14/hook'],
    ['a public IPv6 address', 'https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/hook'],
    ['a host name (judged at connect time)', 'https://receiver.example.com/hook'],
    ['172.32.0.1, just outside 172.16/12', 'http://172.32.0.1/'],
    ['100.128.0.1, just outside 100.64/10', 'http://100.128.0.1/'],
  ] as const;
  for (const [name, url] of allowed) {
    it(`lets ${name} through: ${url}`, () => assert.equal(guard.checkUrl(url), null));
  }

  it('judges a URL the same the second time, and after more URLs than it keeps verdicts for', () => {
    const fresh = createOutboundGuard([]);
    const urls = Array.from({ length: 2500 }, (_, i) =>
      i % 2 === 0 ? `http://10.0.${(i >> 8) & 255}.${i & 255}/` : `https://receiver-${i}.example.com/`,
    );
    for (const round of [1, 2]) {
      for (const [i, url] of urls.entries()) {
        const verdict = fresh.checkUrl(url);
        assert.equal(verdict === null, i % 2 === 1, `round ${round}: ${url} -> ${String(verdict)}`);
      }
    }
  });
});

describe('outbound URL guard: allow-list (KOPPEL_OUTBOUND_ALLOW)', () => {
  it('allows a CIDR, and only that CIDR', () => {
    const guard = createOutboundGuard(['127.0.0.0/8', '10.1.2.0/24']);
    assert.equal(guard.checkUrl('http://127.0.0.1:3000/'), null);
    assert.equal(guard.checkUrl('http://2130706433/'), null, 'the decimal form is the same address');
    assert.equal(
      guard.checkUrl('http://[::ffff:127.0.0.1]/'),
      null,
      'an IPv4-mapped form of an allowed address',
    );
    assert.equal(guard.checkUrl('http://10.1.2.200/'), null);
    assert.notEqual(guard.checkUrl('http://10.1.3.1/'), null);
    assert.notEqual(guard.checkUrl('http://192.168.0.1/'), null);
    assert.notEqual(guard.checkUrl('http://[::1]/'), null, 'IPv4 CIDRs do not allow IPv6 loopback');
  });

  it('allows a single address, bracketed IPv6 included, and an IPv6 CIDR', () => {
    const guard = createOutboundGuard(['[::1]', '192.168.5.5', 'fd00::/8']);
    assert.equal(guard.checkUrl('http://[::1]:8080/'), null);
    assert.equal(guard.checkUrl('http://192.168.5.5/'), null);
    assert.notEqual(guard.checkUrl('http://192.168.5.6/'), null);
    assert.equal(guard.checkUrl('http://[fd12::1]/'), null);
    assert.notEqual(guard.checkUrl('http://[fc00::1]/'), null);
  });

  it('allows a host by name, case-insensitively, and ignores empty entries', () => {
    const guard = createOutboundGuard([' Partner.Internal ', '', 'localhost']);
    assert.equal(guard.checkUrl('http://partner.internal/hook'), null);
    assert.equal(guard.checkUrl('http://PARTNER.internal/hook'), null);
    assert.equal(guard.checkUrl('http://localhost:8080/'), null);
    assert.notEqual(guard.checkUrl('http://127.0.0.1/'), null, 'naming a host does not allow its address');
  });

  it('still refuses other schemes and credentials for allowed hosts', () => {
    const guard = createOutboundGuard(['127.0.0.0/8']);
    assert.notEqual(guard.checkUrl('file://127.0.0.1/etc/passwd'), null);
    assert.notEqual(guard.checkUrl('http://u:p@127.0.0.1/'), null);
  });
});

describe('outbound URL guard: lookup at connect time', () => {
  it('refuses a name that resolves to loopback, with EKOPPELREFUSED', async () => {
    const guard = createOutboundGuard([]);
    await assert.rejects(
      lookupAll(guard, 'localhost'),
      (error: NodeJS.ErrnoException) => error.code === 'EKOPPELREFUSED',
    );
    await assert.rejects(
      lookupOne(guard, 'localhost'),
      (error: NodeJS.ErrnoException) => error.code === 'EKOPPELREFUSED',
    );
  });

  it('resolves it when the address is allowed, in both callback forms', async () => {
    const guard = createOutboundGuard(['127.0.0.0/8', '::1/128']);
    const all = await lookupAll(guard, 'localhost');
    assert.ok(all.length > 0 && all.every((a) => a.address === '127.0.0.1' || a.address === '::1'));
    assert.match(await lookupOne(guard, 'localhost'), /^(127\.0\.0\.1|::1)$/);
  });

  it('resolves a name on the host allow-list whatever it resolves to', async () => {
    const guard = createOutboundGuard(['localhost']);
    assert.ok((await lookupAll(guard, 'localhost')).length > 0);
  });

  it('passes resolution errors through', async () => {
    const guard = createOutboundGuard([]);
    await assert.rejects(
      lookupAll(guard, 'no-such-host.invalid'),
      (error: NodeJS.ErrnoException) => error.code !== 'EKOPPELREFUSED',
    );
  });
});

describe('outbound URL guard: through the kit HTTP client', () => {
  let server: Server;
  let port: number;
  let hits: number;

  before(async () => {
    hits = 0;
    server = createServer((_req, res) => {
      hits += 1;
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('refuses loopback at connect time when only the name was checked (no DNS rebinding)', async function () {
    // The machine's own name is not "localhost", so only the resolved address can refuse it.
    const name = hostname();
    const address = await new Promise<string | undefined>((resolve) =>
      systemLookup(name, (error, a) => resolve(error ? undefined : a)),
    );
    if (!address?.startsWith('127.')) this.skip();
    const http = createGuardedHttp(createOutboundGuard([]));
    try {
      assert.equal(
        createOutboundGuard([]).checkUrl(`http://${name}:${port}/`),
        null,
        'the URL check alone lets it pass',
      );
      const result = await http.send({ method: 'GET', url: `http://${name}:${port}/` });
      assert.equal(result.kind === 'failure' && result.failure, 'refused');
      assert.equal(hits, 0);
    } finally {
      await http.close();
    }
  });

  it('connects when allowed, and refuses the same address when not', async () => {
    const open = createGuardedHttp(createOutboundGuard(['127.0.0.0/8']));
    const strict = createGuardedHttp(createOutboundGuard([]));
    try {
      const ok = await open.send({ method: 'GET', url: `http://127.0.0.1:${port}/` });
      assert.equal(ok.kind === 'response' && ok.status, 200);
      const no = await strict.send({ method: 'GET', url: `http://127.0.0.1:${port}/` });
      assert.equal(no.kind === 'failure' && no.failure, 'refused');
      assert.equal(hits, 1);
    } finally {
      await open.close();
      await strict.close();
    }
  });
});
