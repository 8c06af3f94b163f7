// Server-side request forgery guard for addresses a client chooses (R4 Subscription rest-hook
// endpoints, subscription.html#security; issue 13). An address may not be reached when it lies in
// a range that is not globally reachable per the IANA special-purpose registries (RFC 6890 and
// updates): loopback, unspecified, private (RFC 1918, RFC 4193), link-local (including the cloud
// metadata service 169.254.169.254), shared CGNAT space (RFC 6598), documentation, benchmarking,
// multicast and reserved space, and IPv6 forms that carry an IPv4 address (mapped, compatible,
// NAT64, 6to4) of any of those. The operator's allow list (config.outboundAllow: host names, IP
// addresses or CIDRs) permits some.
//
// Two checks: `checkUrl` when a Subscription is created (resolves the name; refused when ANY
// address is blocked), and `lookup`, handed to node:http as its `lookup` option, so that every
// delivery checks the addresses DNS gives at that moment and the socket connects to the very
// address checked (no DNS-rebinding gap between a check and the connection). Node does not call
// `lookup` for an IP literal, so `checkLiteralHost` covers those.
import { promises as dns } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/** Resolves a host name to its addresses (injectable so tests can change the answer over time). */
export type Resolver = (host: string) => Promise<string[]>;

export const systemResolver: Resolver = async (host) =>
  (await dns.lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);

/** Raised (and handed to node:http through `lookup`) when an address may not be reached. */
export class SsrfRefusedError extends Error {
  readonly code = 'ERR_SSRF_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'SsrfRefusedError';
  }
}

interface Range {
  name: string;
  cidr: string;
}

/** Special-purpose ranges that may not be reached (IANA IPv4/IPv6 special-purpose address registries). */
const BLOCKED: readonly Range[] = [
  { name: 'unspecified ("this network")', cidr: '0.0.0.0/8' },
  { name: 'private', cidr: '10.0.0.0/8' },
  { name: 'shared address space (CGNAT)', cidr: '100.64.0.0/10' },
  { name: 'loopback', cidr: '127.0.0.0/8' },
  { name: 'link-local (cloud metadata)', cidr: '169.254.0.0/16' },
  { name: 'private', cidr: '172.16.0.0/12' },
  { name: 'IETF protocol assignments', cidr: '192.0.0.0/24' },
  { name: 'documentation', cidr: '192.0.2.0/24' },
  { name: '6to4 relay anycast', cidr: '192.88.99.0/24' },
  { name: 'private', cidr: '192.168.0.0/16' },
  { name: 'benchmarking', cidr: '198.18.0.0/15' },
  { name: 'documentation', cidr: '198.51.100.0/24' },
  { name: 'documentation', cidr: '203.0.113.0/24' },
  { name: 'multicast', cidr: '224.0.0.0/4' },
  { name: 'reserved', cidr: '240.0.0.0/4' },
  { name: 'unspecified', cidr: '::/128' },
  { name: 'loopback', cidr: '::1/128' },
  { name: 'local-use NAT64', cidr: '64:ff9b:1::/48' },
  { name: 'discard-only', cidr: '100::/64' },
  { name: 'IETF protocol assignments', cidr: '2001::/23' },
  { name: 'documentation', cidr: '2001:db8::/32' },
  { name: 'documentation', cidr: '3fff::/20' },
  { name: 'unique local (private)', cidr: 'fc00::/7' },
  { name: 'link-local', cidr: 'fe80::/10' },
  { name: 'site-local (deprecated)', cidr: 'fec0::/10' },
  { name: 'multicast', cidr: 'ff00::/8' },
];

function addCidr(list: BlockList, cidr: string): boolean {
  const [address, bits] = cidr.split('/');
  const family = isIP(address);
  if (family === 0) return false;
  if (bits === undefined) {
    list.addAddress(address, family === 4 ? 'ipv4' : 'ipv6');
    return true;
  }
  const prefix = /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
  if (!(prefix >= 0 && prefix <= (family === 4 ? 32 : 128))) return false;
  list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
  return true;
}

// One BlockList per range so a refusal can name it; BlockList matches IPv4-mapped IPv6
// addresses (::ffff:a.b.c.d) against IPv4 rules by itself.
const BLOCKED_LISTS = BLOCKED.map((range) => {
  const list = new BlockList();
  addCidr(list, range.cidr);
  return { ...range, list };
});

