// Criteria for conditional create/update/delete (FHIR R4 http.html#cond-update). Until the
// search engine lands (issue: Search), the foundation understands _id and identifier, the
// two parameters clients use for conditional writes; anything else is a clear 400.
import type { Criterion } from '../storage/resource-store.js';
import { badRequest } from './errors.js';

/** Parameters that never restrict the match (result-shaping only). */
const IGNORED = new Set(['_format', '_pretty', '_summary', '_elements']);

/** Parses `identifier=sys|val&_id=x` (optionally prefixed by `Type?` or `?`). */
export function parseConditionalCriteria(query: string | URLSearchParams, headerName: string): Criterion[] {
  const params = typeof query === 'string' ? new URLSearchParams(query.replace(/^[A-Za-z]*\?/, '')) : query;
  const criteria: Criterion[] = [];
  for (const [name, value] of params) {
    if (IGNORED.has(name)) continue;
    if (name === '_id') criteria.push({ kind: 'id', ids: value.split(',').filter(Boolean) });
    else if (name === 'identifier') criteria.push(identifierCriterion(value, headerName));
    else {
      throw badRequest(
        `${headerName}: parameter '${name}' is not supported for conditional operations yet (supported: _id, identifier)`,
        [headerName],
      );
    }
  }
  if (criteria.length === 0) throw badRequest(`${headerName}: no search criteria given`, [headerName]);
  return criteria;
}

/** Token syntax (search.html#token): [system]|[code], |code, code, system|. */
function identifierCriterion(raw: string, headerName: string): Criterion {
  const bar = findUnescapedBar(raw);
  if (bar < 0) return { kind: 'identifier', value: unescapeToken(raw) };
  const system = unescapeToken(raw.slice(0, bar));
  const value = unescapeToken(raw.slice(bar + 1));
  if (!system && !value) throw badRequest(`${headerName}: identifier '${raw}' has neither system nor value`, [headerName]);
  return { kind: 'identifier', system, value: value === '' ? undefined : value };
}

function findUnescapedBar(s: string): number {
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === '|') return i;
  }
  return -1;
}

const unescapeToken = (s: string) => s.replace(/\\([\\|,$])/g, '$1');
