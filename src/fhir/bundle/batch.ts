// batch (FHIR R4 http.html#transaction, "batch"): each entry on its own, in order, through the
// full service path (its own database transaction, authorization and audit); one entry failing
// does not affect the others, whatever the failure: an unexpected one is that entry's 500 and is
// handed up (FhirResponse.unexpectedErrors) to be logged. Entries may not refer to each other by
// fullUrl: a batch has no identity resolution, so such an entry fails with 400 (http.html#brules).
import { toOutcome } from '../../core/errors.js';
import type { FhirRequest, FhirResponse, JsonObject } from '../../core/types.js';
import { entryError, type BundleEntryRequest } from './entries.js';
import { entryResponse, failedEntry } from './responses.js';

/** FhirService.handle for one entry. */
export type HandleEntry = (req: FhirRequest) => Promise<FhirResponse>;
/** Records an entry refused here, before it reached handle() (the audit trail records every entry). */
export type RecordRefusal = (req: FhirRequest, error: unknown) => Promise<void>;

export async function processBatch(outer: FhirRequest, entries: BundleEntryRequest[], handle: HandleEntry, recordRefusal: RecordRefusal): Promise<FhirResponse> {
  const local = new Set(entries.flatMap((e) => (e.fullUrl?.startsWith('urn:') ? [e.fullUrl] : [])));
  const responses: JsonObject[] = [];
  const unexpectedErrors: unknown[] = [];
  for (const entry of entries) {
    try {
      const linked = local.size > 0 && entry.resource !== undefined ? firstLink(entry.resource, local) : undefined;
      if (linked) {
        const error = entryError(entry.index, 'resource', `refers to ${linked}, another entry of the batch; batch entries are independent (use a transaction)`);
        await recordRefusal(entry.request, error);
        throw error;
      }
      const result = await handle(entry.request);
      if (result.unexpectedErrors) unexpectedErrors.push(...result.unexpectedErrors);
      responses.push(entryResponse(outer, result));
    } catch (error) {
      // Whatever failed, it is this entry's response (a 500 for a bug), never the batch's.
      const reply = toOutcome(error, outer.requestId);
      if (reply.unexpected) unexpectedErrors.push(error);
      responses.push(failedEntry(reply));
    }
  }
  const response: FhirResponse = { status: 200, headers: {}, body: { kind: 'json', value: { resourceType: 'Bundle', type: 'batch-response', entry: responses } } };
  if (unexpectedErrors.length > 0) response.unexpectedErrors = unexpectedErrors;
  return response;
}

/** The first string in `value` that is one of `urls`. */
function firstLink(value: unknown, urls: ReadonlySet<string>): string | undefined {
  if (typeof value === 'string') return urls.has(value) ? value : undefined;
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = firstLink(item, urls);
      if (found) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') return firstLink(Object.values(value), urls);
  return undefined;
}
