import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import ipaddr from 'ipaddr.js';

/**
 * Refuses outbound connections to loopback, private, link-local and other non-public ranges
 * (SSRF), unless the operator's allow-list (`KOPPEL_OUTBOUND_ALLOW`: CIDRs or host names) names
 * them. The check runs on the *resolved* address at connect time, so a name that resolves to a
 * public address when checked and to 127.0.0.1 when connecting (DNS rebinding) is still refused.
 */
export interface OutboundGuard {
  /** Syntax and literal-address check of a URL; `null` when it may be tried. */
  checkUrl(url: string): string | null;
  /** `dns.lookup`-compatible, for the HTTP agent: fails with EKOPPELREFUSED on a refused address. */
  lookup: typeof dnsLookup;
}

const PUBLIC_RANGES = new Set(['unicast']);
const VERDICTS_KEPT = 1000;

export function createOutboundGuard(allow: readonly string[]): OutboundGuard {
  const cidrs: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]> = [];
  const hosts = new Set<string>();
  for (const entry of allow) {
    const value = entry.trim().toLowerCase();
    if (value === '') continue;
    if (value.includes('/')) cidrs.push(ipaddr.parseCIDR(value));
    else if (ipaddr.isValid(stripBrackets(value))) {
      const address = normalise(ipaddr.parse(stripBrackets(value)));
      cidrs.push([address, address.kind() === 'ipv4' ? 32 : 128]);
    } else hosts.add(value);
  }

  const addressAllowed = (text: string): boolean => {
    if (!ipaddr.isValid(text)) return false;
    const address = normalise(ipaddr.parse(text));
    if (cidrs.some(([range, bits]) => range.kind() === address.kind() && address.match(range, bits)))
      return true;
    return PUBLIC_RANGES.has(address.range());
  };

  // Adapters send to few URLs, many times each, and a verdict depends on the text alone: parsing the URL
  // and the address for every request was 1-2 % of the gateway's time in the webhooks bench.
  const verdicts = new Map<string, string | null>();
  const checkUrl = (text: string): string | null => {
    const known = verdicts.get(text);
    if (known !== undefined) return known;
    const verdict = judgeUrl(text);
    if (verdicts.size >= VERDICTS_KEPT) verdicts.clear();
    verdicts.set(text, verdict);
    return verdict;
  };

  const judgeUrl = (text: string): string | null => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return `"${text}" is not an absolute URL`;
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return `scheme ${url.protocol} is not allowed`;
    if (url.username || url.password) return 'credentials in the URL are not allowed';
    const host = stripBrackets(url.hostname.toLowerCase());
    if (hosts.has(host)) return null;
    // The WHATWG parser already turned decimal, octal and hex IPv4 forms into dotted quads.
    if (ipaddr.isValid(host)) return addressAllowed(host) ? null : `address ${host} is not a public address`;
    const loopbackAllowed = addressAllowed('127.0.0.1') || addressAllowed('::1');
    if ((host === 'localhost' || host.endsWith('.localhost')) && !loopbackAllowed)
      return `host ${host} is not a public address`;
    return null;
  };

  const lookup = ((hostname: string, options: unknown, callback: unknown) => {
    const cb = (typeof options === 'function' ? options : callback) as (
      err: NodeJS.ErrnoException | null,
      address?: string | LookupAddress[],
      family?: number,
    ) => void;
    const opts = (typeof options === 'object' && options !== null ? options : {}) as { all?: boolean };
    dnsLookup(hostname, { ...opts, all: true }, (err, addresses) => {
      if (err) return cb(err);
      const list = addresses as LookupAddress[];
      const named = hosts.has(hostname.toLowerCase());
      const refused = named ? undefined : list.find((a) => !addressAllowed(a.address));
      if (refused) {
        const error: NodeJS.ErrnoException = new Error(
          `outbound connection to ${hostname} (${refused.address}) refused: not a public address`,
        );
        error.code = 'EKOPPELREFUSED';
        return cb(error);
      }
      if (opts.all) return cb(null, list);
      const first = list[0];
      if (!first) return cb(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }));
      return cb(null, first.address, first.family);
    });
  }) as typeof dnsLookup;

  return { checkUrl, lookup };
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * `::ffff:127.0.0.1` (mapped) and `::7f00:1` (the deprecated IPv4-compatible form, which a host with a
 * tunnel may still route) are judged as the IPv4 address they carry.
 */
function normalise(address: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | ipaddr.IPv6 {
  if (address.kind() !== 'ipv6') return address;
  const v6 = address as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address();
  const parts = v6.parts;
  const compatible =
    parts.slice(0, 6).every((p) => p === 0) && ((parts[6] ?? 0) !== 0 || (parts[7] ?? 0) > 1);
  return compatible
    ? ipaddr.IPv4.parse(
        `${(parts[6] ?? 0) >> 8}.${(parts[6] ?? 0) & 255}.${(parts[7] ?? 0) >> 8}.${(parts[7] ?? 0) & 255}`,
      )
    : v6;
}
