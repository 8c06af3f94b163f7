// `hearth user ...`: the people who sign in at a tenant's SMART authorize endpoint (issue 10),
// and the tenant's sign-in policy. Wired into src/cli.ts by the integrator:
//   hearth user add --tenant T --username U --fhir-user Practitioner/1 [--totp]
//       password from HEARTH_NEW_USER_PASSWORD, or asked for (not echoed) on a terminal;
//       --totp prints the otpauth:// URI (RFC 6238 secret) to put in an authenticator app
//   hearth user list --tenant T
//   hearth user remove --tenant T --username U
//   hearth user policy --tenant T [--require-totp on|off]
import { parseArgs } from 'node:util';
import { hashPassword } from '../auth/passwords.js';
import { newTotpSecret, totpUri } from '../auth/totp.js';
import { fhirUserProblem, usernameProblem, UserStore } from '../auth/users/user-store.js';
import type { Database } from '../storage/pg/database.js';

export const USER_USAGE = `  hearth user add --tenant T --username U --fhir-user Practitioner/1 [--totp]
                                                 add a user who signs in to SMART apps (password from
                                                 HEARTH_NEW_USER_PASSWORD or asked on the terminal)
  hearth user list --tenant T
  hearth user remove --tenant T --username U
  hearth user policy --tenant T [--require-totp on|off]`;

export const MIN_PASSWORD_LENGTH = 12;

export interface UserCommandIo {
  env: NodeJS.ProcessEnv;
  stdin: NodeJS.ReadStream;
  out(line: string): void;
  /** Writes a prompt (no newline) where the user sees it. */
  prompt(text: string): void;
}

const defaultIo = (): UserCommandIo => ({
  env: process.env,
  stdin: process.stdin,
  out: (line) => console.log(line),
  prompt: (text) => process.stderr.write(text),
});

/** Reads one line from a terminal without echoing it. */
function readHidden(io: UserCommandIo, question: string): Promise<string> {
  const input = io.stdin;
  if (!input.isTTY) return Promise.reject(new Error('No terminal to ask for the password on: set HEARTH_NEW_USER_PASSWORD'));
  io.prompt(question);
  return new Promise((resolve, reject) => {
    let value = '';
    input.setRawMode(true);
    input.resume();
    input.setEncoding('utf8');
    const done = (error?: Error) => {
      input.setRawMode(false);
      input.pause();
      input.removeListener('data', onData);
      io.prompt('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new Error('Cancelled'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    input.on('data', onData);
  });
}

async function newPassword(io: UserCommandIo): Promise<string> {
  const fromEnv = io.env.HEARTH_NEW_USER_PASSWORD;
  const password = fromEnv !== undefined && fromEnv !== '' ? fromEnv : await readHidden(io, 'Password: ');
  if (fromEnv === undefined || fromEnv === '') {
    const again = await readHidden(io, 'Password again: ');
    if (again !== password) throw new Error('The passwords differ');
  }
  if ([...password].length < MIN_PASSWORD_LENGTH) throw new Error(`A password has at least ${MIN_PASSWORD_LENGTH} characters`);
  return password;
}

async function requireTenant(database: Database, tenantId: string | undefined): Promise<string> {
  if (!tenantId) throw new Error('--tenant is required');
  const { rowCount } = await database.pool.query('SELECT 1 FROM tenant WHERE id = $1', [tenantId]);
  if (rowCount !== 1) throw new Error(`Tenant '${tenantId}' does not exist (hearth tenant create ${tenantId})`);
  return tenantId;
}

/** Runs `hearth user <args>` on an open, migrated database. */
export async function userCommand(database: Database, args: string[], ioOverrides: Partial<UserCommandIo> = {}): Promise<void> {
  const io = { ...defaultIo(), ...ioOverrides };
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      tenant: { type: 'string' },
      username: { type: 'string' },
      'fhir-user': { type: 'string' },
      totp: { type: 'boolean', default: false },
      'require-totp': { type: 'string' },
    },
  });
  const users = new UserStore(database.pool);
  const [action] = positionals;
  const tenantId = await requireTenant(database, values.tenant);
  switch (action) {
    case 'add': {
      const username = values.username ?? '';
      const fhirUser = values['fhir-user'] ?? '';
      const problem = usernameProblem(username) ?? fhirUserProblem(fhirUser);
      if (problem) throw new Error(`Cannot add the user: ${problem}`);
      const password = await newPassword(io);
      const totpSecret = values.totp ? newTotpSecret() : undefined;
      const user = await users.create(tenantId, { username, fhirUser, passwordHash: await hashPassword(password), totpSecret });
      io.out(`Added user ${user.username} (${user.fhirUser}) to tenant ${tenantId}; id ${user.id}`);
      if (totpSecret) io.out(`One-time codes: add this to an authenticator app: ${totpUri(totpSecret, `Hearth ${tenantId}`, user.username)}`);
      return;
    }
    case 'list': {
      for (const u of await users.list(tenantId)) io.out(`${u.username}\t${u.fhirUser}\t${u.totpSecret ? 'totp' : 'password'}\t${u.id}`);
      return;
    }
    case 'remove': {
      if (!values.username) throw new Error('--username is required');
      if (!(await users.remove(tenantId, values.username))) throw new Error(`No user '${values.username}' in tenant ${tenantId}`);
      io.out(`Removed user ${values.username} from tenant ${tenantId}`);
      return;
    }
    case 'policy': {
      const flag = values['require-totp'];
      if (flag !== undefined) {
        if (flag !== 'on' && flag !== 'off') throw new Error('--require-totp takes on or off');
        await users.setAuthPolicy(tenantId, { requireTotp: flag === 'on' });
      }
      const policy = await users.authPolicy(tenantId);
      io.out(`Tenant ${tenantId}: one-time codes ${policy.requireTotp ? 'required for every user' : 'optional (users with a TOTP secret)'}`);
      return;
    }
    default:
      throw new Error(`Usage:\n${USER_USAGE}`);
  }
}
