// src/jobs/net/ssrf-guard.ts: which addresses a Subscription endpoint may reach (every blocked
// range, IPv6 forms carrying IPv4, the operator's allow list by IP, CIDR and name), the check at
// creation and the `lookup` node:http calls at every delivery, with DNS injected (no I/O).
import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { blockedRange, checkOutboundUrl, SsrfGuard, SsrfRefusedError, type Resolver } from '../../src/jobs/net/ssrf-guard.js';

const BLOCKED: [string, RegExp][] = [
  ['127.0.0.1', /loopback/],
  ['127.255.255.254', /loopback/],
  ['::1', /loopback/],
  ['0.0.0.0', /unspecified/],
  ['0.1.2.3', /unspecified/],
  ['::', /unspecified/],
  ['10.0.0.1', /private/],
  ['10.255.255.255', /private/],
  ['172.16.0.1', /private/],
  ['172.31.255.255', /private/],
  ['192.168.1.1', /private/],
  ['fc00::1', /unique local/],
  ['fd12:3456:789a::1', /unique local/],
  ['169.254.169.254', /link-local \(cloud metadata\)/],
  ['169.254.0.1', /link-local/],
  ['fe80::1', /link-local/],
  ['fe80::1%eth0', /link-local/],
  ['febf::1', /link-local/],
  ['100.64.0.1', /CGNAT/],
  ['100.127.255.255', /CGNAT/],
  ['224.0.0.1', /multicast/],
  ['239.255.255.250', /multicast/],
  ['ff02::1', /multicast/],
  ['240.0.0.1', /reserved/],
  ['255.255.255.255', /reserved/],
  ['192.0.2.10', /documentation/],
  ['2001:db8::1', /documentation/],
  ['198.18.0.1', /benchmarking/],
  ['fec0::1', /site-local/],
  // IPv4-mapped IPv6, dotted and hexadecimal.
  ['::ffff:127.0.0.1', /loopback/],
  ['::ffff:7f00:1', /loopback/],
  ['::ffff:169.254.169.254', /link-local/],
  ['::ffff:10.1.2.3', /private/],
  ['::ffff:192.168.0.1', /private/],
  ['::ffff:100.64.0.1', /CGNAT/],
  ['::ffff:0.0.0.0', /unspecified/],
  // IPv4-compatible, NAT64 and 6to4 forms of internal IPv4 addresses.
  ['::127.0.0.1', /loopback.*embedded/],
  ['64:ff9b::a9fe:a9fe', /link-local.*embedded/],
  ['64:ff9b::10.0.0.1', /private.*embedded/],
  ['2002:c0a8:0101::1', /private.*embedded/],
];

