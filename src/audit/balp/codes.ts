// The codes an AuditEvent of this server uses (FHIR R4 auditevent.html and its value sets,
// IHE Basic Audit Log Patterns (BALP) 1.1 for RESTful operations, IHE IUA for token issue,
// DICOM PS3.15 A.5 / PS3.16 for the DICOM codes). One place, so every event spells them alike.
//
// Security events use DICOM 110114 "User Authentication", the type DICOM and IHE give to any
// attempt to authenticate, successful or not (the outcome tells which): login and logout with
// their DICOM subtypes 110122 / 110123, and token issue and refusal with the IUA "Get Access
// Token" [ITI-71] subtype, as IUA's audit profile does. DICOM 110113 "Security Alert" is meant
// for detected security conditions (a node failing authentication, a changed security
// configuration, an emergency override), not for a routine refusal of bad credentials, so it
// is not used for these four.
import type { Coding } from 'fhir/r4.js';

const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const RESTFUL_INTERACTION = 'http://hl7.org/fhir/restful-interaction';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';

const coding = (system: string, code: string, display: string): Coding => Object.freeze({ system, code, display });

/** AuditEvent.type: a RESTful operation, or a user authentication (security) event. */
export const EVENT_TYPE = Object.freeze({
  rest: coding('http://terminology.hl7.org/CodeSystem/audit-event-type', 'rest', 'Restful Operation'),
  userAuthentication: coding(DCM, '110114', 'User Authentication'),
});

/** AuditEvent.subtype of a RESTful event: the interaction (restful-interaction, R4). */
export function interactionSubtype(code: string): Coding {
  return coding(RESTFUL_INTERACTION, code, code);
}

/** AuditEvent.subtype of a security event. */
export const SECURITY_SUBTYPE = Object.freeze({
  login: coding(DCM, '110122', 'Login'),
  logout: coding(DCM, '110123', 'Logout'),
  getAccessToken: coding('urn:ihe:event-type-code', 'ITI-71', 'Get Access Token'),
});

/** AuditEvent.agent.type: who played which part (BALP: the client is the source, the server the destination). */
export const AGENT_TYPE = Object.freeze({
  source: coding(DCM, '110153', 'Source Role ID'),
  destination: coding(DCM, '110152', 'Destination Role ID'),
  /** The user on whose behalf the client acts. */
  informationRecipient: coding('http://terminology.hl7.org/CodeSystem/v3-ParticipationType', 'IRCP', 'information recipient'),
  /** BALP: the user agent whose `policy` holds an OAuth token's id. */
  oauthUser: coding('https://profiles.ihe.net/ITI/BALP/CodeSystem/UserAgentTypes', 'UserOauthAgent', 'User OAuth Agent participant'),
});

/** AuditEvent.agent.network.type (network-type, R4): 1 machine name, 2 IP address, 5 URI. */
export const NETWORK_TYPE = Object.freeze({ machineName: '1', ipAddress: '2', uri: '5' } as const);

/** AuditEvent.source.type: this server is an application server (security-source-type 4). */
export const SOURCE_TYPE = coding('http://terminology.hl7.org/CodeSystem/security-source-type', '4', 'Application Server');

/** AuditEvent.entity.type and .role per BALP for each kind of entity. */
export const ENTITY = Object.freeze({
  resource: { type: coding(ENTITY_TYPE, '2', 'System Object'), role: coding(OBJECT_ROLE, '4', 'Domain Resource') },
  patient: { type: coding(ENTITY_TYPE, '1', 'Person'), role: coding(OBJECT_ROLE, '1', 'Patient') },
  query: { type: coding(ENTITY_TYPE, '2', 'System Object'), role: coding(OBJECT_ROLE, '24', 'Query') },
  /** BALP: the transport's request id (X-Request-Id), to correlate with server logs. */
  requestId: { type: coding('https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType', 'XrequestId', 'transport specific unique identifier where http X-Request-Id is used') },
});

/** AuditEvent.outcome (audit-event-outcome, R4). */
export type OutcomeCode = '0' | '4' | '8' | '12';

/** AuditEvent.action (audit-event-action, R4). */
export type ActionCode = 'C' | 'R' | 'U' | 'D' | 'E';
