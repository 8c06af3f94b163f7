// Who is calling the token, revocation or introspection endpoint (RFC 6749 section 2.3 and 3.2.1):
// a public client names itself with client_id (auth method "none"); a confidential-asymmetric or
// backend-service client must authenticate with a client assertion (private_key_jwt). HTTP Basic
// and client secrets are not supported (no client has a secret).
import type { StoredClient } from '../clients/client-store.js';
import { findClient } from '../clients/client-store.js';
import { authenticateAssertion } from './client-assertion.js';
import { invalidClient, invalidRequest } from './oauth-error.js';
import type { TokenRuntime } from './runtime.js';
import { inTenant } from './sql.js';

export interface ClientAuthInput {
  tenantId: string;
  form: URLSearchParams;
  /** The endpoint URLs a client assertion's aud may equal. */
  audiences: readonly string[];
  /** The request's Authorization header, if any (client_secret_basic is refused). */
  authorization?: string;
}

export async function authenticateClient(runtime: TokenRuntime, input: ClientAuthInput): Promise<StoredClient> {
  const { form, tenantId } = input;
  if (input.authorization !== undefined && /^basic\s/i.test(input.authorization)) {
    const error = invalidClient('HTTP Basic client authentication is not supported; use private_key_jwt');
    error.headers['WWW-Authenticate'] = 'Basic realm="hearth", charset="UTF-8"';
    throw error;
  }
  if (form.has('client_secret')) throw invalidClient('client secrets are not supported; use private_key_jwt');
  if (form.has('client_assertion') || form.has('client_assertion_type')) {
    return authenticateAssertion(runtime, {
      tenantId,
      assertionType: form.get('client_assertion_type'),
      assertion: form.get('client_assertion'),
      clientId: form.get('client_id'),
      audiences: input.audiences,
    });
  }
  const clientId = form.get('client_id');
  if (!clientId) throw invalidClient('client authentication is missing (client_id or client_assertion)');
  if (clientId.length > 256) throw invalidRequest('client_id is too long');
  const client = await inTenant(runtime.database, tenantId, (sql) => findClient(sql, tenantId, clientId), true);
  if (!client) throw invalidClient('unknown client');
  if (client.kind !== 'public') throw invalidClient('this client must authenticate with a client assertion (private_key_jwt)');
  return client;
}
