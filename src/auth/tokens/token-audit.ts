// Who the token side's security events name (issue 11 "Recording"; IHE BALP): for an issued
// token, its client, subject (`sub`), fhirUser and the access token's jti; for a refusal, the
// client only when the id the request claims (client_id, or a client assertion's iss) is a
// registered client of the tenant, so that arbitrary text sent to the endpoint never reaches
// the audit trail. Never a token, a code, an assertion.
import type { SecurityCaller } from '../security-audit.js';
import { findClient } from '../clients/client-store.js';
import { assertionIssuer } from './client-assertion.js';
import type { Issuance } from './issue-tokens.js';
import type { TokenRuntime } from './runtime.js';
import { inTenant } from './sql.js';

const MAX_CLIENT_ID = 256;

export function issuedCaller({ grant, jti }: Issuance): SecurityCaller {
  return { clientId: grant.clientId, subject: grant.subject, fhirUser: grant.fhirUser, tokenId: jti };
}

/** The registered client a (possibly refused) request names, if any. */
export async function claimedClient(runtime: TokenRuntime, tenantId: string, form: URLSearchParams | undefined): Promise<string | undefined> {
  if (!form) return undefined;
  const claimed = form.get('client_id') ?? assertionIssuer(form.get('client_assertion'));
  if (!claimed || claimed.length > MAX_CLIENT_ID) return undefined;
  const client = await inTenant(runtime.database, tenantId, (sql) => findClient(sql, tenantId, claimed), true);
  return client?.clientId;
}
