// The code system a token parameter's `code`-typed elements take their codes from
// (issue 12: "Tokens on code-typed elements get their binding's system"). A `code` element has
// no system of its own; its required binding's ValueSet names it. src/core/generated/
// code-systems.json maps element paths to that system (scripts/generate-code-systems.ts, from
// the R4 definitions). A parameter gets a system only when every branch of its expression for
// the type is a plain path to such an element and all name the same system.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../core/project-root.js';

let systemsByPath: Readonly<Record<string, string>> | undefined;

function codeSystems(): Readonly<Record<string, string>> {
  systemsByPath ??= JSON.parse(readFileSync(join(projectRoot(), 'src/core/generated/code-systems.json'), 'utf8')) as Record<string, string>;
  return systemsByPath;
}

/** A branch that is only a path of element names (`Patient.gender`, `Observation.component.code`). */
const PLAIN_PATH = /^[A-Z][A-Za-z]*(\.[a-z][A-Za-z]*)+$/;

/** The system of the `code` elements `expression` (branches joined by ' | ') reads, or undefined. */
export function boundCodeSystem(expression: string): string | undefined {
  if (expression === '') return undefined;
  const systems = new Set<string | undefined>();
  for (const branch of expression.split('|').map((b) => b.trim())) {
    if (!PLAIN_PATH.test(branch)) return undefined;
    systems.add(Object.hasOwn(codeSystems(), branch) ? codeSystems()[branch] : undefined);
  }
  const [only] = systems;
  return systems.size === 1 ? only : undefined;
}
