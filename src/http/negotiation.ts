// Content negotiation (FHIR R4 http.html#mime-type): JSON only for now. XML or anything else
// in Accept, _format or Content-Type is refused with an OperationOutcome saying so.
import { FhirError } from '../core/errors.js';

const JSON_TYPES = new Set(['application/fhir+json', 'application/json', 'application/json+fhir']);
const FORMAT_ALIASES = new Set(['json', ...JSON_TYPES]);
const SUPPORTED = 'Hearth supports JSON only: application/fhir+json or application/json';

export type ResponseMediaType = 'application/fhir+json' | 'application/json';

const mediaType = (value: string) => value.split(';')[0].trim().toLowerCase();

/** The media type to answer with, or 406 when the client accepts nothing we produce. */
export function negotiateResponseType(accept: string | undefined, format: string | null): ResponseMediaType {
  if (format !== null) {
    const f = mediaType(format);
    if (!FORMAT_ALIASES.has(f)) throw new FhirError(406, { code: 'not-supported', diagnostics: `_format '${format}' is not supported. ${SUPPORTED}` });
    return f === 'application/json' ? 'application/json' : 'application/fhir+json';
  }
  if (!accept) return 'application/fhir+json';
  const ranges = accept.split(',').map((r) => ({ type: mediaType(r), q: quality(r) }));
  // RFC 9110 section 12.5.1: each candidate takes the q of the most specific range matching it.
  const legacyListed = ranges.some((r) => r.type === 'application/json+fhir');
  const fhir = legacyListed && !ranges.some((r) => r.type === 'application/fhir+json')
    ? qualityFor(ranges, 'application/json+fhir')
    : qualityFor(ranges, 'application/fhir+json');
  const json = qualityFor(ranges, 'application/json');
  if (fhir > 0 && fhir >= json) return 'application/fhir+json';
  if (json > 0) return 'application/json';
  throw new FhirError(406, { code: 'not-supported', diagnostics: `Cannot answer with any type in Accept '${accept}'. ${SUPPORTED}` });
}

function qualityFor(ranges: { type: string; q: number }[], candidate: string): number {
  const exact = ranges.find((r) => r.type === candidate);
  if (exact) return exact.q;
  const [major] = candidate.split('/');
  const partial = ranges.find((r) => r.type === `${major}/*`);
  if (partial) return partial.q;
  return ranges.find((r) => r.type === '*/*')?.q ?? 0;
}

function quality(range: string): number {
  const q = /;\s*q=([0-9.]+)/i.exec(range);
  return q ? Number(q[1]) : 1;
}

export type BodyKind = 'resource' | 'json-patch' | 'form';

/** How to read a request body from its Content-Type, or 415. */
export function bodyKindFor(contentType: string | undefined, method: string): BodyKind {
  const type = contentType ? mediaType(contentType) : '';
  if (JSON_TYPES.has(type)) return 'resource';
  if (type === 'application/json-patch+json' && method === 'PATCH') return 'json-patch';
  if (type === 'application/x-www-form-urlencoded' && method === 'POST') return 'form';
  const what = type ? `Content-Type '${type}'` : 'A missing Content-Type';
  const patch = method === 'PATCH' ? ', or application/json-patch+json for JSON Patch' : '';
  throw new FhirError(415, { code: 'not-supported', diagnostics: `${what} is not supported. ${SUPPORTED}${patch}` });
}
