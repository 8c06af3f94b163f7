// How the authorization server hands its security events to the audit trail (issue 11
// "Recording"; IHE BALP, DICOM PS3.15 A.5.3.8 "User Authentication" for login / logout, and the
// token endpoint's issues and refusals): one recorder per request knows the request's id,
// method, path, client address and start, and the tenant. Only identifiers travel: the client
// id of a registered client, the account id, fhirUser, the access token's jti; never a token,
// a code, a password or anything typed into a form.
//
// Durability (the sink commits before it returns): a success is recorded before anything
// usable leaves the server, and a failure to record it throws SecurityAuditUnavailable, which
// the endpoint turns into a 503 that grants nothing. A refusal is recorded too, but a failure to
// record it is only logged: the refusal is sent anyway.
import type { Request, Response } from 'express';
import type { SecurityAuditEntry } from '../audit/security-sink.js';
import type { AuthDeps } from './contracts.js';

export type SecurityCaller = SecurityAuditEntry['caller'];

/** The audit trail could not take a success event: the endpoint answers 503 and grants nothing. */
export class SecurityAuditUnavailable extends Error {
  override name = 'SecurityAuditUnavailable';
  constructor(readonly event: SecurityAuditEntry['event'], options?: { cause?: unknown }) {
    super(`the security event ${event} could not be recorded`, options);
  }
}

export interface SecurityRecorder {
  /** Records a success (login, token-issued, logout); throws SecurityAuditUnavailable when it cannot. */
  success(event: SecurityAuditEntry['event'], status: number, caller: SecurityCaller): Promise<void>;
  /** Records a refusal (login-failed, token-refused); a failure to record is logged, not thrown. */
  refusal(event: SecurityAuditEntry['event'], status: number, code: string | undefined, caller: SecurityCaller): Promise<void>;
}

/** Keeps only the fields that are set, so an entry never carries `subject: undefined` and the like. */
function definedOnly(caller: SecurityCaller): SecurityCaller {
  const kept: SecurityCaller = {};
  for (const key of ['subject', 'clientId', 'fhirUser', 'tokenId'] as const) {
    const value = caller[key];
    if (typeof value === 'string' && value !== '') kept[key] = value;
  }
  return kept;
}

/**
 * The recorder of one request to a route of an auth router mounted below the tenant's base
 * (req.path is then the path below the base, e.g. /auth/token). The request id is the one the
 * HTTP layer assigned (res.locals.requestId, X-Request-Id); the network address is the socket's
 * peer, as the FHIR request takes it (src/http/fhir-request.ts).
 */
export function securityRecorder(
  deps: Pick<AuthDeps, 'audit' | 'logger'>,
  req: Request,
  res: Response,
  tenant: { tenantId: string; tenantBase: string },
  started: Date,
): SecurityRecorder {
  const requestId = res.locals.requestId;
  const request: NonNullable<SecurityAuditEntry['request']> = { method: req.method, path: req.path.replace(/^\/+/, '') };
  if (typeof requestId === 'string') request.id = requestId;
  const network = req.socket?.remoteAddress;

  const entry = (event: SecurityAuditEntry['event'], status: number, code: string | undefined, caller: SecurityCaller): SecurityAuditEntry => {
    const built: SecurityAuditEntry = { event, status, caller: definedOnly(caller), request, started };
    if (code !== undefined) built.code = code;
    if (network) built.network = network;
    return built;
  };
  const record = (built: SecurityAuditEntry) => deps.audit ? deps.audit.record(tenant.tenantId, tenant.tenantBase, built) : Promise.resolve();

  return {
    async success(event, status, caller) {
      try {
        await record(entry(event, status, undefined, caller));
      } catch (error) {
        deps.logger.error({ err: error, requestId, event }, 'security audit event could not be recorded; refusing the request');
        throw new SecurityAuditUnavailable(event, { cause: error });
      }
    },
    async refusal(event, status, code, caller) {
      try {
        await record(entry(event, status, code, caller));
      } catch (error) {
        deps.logger.error({ err: error, requestId, event }, 'security audit event could not be recorded; the refusal is sent anyway');
      }
    },
  };
}
