// Shared plumbing for the benchmarks: a Hearth server in its own process on a benchmark
// database, and autocannon runs printed as a table. Loopback only.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';

export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const admin = new URL(databaseUrl);
  const name = decodeURIComponent(admin.pathname.slice(1));
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  if (!exists.rowCount) await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  await client.end();
}

export interface BenchServer {
  base: string;
  /** The server process, when this run started it. */
  pid?: number;
  /** Stops a server this run started and resolves once it has exited. */
  stop(): Promise<void>;
}

export interface BenchServerOptions {
  /** Extra environment for the server (settings under comparison). */
  env?: Record<string, string>;
  /** The checkout to run `dist/src/cli.js` from (another build); this one by default. */
  cwd?: string;
}

/** Starts `node dist/src/cli.js serve` on `databaseUrl`, or uses BENCH_BASE when set. */
export async function startBenchServer(databaseUrl: string, port: number, options: BenchServerOptions = {}): Promise<BenchServer> {
  if (process.env.BENCH_BASE) return { base: process.env.BENCH_BASE, stop: async () => undefined };
  await ensureDatabase(databaseUrl);
  const child: ChildProcess = spawn(process.execPath, ['dist/src/cli.js', 'serve'], {
    cwd: options.cwd,
    env: { ...process.env, DATABASE_URL: databaseUrl, HEARTH_PORT: String(port), HEARTH_HOST: '127.0.0.1', LOG_LEVEL: 'warn', HEARTH_AUTH: 'off', ...options.env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const origin = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 480; i++) {
    if (await fetch(`${origin}/readyz`).then((r) => r.ok, () => false)) {
      return { base: `${origin}/fhir`, pid: child.pid, stop: async () => void (child.kill('SIGTERM'), await exited) };
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  child.kill();
  throw new Error('server did not become ready');
}

export interface BenchRow {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

export async function runAutocannon(name: string, options: autocannon.Options): Promise<BenchRow> {
  const result = await autocannon(options);
  return {
    name,
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

export function printTable(title: string, rows: BenchRow[]): void {
  console.log(`\n${title}`);
  console.log('| query | req/s | p50 ms | p99 ms | non-2xx | errors |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.name} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${r.errors} |`);
}

/** Runs `work` over `items` with at most `concurrency` in flight. */
export async function inParallel<T>(items: Iterable<T>, concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  const iterator = items[Symbol.iterator]();
  const worker = async () => {
    for (let next = iterator.next(); !next.done; next = iterator.next()) await work(next.value);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

const MS_PER_CLOCK_TICK = 10; // /proc/<pid>/stat counts in USER_HZ, 100 per second on Linux

/** CPU time (ms) a process has used so far, or 0 once it is gone. Steadier than req/s on a drifting machine. */
export function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * MS_PER_CLOCK_TICK;
  } catch {
    return 0;
  }
}

/**
 * CPU milliseconds used so far by a process and every live process under it: a server in
 * cluster mode (HEARTH_PROCESSES > 1) serves from its children, not from the primary.
 */
export function treeCpuMs(pid: number): number {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const parent = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // gone since readdir
    }
  }
  let total = 0;
  const todo = [pid];
  for (let next = todo.pop(); next !== undefined; next = todo.pop()) {
    total += cpuMs(next);
    todo.push(...(children.get(next) ?? []));
  }
  return total;
}

/** Server settings under comparison: a name and the environment that turns them on. */
export interface BenchVariant {
  name: string;
  env: Record<string, string>;
}

/**
 * BENCH_VARIANTS: server settings to compare in one run, `name:ENV=v,ENV=v;name:...` (e.g.
 * `audit-off:HEARTH_AUDIT=off;audit-on:HEARTH_AUDIT=on`); `fallback` (default: one unnamed
 * variant, the server as configured) when unset.
 */
export function benchVariants(fallback = ':', raw = process.env.BENCH_VARIANTS): BenchVariant[] {
  const spec = raw?.trim() ? raw : fallback;
  return spec.split(';').filter(Boolean).map((part) => {
    const [name, settings = ''] = part.split(':');
    const env: Record<string, string> = {};
    for (const pair of settings.split(',').filter(Boolean)) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`BENCH_VARIANTS: '${pair}' is not NAME=value`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    return { name: name.trim(), env };
  });
}

/**
 * Waits until the audit journal (ADR 0016) is empty: what recording deferred during the shape is
 * done, and its CPU is counted with the shape's. Undefined for builds without a journal.
 */
export async function drainJournal(url: string): Promise<{ left: number; seconds: number } | undefined> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    if (!(await client.query("SELECT to_regclass('audit_journal') IS NOT NULL AS present")).rows[0].present) return undefined;
    const count = async () => (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_journal')).rows[0].n;
    const left = await count();
    const t0 = performance.now();
    for (let n = left; n > 0; n = await count()) {
      if (performance.now() - t0 > 300_000) throw new Error(`the audit journal still holds ${n} entries after 5 minutes`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return { left, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await client.end();
  }
}

/** A build of Hearth to run beside this one: a git ref exported and built once under bench-builds/. */
export interface PreparedBuild {
  ref: string;
  sha: string;
  /** The checkout to start `dist/src/cli.js` from ('.' is this one). */
  dir: string;
}

/**
 * Exports `ref` with `git archive` into bench-builds/<sha> (ignored by git), installs and builds it
 * once; '.' is this checkout as it stands (built with npm run build), uncommitted changes included.
 */
export function prepareBuild(ref: string): PreparedBuild {
  if (ref === '.') return { ref: 'working tree', sha: 'worktree', dir: '.' };
  const sha = execFileSync('git', ['rev-parse', '--short', ref], { encoding: 'utf8' }).trim();
  const dir = join('bench-builds', sha);
  if (!existsSync(join(dir, 'dist', 'src', 'cli.js'))) {
    mkdirSync(dir, { recursive: true });
    execFileSync('sh', ['-c', `git archive ${sha} | tar -x -C ${dir}`], { stdio: 'inherit' });
    execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: 'inherit' });
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: dir, stdio: 'inherit' });
  }
  return { ref, sha, dir };
}
