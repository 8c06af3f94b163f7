// `hearth client add|list|remove` and `hearth launch create` (issue 10 "CLI and admin API"; SMART
// App Launch 2.x client registration and EHR launch). The integrator wires these into src/cli.ts
// inside its withDatabase(): each takes the open, migrated Database and the arguments after the
// command word, and prints through `out` (the client_id, the launch value, the list).
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { addClient, listClients, removeClient } from '../auth/clients/client-store.js';
import { CLIENT_KINDS } from '../auth/clients/client-validation.js';
import type { ClientKind } from '../auth/contracts.js';
import { insertLaunch } from '../auth/tokens/launch-store.js';
import { inTenant } from '../auth/tokens/sql.js';
import { TenantCheck } from '../auth/tenants.js';
import { isValidId } from '../core/ids.js';
import type { Database } from '../storage/pg/database.js';

export const AUTH_USAGE = `  hearth client add --tenant T --name N --kind public|confidential-asymmetric|backend-service
                    [--redirect-uri U ...] [--scope S] [--jwks file.json | --jwks-uri URL] [--admin] [--client-id ID]
                                                 register an OAuth client; prints its client_id
  hearth client list [--tenant T]
  hearth client remove <client_id> [--tenant T]  remove a client and revoke its tokens
  hearth launch create --tenant T --patient P [--encounter E] [--user U]
                                                 create an EHR launch context; prints the launch value (valid 1 h)`;

type Out = (line: string) => void;

async function requireTenant(database: Database, tenant: string): Promise<void> {
  if (!(await new TenantCheck(database, 0).exists(tenant))) throw new Error(`Unknown tenant '${tenant}'`);
}

async function readJwks(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new Error(`Cannot read a JWKS from ${path}: ${(error as Error).message}`);
  }
}

/** `hearth client add|list|remove ...` */
export async function clientCommand(database: Database, args: string[], out: Out = console.log): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      tenant: { type: 'string', default: 'default' },
      name: { type: 'string' },
      kind: { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      scope: { type: 'string' },
      jwks: { type: 'string' },
      'jwks-uri': { type: 'string' },
      admin: { type: 'boolean', default: false },
      'client-id': { type: 'string' },
    },
  });
  const [action, clientId] = positionals;
  const tenant = values.tenant;
  await requireTenant(database, tenant);
  if (action === 'add') {
    if (!values.name) throw new Error('client add needs --name');
    if (!values.kind || !CLIENT_KINDS.includes(values.kind as ClientKind)) throw new Error(`client add needs --kind ${CLIENT_KINDS.join('|')}`);
    const jwks = values.jwks === undefined ? undefined : await readJwks(values.jwks);
    const client = await inTenant(database, tenant, (sql) => addClient(sql, tenant, {
      clientId: values['client-id'],
      name: values.name!,
      kind: values.kind as ClientKind,
      redirectUris: values['redirect-uri'] ?? [],
      scope: values.scope,
      jwks,
      jwksUri: values['jwks-uri'],
      admin: values.admin,
    }));
    out(client.clientId);
    return;
  }
  if (action === 'list') {
    const clients = await inTenant(database, tenant, (sql) => listClients(sql, tenant), true);
    for (const c of clients) out([c.clientId, c.kind, c.name, c.scope, c.admin ? 'admin' : ''].join('\t'));
    return;
  }
  if (action === 'remove' && clientId) {
    const removed = await inTenant(database, tenant, (sql) => removeClient(sql, tenant, clientId));
    if (!removed) throw new Error(`No client '${clientId}' in tenant ${tenant}`);
    out(`Removed client ${clientId}; its tokens are revoked`);
    return;
  }
  throw new Error(`Usage:\n${AUTH_USAGE}`);
}

/** `hearth launch create ...` */
export async function launchCommand(database: Database, args: string[], out: Out = console.log): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      tenant: { type: 'string', default: 'default' },
      patient: { type: 'string' },
      encounter: { type: 'string' },
      user: { type: 'string' },
    },
  });
  if (positionals[0] !== 'create') throw new Error(`Usage:\n${AUTH_USAGE}`);
  const tenant = values.tenant;
  await requireTenant(database, tenant);
  if (!values.patient || !isValidId(values.patient)) throw new Error('launch create needs --patient <Patient id>');
  if (values.encounter !== undefined && !isValidId(values.encounter)) throw new Error('--encounter must be an Encounter id');
  const launch = await inTenant(database, tenant, (sql) => insertLaunch(sql, tenant, { patient: values.patient, encounter: values.encounter, userId: values.user }));
  out(launch);
}