/** The eight 16-bit groups of an IPv6 address (zone id dropped), or undefined. */
function ipv6Groups(address: string): number[] | undefined {
  let text = address.replace(/%.*$/, '').toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const bytes = dotted[1].split('.').map(Number);
    text = `${text.slice(0, dotted.index)}${((bytes[0] << 8) | bytes[1]).toString(16)}:${((bytes[2] << 8) | bytes[3]).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const parse = (part: string | undefined): number[] => (part ? part.split(':').map((group) => parseInt(group, 16)) : []);
  const front = parse(head);
  const back = parse(tail);
  const groups = tail === undefined ? front : [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
  return groups.length === 8 && groups.every((group) => group >= 0 && group <= 0xffff) ? groups : undefined;
}

function ipv4Of(high: number, low: number): string {
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/**
 * The IPv4 address an IPv6 address carries where a packet to it may reach that IPv4 host:
 * IPv4-compatible (::a.b.c.d, deprecated), NAT64 well-known prefix (64:ff9b::/96, RFC 6052)
 * and 6to4 (2002::/16, RFC 3056). IPv4-mapped addresses BlockList already handles.
 */
function embeddedIpv4(address: string): string | undefined {
  const g = ipv6Groups(address);
  if (!g) return undefined;
  if (g.slice(0, 6).every((group) => group === 0) && (g[6] !== 0 || g[7] > 1)) return ipv4Of(g[6], g[7]);
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((group) => group === 0)) return ipv4Of(g[6], g[7]);
  if (g[0] === 0x2002) return ipv4Of(g[1], g[2]);
  return undefined;
}

/** The name of the special-purpose range `address` lies in (e.g. 'loopback 127.0.0.0/8'), or undefined when it is globally reachable. */
export function blockedRange(address: string): string | undefined {
  const family = isIP(address.replace(/%.*$/, ''));
  if (family === 0) return 'not an IP address';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const range of BLOCKED_LISTS) {
    if (range.list.check(address.replace(/%.*$/, ''), type)) return `${range.name} ${range.cidr}`;
  }
  if (family === 6) {
    const inner = embeddedIpv4(address);
    const innerRange = inner === undefined ? undefined : blockedRange(inner);
    if (innerRange) return `${innerRange} (embedded in ${address})`;
  }
  return undefined;
}

/** A host name as compared with allow-list names: lower case, no trailing dot, no IPv6 brackets. */
export function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
}

/** The operator's allow list, compiled once: names match the URL's host, IPs and CIDRs the resolved address. */
export class AllowList {
  private readonly names = new Set<string>();
  private readonly addresses = new BlockList();

  constructor(entries: readonly string[]) {
    for (const raw of entries) {
      const entry = raw.trim();
      if (!entry) continue;
      if (entry.includes('/') || isIP(entry)) {
        if (!addCidr(this.addresses, entry)) throw new Error(`outboundAllow: "${entry}" is not a valid IP address or CIDR`);
      } else {
        this.names.add(normalizeHost(entry));
      }
    }
  }

  allows(host: string, address: string): boolean {
    if (this.names.has(normalizeHost(host))) return true;
    const bare = address.replace(/%.*$/, '');
    const family = isIP(bare);
    return family !== 0 && this.addresses.check(bare, family === 4 ? 'ipv4' : 'ipv6');
  }
}

export interface SsrfGuardOptions {
  /** config.outboundAllow. */
  allow: readonly string[];
  resolver?: Resolver;
}

export type UrlCheck = { ok: true; url: URL; addresses: string[] } | { ok: false; reason: string };

/** Decides whether client-chosen URLs and addresses may be reached. */
export class SsrfGuard {
  private readonly allowList: AllowList;
  private readonly resolver: Resolver;

  constructor(options: SsrfGuardOptions) {
    this.allowList = new AllowList(options.allow);
    this.resolver = options.resolver ?? systemResolver;
  }

  /** Why `address` (resolved for `host`) may not be reached, or undefined when it may. */
  refusal(host: string, address: string): string | undefined {
    const range = blockedRange(address);
    if (range === undefined || this.allowList.allows(host, address)) return undefined;
    const via = normalizeHost(host) === address ? '' : ` (${normalizeHost(host)} resolves to it)`;
    return `the address ${address}${via} is ${range}, which may not be reached (not in outboundAllow)`;
  }

  /** For an IP-literal host (which node:http connects to without calling `lookup`): the refusal, or undefined. Names pass here. */
  checkLiteralHost(host: string): string | undefined {
    const bare = normalizeHost(host);
    return isIP(bare) === 0 ? undefined : this.refusal(bare, bare);
  }

  /** The check made when a URL is accepted (Subscription creation): scheme, then every address the host resolves to. */
  async checkUrl(text: string): Promise<UrlCheck> {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return { ok: false, reason: `"${text}" is not an absolute URL` };
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, reason: `the scheme ${url.protocol} is not allowed (only http and https)` };
    const host = normalizeHost(url.hostname);
    if (!host) return { ok: false, reason: 'the URL has no host' };
    let addresses: string[];
    try {
      addresses = isIP(host) ? [host] : await this.resolver(host);
    } catch (error) {
      return { ok: false, reason: `the host ${host} cannot be resolved (${(error as { code?: string }).code ?? (error as Error).message})` };
    }
    if (addresses.length === 0) return { ok: false, reason: `the host ${host} resolves to no address` };
    for (const address of addresses) {
      const reason = this.refusal(host, address);
      if (reason) return { ok: false, reason };
    }
    return { ok: true, url, addresses };
  }

  /**
   * node:http / node:net `lookup`: resolves with the guard's resolver, refuses the connection
   * when any address is blocked (a mix of public and internal answers is how rebinding
   * looks), and answers in the form asked for (`all` or one address of the wanted family).
   */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    const host = normalizeHost(hostname);
    this.resolver(host).then(
      (addresses) => {
        const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => isIP(a) === options.family) : addresses;
        const reason = addresses.map((a) => this.refusal(host, a)).find((r) => r !== undefined);
        if (reason) return callback(new SsrfRefusedError(`refused to connect to ${host}: ${reason}`), '', 0);
        if (wanted.length === 0) {
          const error = Object.assign(new Error(`${host} resolves to no usable address`), { code: 'ENOTFOUND', hostname: host });
          return callback(error, '', 0);
        }
        const entries = wanted.map((address) => ({ address, family: isIP(address) }));
        if (options.all) return (callback as unknown as (e: null, all: { address: string; family: number }[]) => void)(null, entries);
        return callback(null, entries[0].address, entries[0].family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}

/** Creation-time check of one URL with the given allow list (see SsrfGuard.checkUrl). */
export function checkOutboundUrl(url: string, options: SsrfGuardOptions): Promise<UrlCheck> {
  return new SsrfGuard(options).checkUrl(url);
}
