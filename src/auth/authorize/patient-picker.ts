// The patient picker of a standalone launch (SMART App Launch 2.x scopes-and-launch-context.html,
// launch/patient): searches the tenant's Patients by name through the FHIR service (FHIR R4
// search, string parameter `name`, keyset pages through `_page`) as the administrator, because
// the user has no token yet; the chosen id is checked to exist before it becomes the context.
import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import { ANONYMOUS_ACCESS, type FhirRequest, type FhirResponse } from '../../core/types.js';
import { FhirError } from '../../core/errors.js';
import { patientPickerPage, type PatientChoice } from '../pages/patient-picker-page.js';
import { checkCsrf, currentSession, FRONT_PATHS, redirectToStage, sessionExpired, type FlowContext, type TenantRequest } from './flow-context.js';
import { readForm, sendPage } from './http-helpers.js';
import type { AuthorizationSession } from './session-store.js';
import { bodyValue } from '../../core/response-body.js';

export const PICKER_PAGE_SIZE = 10;
const PATIENT_ID = /^[A-Za-z0-9.-]{1,64}$/;

function fhirGet(ctx: FlowContext, tenant: TenantRequest, path: string[], query: URLSearchParams): Promise<FhirResponse> {
  const request: FhirRequest = {
    method: 'GET',
    tenantId: tenant.tenantId,
    baseUrl: tenant.fhirBase,
    path,
    query,
    prefer: {},
    access: ANONYMOUS_ACCESS,
    requestId: randomUUID(),
  };
  return ctx.deps.service.handle(request);
}

function bodyOf(response: FhirResponse): Record<string, any> | undefined {
  if (!response.body) return undefined;
  return bodyValue(response.body) as Record<string, any>;
}

/** A display name for a Patient resource: the first name's text, or its given and family parts. */
export function displayName(patient: Record<string, any>): string {
  const names: any[] = Array.isArray(patient.name) ? patient.name : [];
  const name = names.find((n) => n?.use === 'official') ?? names[0];
  if (!name) return `Patient/${patient.id}`;
  if (typeof name.text === 'string' && name.text.trim()) return name.text.trim();
  const parts = [...(Array.isArray(name.given) ? name.given : []), name.family].filter((p) => typeof p === 'string' && p);
  return parts.length ? parts.join(' ') : `Patient/${patient.id}`;
}

function toChoice(patient: Record<string, any>): PatientChoice {
  const choice: PatientChoice = { id: String(patient.id), name: displayName(patient) };
  if (typeof patient.birthDate === 'string') choice.birthDate = patient.birthDate;
  return choice;
}

/** One page of Patients matching `name`, and the `_page` cursor of the next page. */
export async function searchPatients(ctx: FlowContext, tenant: TenantRequest, name: string, page?: string): Promise<{ patients: PatientChoice[]; next?: string }> {
  const query = new URLSearchParams({ _count: String(PICKER_PAGE_SIZE) });
  if (name) query.set('name', name);
  if (page) query.set('_page', page);
  const bundle = bodyOf(await fhirGet(ctx, tenant, ['Patient'], query));
  const patients = (bundle?.entry ?? [])
    .filter((e: any) => e?.resource?.resourceType === 'Patient' && (e.search?.mode ?? 'match') === 'match')
    .map((e: any) => toChoice(e.resource));
  const nextUrl: string | undefined = (bundle?.link ?? []).find((l: any) => l?.relation === 'next')?.url;
  const next = nextUrl ? (new URL(nextUrl).searchParams.get('_page') ?? undefined) : undefined;
  return next ? { patients, next } : { patients };
}

/** The Patient with `id`, or undefined when it does not exist (or the id is not one). */
export async function readPatient(ctx: FlowContext, tenant: TenantRequest, id: string): Promise<Record<string, any> | undefined> {
  if (!PATIENT_ID.test(id)) return undefined;
  try {
    const response = await fhirGet(ctx, tenant, ['Patient', id], new URLSearchParams());
    return response.status === 200 ? bodyOf(response) : undefined;
  } catch (error) {
    if (error instanceof FhirError && (error.status === 404 || error.status === 410)) return undefined;
    throw error;
  }
}

async function renderPicker(ctx: FlowContext, res: Response, tenant: TenantRequest, session: AuthorizationSession, name: string, page: string | undefined, status = 200, error?: string): Promise<void> {
  const action = `${tenant.basePath}${FRONT_PATHS.patient}`;
  let result: { patients: PatientChoice[]; next?: string };
  try {
    result = await searchPatients(ctx, tenant, name, page);
  } catch (failure) {
    if (!(failure instanceof FhirError) || failure.status >= 500) throw failure;
    // A bad search (an unusable page cursor): start again from the first page.
    result = await searchPatients(ctx, tenant, '', undefined);
    error ??= 'That search could not be run; showing all patients.';
  }
  const nextHref = result.next ? `${action}?${new URLSearchParams({ name, page: result.next }).toString()}` : undefined;
  sendPage(res, status, (nonce) =>
    patientPickerPage({ nonce, action, csrfToken: session.csrfToken, clientName: session.request.clientName, query: name, patients: result.patients, nextHref, error }),
  );
}

export async function showPicker(ctx: FlowContext, req: Request, res: Response, tenant: TenantRequest): Promise<void> {
  const session = await currentSession(ctx, req, tenant);
  if (!session) return sessionExpired(res);
  if (session.stage !== 'patient') return redirectToStage(res, tenant, session);
  const params = new URLSearchParams(req.originalUrl.split('?')[1] ?? '');
  const name = (params.get('name') ?? '').trim().slice(0, 100);
  const page = params.get('page') ?? undefined;
  await renderPicker(ctx, res, tenant, session, name, page && page.length <= 1024 ? page : undefined);
}

export async function submitPicker(ctx: FlowContext, req: Request, res: Response, tenant: TenantRequest): Promise<void> {
  const form = await readForm(req);
  const session = await currentSession(ctx, req, tenant);
  if (!session) return sessionExpired(res);
  if (!checkCsrf(res, session, form)) return;
  if (session.stage !== 'patient') return redirectToStage(res, tenant, session);
  const id = form.get('patient') ?? '';
  const patient = await readPatient(ctx, tenant, id);
  if (!patient) return renderPicker(ctx, res, tenant, session, '', undefined, 400, 'Choose a patient from the list.');
  const next = await ctx.sessions.advance(session, 'patient', { stage: 'consent', patient: String(patient.id) });
  if (!next) return sessionExpired(res);
  redirectToStage(res, tenant, next);
}
