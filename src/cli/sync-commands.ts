// `hearth sync add|list|remove|status|dead-letters` (issue 13 "Sync destinations", "Dead letters";
// docs/sync-admin.md): what the sync admin API does, from the operator's shell. Each command takes
// the open, migrated Database (src/cli.ts's withDatabase) and the arguments after `sync`, works in
// one tenant transaction as the app role (PgSyncAdminStore, row-level security), and prints
// tab-separated lines, or JSON with --json. Destinations are validated by the admin API's own
// parser (destination-input.ts); no secret is ever printed.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { destinationView, parseDestinationInput } from '../auth/admin/destination-input.js';
import { DEFAULT_DEAD_LETTER_LIMIT, MAX_DEAD_LETTER_LIMIT, outboxRowView, statusView } from '../auth/admin/sync-admin-router.js';
import { TenantCheck } from '../auth/tenants.js';
import { inTenant } from '../auth/tokens/sql.js';
import type { Database } from '../storage/pg/database.js';
import { PgSyncAdminStore } from '../storage/pg/sync-admin-store.js';

export const SYNC_USAGE = `  hearth sync add <id> --endpoint URL --types Immunization[,Type...] [--criteria 'Immunization?status=completed' ...]
                    [--auth none|bearer|smart-backend] [--token T | --token-file F]
                    [--token-url U --client-id C --scope S --key-file private-jwk.json [--alg A]]
                    [--mode put|conditional] [--disabled] [--tenant T]
                                                 add or replace a sync destination (docs/sync-admin.md)
  hearth sync list [--tenant T] [--json]
  hearth sync remove <id> [--tenant T]           remove a destination and its undelivered rows
  hearth sync status [--tenant T] [--json]       backlog, oldest row, dead letters, breaker per destination
  hearth sync dead-letters [list|show <id>|replay <id>|discard <id>] [--destination D] [--limit N] [--tenant T] [--json]`;

type Out = (line: string) => void;

const OPTIONS = {
  tenant: { type: 'string', default: 'default' },
  endpoint: { type: 'string' },
  types: { type: 'string' },
  criteria: { type: 'string', multiple: true },
  auth: { type: 'string' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  'token-url': { type: 'string' },
  'client-id': { type: 'string' },
  scope: { type: 'string' },
  'key-file': { type: 'string' },
  alg: { type: 'string' },
  mode: { type: 'string' },
  disabled: { type: 'boolean', default: false },
  destination: { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

type Values = ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: typeof OPTIONS }>>['values'];

const usage = () => new Error(`Usage:\n${SYNC_USAGE}`);

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`Cannot read ${what} from ${path}: ${(error as Error).message}`);
  }
}

/** The destination's auth from the options: --auth, or what the given secrets imply. */
async function authFrom(values: Values): Promise<Record<string, unknown>> {
  const kind = values.auth ?? (values['key-file'] !== undefined ? 'smart-backend' : values.token !== undefined || values['token-file'] !== undefined ? 'bearer' : 'none');
  if (kind === 'none') return { kind };
  if (kind === 'bearer') {
    if (values.token !== undefined && values['token-file'] !== undefined) throw new Error('Give --token or --token-file, not both');
    const token = values['token-file'] !== undefined ? (await readText(values['token-file'], 'the token')).trim() : values.token;
    if (token === undefined) throw new Error('--auth bearer needs --token or --token-file');
    return { kind, token };
  }
  if (kind === 'smart-backend') {
    if (values['key-file'] === undefined) throw new Error('--auth smart-backend needs --key-file (a private JWK)');
    let privateJwk: unknown;
    try {
      privateJwk = JSON.parse(await readText(values['key-file'], 'the private JWK'));
    } catch (error) {
      throw new Error(`--key-file: ${(error as Error).message}`);
    }
    return { kind, tokenUrl: values['token-url'], clientId: values['client-id'], scope: values.scope, privateJwk, ...(values.alg !== undefined ? { alg: values.alg } : {}) };
  }
  throw new Error(`--auth must be none, bearer or smart-backend, not '${kind}'`);
}