const PUBLIC = ['8.8.8.8', '1.1.1.1', '93.184.215.14', '100.63.255.255', '100.128.0.1', '172.15.255.255', '172.32.0.1', '192.169.0.1', '169.253.255.255', '2606:4700:4700::1111', '2001:4860:4860::8888', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:0808:0808::1'];

/** A resolver that answers from a table, recording the names asked. */
function table(entries: Record<string, string[]>): Resolver & { asked: string[] } {
  const asked: string[] = [];
  const resolver = async (host: string): Promise<string[]> => {
    asked.push(host);
    const answer = entries[host];
    if (!answer) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return answer;
  };
  return Object.assign(resolver, { asked });
}

type LookupAnswer = { error: NodeJS.ErrnoException | null; address?: string | LookupAddress[]; family?: number };

function lookup(guard: SsrfGuard, host: string, options: { all?: boolean; family?: number } = {}): Promise<LookupAnswer> {
  return new Promise((resolve) => {
    guard.lookup(host, options, (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => resolve({ error, address, family }));
  });
}

describe('SSRF guard', () => {
  describe('blockedRange', () => {
    for (const [address, range] of BLOCKED) {
      it(`blocks ${address}`, () => {
        assert.match(blockedRange(address) ?? '(not blocked)', range);
      });
    }
    for (const address of PUBLIC) {
      it(`lets ${address} through`, () => {
        assert.equal(blockedRange(address), undefined);
      });
    }
    it('treats something that is not an IP address as blocked', () => {
      assert.equal(blockedRange('example.org'), 'not an IP address');
    });
  });

  describe('checkUrl (creation time)', () => {
    const resolver = table({ 'hooks.example.org': ['93.184.215.14'], 'internal.example.org': ['10.0.0.5'], 'mixed.example.org': ['93.184.215.14', '169.254.169.254'], 'localhost': ['127.0.0.1', '::1'], 'empty.example.org': [] });

    it('accepts a public https endpoint and reports its addresses', async () => {
      const check = await checkOutboundUrl('https://hooks.example.org/notify', { allow: [], resolver });
      assert.ok(check.ok);
      assert.deepEqual(check.addresses, ['93.184.215.14']);
    });

    it('refuses schemes other than http and https', async () => {
      for (const url of ['ftp://hooks.example.org/x', 'file:///etc/passwd', 'gopher://hooks.example.org/']) {
        const check = await checkOutboundUrl(url, { allow: [], resolver });
        assert.equal(check.ok, false);
        assert.match(!check.ok ? check.reason : '', /scheme .* is not allowed/);
      }
    });

    it('refuses a URL that does not parse', async () => {
      const check = await checkOutboundUrl('not a url', { allow: [], resolver });
      assert.deepEqual(check, { ok: false, reason: '"not a url" is not an absolute URL' });
    });

    it('refuses IP literals in blocked ranges, in every spelling the URL parser accepts', async () => {
      const askedBefore = resolver.asked.length;
      for (const url of ['http://127.0.0.1:8080/', 'http://[::1]/', 'http://169.254.169.254/latest/meta-data/', 'http://[::ffff:127.0.0.1]/', 'http://2130706433/', 'http://0x7f.1/', 'http://0/']) {
        const check = await checkOutboundUrl(url, { allow: [], resolver });
        assert.equal(check.ok, false, url);
      }
      assert.equal(resolver.asked.length, askedBefore, 'literals are not resolved');
    });

    it('refuses a name resolving to an internal address, naming the address and range', async () => {
      const check = await checkOutboundUrl('https://internal.example.org/', { allow: [], resolver });
      assert.equal(check.ok, false);
      assert.match(!check.ok ? check.reason : '', /10\.0\.0\.5 \(internal\.example\.org resolves to it\) is private 10\.0\.0\.0\/8/);
    });

    it('refuses when ANY address is blocked', async () => {
      const check = await checkOutboundUrl('https://mixed.example.org/', { allow: [], resolver });
      assert.equal(check.ok, false);
      assert.match(!check.ok ? check.reason : '', /169\.254\.169\.254.*link-local/);
    });

    it('refuses a name that cannot be resolved or has no address', async () => {
      const unknown = await checkOutboundUrl('https://nowhere.example.org/', { allow: [], resolver });
      assert.match(!unknown.ok ? unknown.reason : '', /cannot be resolved \(ENOTFOUND\)/);
      const empty = await checkOutboundUrl('https://empty.example.org/', { allow: [], resolver });
      assert.match(!empty.ok ? empty.reason : '', /resolves to no address/);
    });

    it('allows an internal address on the allow list by IP', async () => {
      assert.ok((await checkOutboundUrl('http://127.0.0.1:9000/hook', { allow: ['127.0.0.1'], resolver })).ok);
      assert.equal((await checkOutboundUrl('http://127.0.0.2:9000/hook', { allow: ['127.0.0.1'], resolver })).ok, false);
    });

    it('allows by CIDR', async () => {
      assert.ok((await checkOutboundUrl('https://internal.example.org/', { allow: ['10.0.0.0/24'], resolver })).ok);
      assert.equal((await checkOutboundUrl('http://10.0.1.5/', { allow: ['10.0.0.0/24'], resolver })).ok, false);
      assert.ok((await checkOutboundUrl('http://[fd00::5]/', { allow: ['fd00::/64'], resolver })).ok);
    });

    it('allows by host name (case and a trailing dot do not matter), only that name', async () => {
      assert.ok((await checkOutboundUrl('http://LocalHost./x', { allow: ['localhost'], resolver })).ok);
      assert.equal((await checkOutboundUrl('https://internal.example.org/', { allow: ['localhost'], resolver })).ok, false);
    });

    it('applies the allow list to the IPv4-mapped form of an allowed address', async () => {
      assert.ok((await checkOutboundUrl('http://[::ffff:127.0.0.1]/', { allow: ['127.0.0.1'], resolver })).ok);
    });

    it('rejects a malformed allow-list CIDR at construction', () => {
      assert.throws(() => new SsrfGuard({ allow: ['10.0.0.0/33'] }), /not a valid IP address or CIDR/);
      assert.throws(() => new SsrfGuard({ allow: ['10.0.0.0/x'] }), /not a valid IP address or CIDR/);
    });
  });

  describe('lookup (every delivery)', () => {
    it('answers the addresses in the form node:net asks for', async () => {
      const guard = new SsrfGuard({ allow: [], resolver: table({ 'hooks.example.org': ['93.184.215.14', '2606:4700:4700::1111'] }) });
      const all = await lookup(guard, 'hooks.example.org', { all: true });
      assert.equal(all.error, null);
      assert.deepEqual(all.address, [{ address: '93.184.215.14', family: 4 }, { address: '2606:4700:4700::1111', family: 6 }]);
      const one = await lookup(guard, 'hooks.example.org', { family: 6 });
      assert.deepEqual([one.address, one.family], ['2606:4700:4700::1111', 6]);
      const first = await lookup(guard, 'hooks.example.org');
      assert.deepEqual([first.address, first.family], ['93.184.215.14', 4]);
    });

    it('fails a name that DNS rebinds to an internal address after the creation check (injected resolver)', async () => {
      let answers = ['93.184.215.14'];
      const resolver: Resolver = async () => answers;
      const guard = new SsrfGuard({ allow: [], resolver });
      assert.ok((await guard.checkUrl('https://rebind.example.org/hook')).ok, 'public at creation');
      assert.equal((await lookup(guard, 'rebind.example.org')).error, null, 'public at the first delivery');
      answers = ['169.254.169.254'];
      const later = await lookup(guard, 'rebind.example.org', { all: true });
      assert.ok(later.error instanceof SsrfRefusedError);
      assert.equal(later.error.code, 'ERR_SSRF_REFUSED');
      assert.match(later.error.message, /refused to connect to rebind\.example\.org: the address 169\.254\.169\.254 .* link-local/);
    });

    it('fails when any address is blocked, even if the family asked for has a public one', async () => {
      const guard = new SsrfGuard({ allow: [], resolver: async () => ['93.184.215.14', '::1'] });
      const answer = await lookup(guard, 'mixed.example.org', { family: 4 });
      assert.ok(answer.error instanceof SsrfRefusedError);
    });

    it('lets an allowed internal address through', async () => {
      const guard = new SsrfGuard({ allow: ['127.0.0.0/8'], resolver: async () => ['127.0.0.1'] });
      const answer = await lookup(guard, 'partner.test', { all: true });
      assert.equal(answer.error, null);
      assert.deepEqual(answer.address, [{ address: '127.0.0.1', family: 4 }]);
    });

    it('passes DNS failures through as they are', async () => {
      const guard = new SsrfGuard({ allow: [], resolver: table({}) });
      const answer = await lookup(guard, 'nowhere.example.org');
      assert.equal(answer.error?.code, 'ENOTFOUND');
    });
  });

  describe('checkLiteralHost', () => {
    it('checks IP literals (node:net does not call lookup for them) and leaves names to lookup', () => {
      const guard = new SsrfGuard({ allow: [] });
      assert.match(guard.checkLiteralHost('[::1]') ?? '', /loopback/);
      assert.match(guard.checkLiteralHost('127.0.0.1') ?? '', /loopback/);
      assert.equal(guard.checkLiteralHost('8.8.8.8'), undefined);
      assert.equal(guard.checkLiteralHost('hooks.example.org'), undefined);
      assert.equal(new SsrfGuard({ allow: ['127.0.0.1'] }).checkLiteralHost('127.0.0.1'), undefined);
    });
  });
});
