// Plain-language descriptions of SMART App Launch 2.x scopes (scopes-and-launch-context.html)
// for the consent page: what the user lets the app do, one sentence per scope. Pure.
import { parseResourceScope, type Permission, type ScopeContext } from '../../core/smart-scopes.js';

const VERBS: Readonly<Record<Permission, string>> = { c: 'create', r: 'read', u: 'update', d: 'delete', s: 'search' };

const FIXED: Readonly<Record<string, string>> = {
  openid: 'Confirm your identity to the app (OpenID Connect sign-in).',
  fhirUser: 'Know who you are in this record system (your user record, such as a Practitioner or Patient).',
  profile: 'Know who you are in this record system (your user record).',
  offline_access: 'Keep access when you are not using the app, until you or an administrator revoke it.',
  online_access: 'Keep access while you remain signed in.',
  launch: 'Receive the patient and encounter that are open in your EHR.',
  'launch/patient': 'Know which patient you selected.',
  'launch/encounter': 'Know which encounter you selected.',
};

const WHOSE: Readonly<Record<ScopeContext, string>> = {
  patient: "the selected patient's",
  user: 'the',
  system: 'all',
};

const SUFFIX: Readonly<Record<ScopeContext, string>> = {
  patient: '',
  user: ' that you are allowed to see',
  system: ' on this server, without a user present',
};

function listOf(words: string[]): string {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

/** A plain-language sentence for `scope`. */
export function describeScope(scope: string): string {
  const fixed = FIXED[scope];
  if (fixed) return fixed;
  const parsed = parseResourceScope(scope);
  if (!parsed) return `Use the permission "${scope}" (not described by this server).`;
  const verbs = [...parsed.permissions].map((p) => VERBS[p]);
  const what = parsed.resourceType === '*' ? 'records of every kind' : `${parsed.resourceType} records`;
  const verbText = listOf(verbs);
  let sentence = `${verbText.charAt(0).toUpperCase()}${verbText.slice(1)} ${WHOSE[parsed.context]} ${what}${SUFFIX[parsed.context]}`;
  if (parsed.constraints) {
    const conditions = [...parsed.constraints].map(([name, value]) => `${name} is ${value}`);
    sentence += `, only those where ${listOf(conditions)}`;
  }
  return `${sentence}.`;
}
