// Cluster mode (HEARTH_PROCESSES > 1; src/cluster.ts, ADR 0023) as an operator runs it: `hearth
// serve` forks two API processes on one port; requests on new connections reach both; GET
// /metrics reports the whole server whichever process answers; a process that dies is replaced;
// SIGTERM to the primary drains and stops every process.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { request } from 'node:http';
import { sampleOf } from '../support/metrics-text.js';
import { requireServices, TEST_DATABASE_URL } from '../support/services.js';

/** A free loopback port (listen on 0, read it, let it go). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** One request on a connection of its own, so that the primary hands it to the next process. */
function call(port: number, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ host: '127.0.0.1', port, method, path, agent: false, headers: payload ? { 'content-type': 'application/fhir+json' } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Node processes whose parent is `pid` (tsx's esbuild helpers left out). */
function nodeChildren(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.split(') ')[1].split(' ')[1]);
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (parent === pid && cmd.includes('cli.ts')) found.push(Number(entry));
    } catch {
      // exited since readdir
    }
  }
  return found;
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('cluster mode: HEARTH_PROCESSES=2 (e2e)', function () {
  this.timeout(180_000);
  let primary: ChildProcess;
  let port: number;
  let log = '';
  let exited: Promise<number | null>;

  before(async function () {
    await requireServices(this);
    port = await freePort();
    primary = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
      env: { ...process.env, DATABASE_URL: TEST_DATABASE_URL, HEARTH_PROCESSES: '2', HEARTH_PORT: String(port), HEARTH_HOST: '127.0.0.1', HEARTH_AUTH: 'off', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    primary.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()));
    primary.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
    exited = new Promise((resolve) => primary.once('exit', (code) => resolve(code)));
    await until('two processes listening', () => ((log.match(/"msg":"Hearth listening"/g) ?? []).length >= 2 ? true : undefined), 150_000);
  });

  after(() => {
    if (primary.exitCode === null) primary.kill('SIGKILL');
    for (const pid of nodeChildren(primary.pid ?? -1)) process.kill(pid, 'SIGKILL');
  });

  it('serves from two processes forked by the primary, on one port', async () => {
    assert.equal(nodeChildren(primary.pid!).length, 2);
    const created = await call(port, 'POST', '/fhir/Patient', { resourceType: 'Patient', name: [{ family: 'Clusterson' }] });
    assert.equal(created.status, 201, created.text);
    const id = (JSON.parse(created.text) as { id: string }).id;
    for (let i = 0; i < 6; i++) {
      const read = await call(port, 'GET', `/fhir/Patient/${id}`);
      assert.equal(read.status, 200, read.text);
      assert.equal((JSON.parse(read.text) as { id: string }).id, id);
    }
  });

  it('GET /metrics counts the requests of every process, whichever answers', async () => {
    const before = sampleOf((await call(port, 'GET', '/metrics')).text, 'hearth_http_requests_total{interaction="capabilities",status="200"}') ?? 0;
    const n = 10;
    for (let i = 0; i < n; i++) assert.equal((await call(port, 'GET', '/fhir/metadata')).status, 200);
    // Each process alone saw about half (connections alternate): only the aggregate has all ten.
    for (let i = 0; i < 2; i++) {
      const text = (await call(port, 'GET', '/metrics')).text;
      assert.equal(sampleOf(text, 'hearth_http_requests_total{interaction="capabilities",status="200"}'), before + n);
    }
  });

  it('replaces a process that dies, and goes on serving', async () => {
    const [victim] = nodeChildren(primary.pid!);
    process.kill(victim, 'SIGKILL');
    await until('a replacement process', () => {
      const now = nodeChildren(primary.pid!);
      return now.length === 2 && !now.includes(victim) ? now : undefined;
    });
    await until('the replacement listening', () => ((log.match(/"msg":"Hearth listening"/g) ?? []).length >= 3 ? true : undefined));
    assert.match(log, /a Hearth process died: replacing it/);
    for (let i = 0; i < 4; i++) assert.equal((await call(port, 'GET', '/fhir/metadata')).status, 200);
  });

  it('SIGTERM to the primary drains and stops every process, exit code 0', async () => {
    const children = nodeChildren(primary.pid!);
    primary.kill('SIGTERM');
    assert.equal(await exited, 0);
    const alive = children.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    assert.deepEqual(alive, []);
  });
});