/** Rows as aligned columns under a header (what an operator reads); nothing when there are no rows. */
function table(out: Out, header: string[], rows: string[][], empty: string): void {
  if (rows.length === 0) {
    out(empty);
    return;
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const row of [header, ...rows]) out(row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ').trimEnd());
}

const age = (seconds: number | null): string => {
  if (seconds === null) return '-';
  if (seconds < 120) return `${Math.round(seconds)}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  return `${Math.round(seconds / 3600)}h`;
};

/** `hearth sync ...` */
export async function syncCommand(database: Database, args: string[], out: Out = console.log): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: OPTIONS });
  const [action, ...rest] = positionals;
  const tenant = values.tenant;
  if (!(await new TenantCheck(database, 0).exists(tenant))) throw new Error(`Unknown tenant '${tenant}'`);
  const inStore = <T>(work: (store: PgSyncAdminStore) => Promise<T>, readOnly = false): Promise<T> =>
    inTenant(database, tenant, (sql) => work(new PgSyncAdminStore(sql, tenant)), readOnly);
  const print = (value: unknown) => out(JSON.stringify(value, null, 2));

  if (action === 'add' && rest.length === 1) {
    const body = {
      id: rest[0],
      endpoint: values.endpoint,
      resourceTypes: values.types === undefined ? undefined : values.types.split(',').map((t) => t.trim()).filter((t) => t !== ''),
      ...(values.criteria !== undefined ? { criteria: values.criteria } : {}),
      auth: await authFrom(values),
      ...(values.mode !== undefined ? { mode: values.mode } : {}),
      enabled: !values.disabled,
    };
    if (body.endpoint === undefined) throw new Error('sync add needs --endpoint URL');
    if (body.resourceTypes === undefined) throw new Error('sync add needs --types Type[,Type...]');
    const input = await parseDestinationInput(body);
    const saved = await inStore((store) => store.putDestination(input));
    if (values.json) print(await destinationView(saved));
    else out(`Saved destination ${saved.id}: ${saved.resourceTypes.join(',')} -> ${saved.endpoint} (${saved.mode}, auth ${saved.auth.kind}${saved.enabled ? '' : ', disabled'})`);
    return;
  }
  if (action === 'list' && rest.length === 0) {
    const list = await inStore((store) => store.listDestinations(), true);
    if (values.json) return print(await Promise.all(list.map(destinationView)));
    table(out, ['ID', 'ENDPOINT', 'TYPES', 'CRITERIA', 'AUTH', 'MODE', 'ENABLED'], list.map((d) => [
      d.id, d.endpoint, d.resourceTypes.join(','), d.criteria.join(' ') || '-', d.auth.kind, d.mode, d.enabled ? 'yes' : 'no',
    ]), `No sync destinations in tenant ${tenant}`);
    return;
  }
  if (action === 'remove' && rest.length === 1) {
    if (!(await inStore((store) => store.removeDestination(rest[0])))) throw new Error(`No destination '${rest[0]}' in tenant ${tenant}`);
    out(`Removed destination ${rest[0]} and its undelivered rows (its dead letters stay until discarded)`);
    return;
  }
  if (action === 'status' && rest.length === 0) {
    const list = await inStore((store) => store.status(), true);
    if (values.json) return print(list.map(statusView));
    table(out, ['DESTINATION', 'BACKLOG', 'OLDEST', 'DEAD', 'BREAKER', 'OPENED'], list.map((s) => [
      s.id, String(s.backlog), age(s.oldestAgeSeconds), String(s.deadLetters), s.breaker?.state ?? 'closed', String(s.breaker?.openedCount ?? 0),
    ]), `No sync destinations in tenant ${tenant}`);
    return;
  }
  if (action === 'dead-letters') return deadLetters(rest, values, tenant, inStore, out);
  throw usage();
}

async function deadLetters(
  rest: string[],
  values: Values,
  tenant: string,
  inStore: <T>(work: (store: PgSyncAdminStore) => Promise<T>, readOnly?: boolean) => Promise<T>,
  out: Out,
): Promise<void> {
  const [verb = 'list', id] = rest;
  if (verb === 'list' && id === undefined) {
    const limit = values.limit === undefined ? DEFAULT_DEAD_LETTER_LIMIT : Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_DEAD_LETTER_LIMIT) throw new Error(`--limit takes an integer from 1 to ${MAX_DEAD_LETTER_LIMIT}`);
    const rows = await inStore((store) => store.deadLetters({ target: values.destination, limit }), true);
    if (values.json) return out(JSON.stringify(rows.map(outboxRowView), null, 2));
    table(out, ['ID', 'DEAD AT', 'TARGET', 'RESOURCE', 'ATTEMPTS', 'STATUS', 'ERROR'], rows.map((r) => [
      r.id, r.deadAt?.toISOString() ?? '-', `${r.channel}:${r.target}`, `${r.resourceType}/${r.resourceId}/_history/${r.versionId}`, String(r.attempts),
      r.lastStatus === null ? '-' : String(r.lastStatus), (r.lastError ?? '').replace(/\s+/g, ' ').slice(0, 120),
    ]), `No dead letters in tenant ${tenant}`);
    return;
  }
  if (id === undefined || rest.length !== 2) throw usage();
  if (verb === 'show') {
    const row = await inStore((store) => store.outboxRow(id), true);
    if (!row) throw new Error(`No dead letter '${id}' in tenant ${tenant}`);
    out(JSON.stringify(outboxRowView(row), null, 2));
    return;
  }
  if (verb === 'replay') {
    if (!(await inStore((store) => store.replay(id)))) throw new Error(`No dead letter '${id}' in tenant ${tenant}`);
    out(`Replaying ${id}: it is pending delivery again`);
    return;
  }
  if (verb === 'discard') {
    if (!(await inStore((store) => store.discard(id)))) throw new Error(`No dead letter '${id}' in tenant ${tenant}`);
    out(`Discarded dead letter ${id}`);
    return;
  }
  throw usage();
}
