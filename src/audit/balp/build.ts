// Builds the AuditEvent resources that record one interaction (issue 11; FHIR R4
// auditevent.html; IHE Basic Audit Log Patterns 1.1, "RESTful activities": Create, Read,
// Update, Delete, Query, and the IUA / DICOM user authentication events). Pure: no I/O, the
// ids come from `options.newId` (time-ordered UUIDs, version 7, by default).
//
// One event per patient concerned, so each patient's access history is complete: a search
// whose results hold data of three patients yields three events, each naming its patient
// (and the same query); an interaction concerning no patient yields one event. A refused or
// failed interaction (outcome not 0) yields one event that carries no patient and no version
// (nothing of the stored data): only what the client itself sent (the target it named and its
// query).
import { uuidV7 } from '../../core/uuid-v7.js';
import type { AuditEvent, AuditEventEntity, Coding } from 'fhir/r4.js';
import { buildAgents } from './agents.js';
import { EVENT_TYPE, interactionSubtype, SECURITY_SUBTYPE, SOURCE_TYPE, ENTITY, type ActionCode } from './codes.js';
import { distinctPatients, patientEntity, queryEntity, requestEntity, resourceEntity } from './entities.js';
import type { AuditInput, BuildOptions, RestEvent, RestInteraction, SecurityEvent } from './input.js';
import { outcomeOf } from './outcome.js';

const ACTIONS: Readonly<Record<RestInteraction, ActionCode>> = {
  create: 'C',
  read: 'R',
  vread: 'R',
  'history-instance': 'R',
  update: 'U',
  patch: 'U',
  delete: 'D',
  // Queries are "execute" in BALP; so are history over a type or the system, and bundles.
  'search-type': 'E',
  'search-system': 'E',
  'history-type': 'E',
  'history-system': 'E',
  operation: 'E',
  batch: 'E',
  transaction: 'E',
};

/** Interactions whose request is a query, recorded as a Query entity. */
const QUERIES: ReadonlySet<RestInteraction> = new Set(['search-type', 'search-system', 'history-type', 'history-system']);

function restClassification(event: RestEvent): { subtype: Coding[]; action: ActionCode } {
  if (event.interaction !== 'operation') return { subtype: [interactionSubtype(event.interaction)], action: ACTIONS[event.interaction] };
  const op = event.operation;
  if (!op || !/^[A-Za-z][A-Za-z0-9_-]*$/.test(op.name)) throw new Error('An operation event needs the operation name');
  const named: Coding = { code: op.name, display: `$${op.name}` };
  if (op.definition) named.system = op.definition;
  return { subtype: [interactionSubtype('operation'), named], action: op.action ?? 'E' };
}

function securityClassification(event: SecurityEvent): { subtype: Coding[]; failed: boolean } {
  switch (event.event) {
    case 'login':
      return { subtype: [{ ...SECURITY_SUBTYPE.login }], failed: false };
    case 'login-failed':
      return { subtype: [{ ...SECURITY_SUBTYPE.login }], failed: true };
    case 'logout':
      return { subtype: [{ ...SECURITY_SUBTYPE.logout }], failed: false };
    case 'token-issued':
      return { subtype: [{ ...SECURITY_SUBTYPE.getAccessToken }], failed: false };
    case 'token-refused':
      return { subtype: [{ ...SECURITY_SUBTYPE.getAccessToken }], failed: true };
    default:
      throw new Error(`Unknown security event ${JSON.stringify((event as SecurityEvent).event)}`);
  }
}

export function buildAuditEvents(input: AuditInput, options: BuildOptions = {}): AuditEvent[] {
  // Time-ordered ids: the trail's id index grows at its right edge (src/core/uuid-v7.ts).
  const newId = options.newId ?? (() => uuidV7(input.recorded.getTime()));
  const { event } = input;
  const classification =
    event.kind === 'rest'
      ? { type: EVENT_TYPE.rest, ...restClassification(event), failed: false }
      : { type: EVENT_TYPE.userAuthentication, ...securityClassification(event), action: 'E' as const };
  const { outcome, outcomeDesc } = outcomeOf(input.outcome.status, input.outcome.code, classification.failed);
  const succeeded = outcome === '0';

  const shared: AuditEventEntity[] = [];
  if (event.kind === 'rest') {
    for (const resource of input.entities ?? []) shared.push(resourceEntity(resource, succeeded));
    if (QUERIES.has(event.interaction)) shared.push(queryEntity(input.request?.query ?? '', input.request?.method, input.request?.path));
  }
  const request = requestEntity(input.request?.id, event.kind === 'rest' ? event.bundleEntry : undefined);
  if (request) shared.push(request);
  const patients = succeeded ? distinctPatients(input.patients) : [];

  const recorded = input.recorded.toISOString();
  const agent = buildAgents(input);
  const source: AuditEvent['source'] = { observer: { identifier: { value: input.server.observer } }, type: [{ ...SOURCE_TYPE }] };
  if (input.server.tenantBase) source.site = input.server.tenantBase;

  const one = (patient: string | undefined, copy: boolean): AuditEvent => {
    const entity = patient === undefined ? shared : [...shared, patientEntity(patient)];
    const audit: AuditEvent = {
      resourceType: 'AuditEvent',
      id: newId(),
      meta: { versionId: '1', lastUpdated: recorded },
      type: { ...classification.type },
      subtype: classification.subtype,
      action: classification.action,
      period: { start: input.period.start.toISOString(), end: input.period.end.toISOString() },
      recorded,
      outcome,
      ...(outcomeDesc ? { outcomeDesc } : {}),
      agent,
      source,
      ...(entity.length > 0 ? { entity } : {}),
    };
    // Events of one interaction share no objects: a consumer may change one safely. The last
    // event built may keep the shared parts (nothing else holds them); the others get copies.
    return copy ? structuredClone(audit) : audit;
  };
  return patients.length === 0 ? [one(undefined, false)] : patients.map((patient, i) => one(patient, i < patients.length - 1));
}

/** The patients an event is about (its Patient-role entities), for the audit table's `patients` column. */
export function patientsOf(audit: AuditEvent): string[] {
  return (audit.entity ?? [])
    .filter((e) => e.role?.system === ENTITY.patient.role.system && e.role?.code === ENTITY.patient.role.code && e.what?.reference)
    .map((e) => e.what!.reference!);
}
