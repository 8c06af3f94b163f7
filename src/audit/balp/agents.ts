// AuditEvent.agent for one interaction (FHIR R4 auditevent.html; IHE BALP RESTful and OAuth
// patterns): the client application as the source (with the network address it called
// from), the user it acts for when there is one (requestor), and this server as the
// destination. The token's `jti` goes in the requestor's `policy`; the token never does.
import { isIP } from 'node:net';
import type { AuditEventAgent } from 'fhir/r4.js';
import { AGENT_TYPE, NETWORK_TYPE } from './codes.js';
import type { AuditInput } from './input.js';

const ANONYMOUS = 'anonymous';

/** The user a caller acts for: its fhirUser, else a subject that is neither the client itself nor anonymous. */
function userOf(caller: AuditInput['caller']): { fhirUser?: string; subject?: string } | undefined {
  const subject = caller.subject && caller.subject !== ANONYMOUS && caller.subject !== caller.clientId ? caller.subject : undefined;
  if (caller.fhirUser) return { fhirUser: caller.fhirUser, subject: caller.subject !== ANONYMOUS ? caller.subject : undefined };
  return subject ? { subject } : undefined;
}

function network(address: string): AuditEventAgent['network'] {
  return { address, type: isIP(address) ? NETWORK_TYPE.ipAddress : NETWORK_TYPE.machineName };
}

export function buildAgents(input: AuditInput): AuditEventAgent[] {
  const { caller } = input;
  const user = userOf(caller);
  const policy = caller.tokenId ? { policy: [caller.tokenId] } : {};

  const client: AuditEventAgent = { type: { coding: [{ ...AGENT_TYPE.source }] }, requestor: user === undefined };
  if (caller.clientId) client.who = { identifier: { value: caller.clientId } };
  // No client id: the open mode's anonymous caller, or a token naming no client.
  else client.name = !caller.subject || caller.subject === ANONYMOUS ? ANONYMOUS : 'unidentified client';
  if (input.network) client.network = network(input.network);
  if (!user) Object.assign(client, policy);
  const agents: AuditEventAgent[] = [client];

  if (user) {
    const coding = [{ ...AGENT_TYPE.informationRecipient }];
    if (caller.tokenId) coding.push({ ...AGENT_TYPE.oauthUser });
    const agent: AuditEventAgent = { type: { coding }, requestor: true, ...policy };
    if (user.fhirUser) {
      agent.who = { reference: user.fhirUser };
      if (user.subject && user.subject !== user.fhirUser) agent.altId = user.subject;
    } else {
      agent.who = { identifier: { value: user.subject } };
    }
    agents.push(agent);
  }

  const server: AuditEventAgent = {
    type: { coding: [{ ...AGENT_TYPE.destination }] },
    who: { identifier: { value: input.server.observer } },
    requestor: false,
  };
  if (input.server.tenantBase) server.network = { address: input.server.tenantBase, type: NETWORK_TYPE.uri };
  agents.push(server);
  return agents;
}
