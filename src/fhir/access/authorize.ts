// Authorization of one interaction, the single entry every path calls before touching data:
// the scope decision (scope-check.ts), then the deployment's own policy hook.
import type { FhirRequest } from '../../core/types.js';
import type { InteractionHooks, InteractionTarget } from '../hooks.js';
import { checkScopes } from './scope-check.js';

export async function authorize(hooks: InteractionHooks, request: FhirRequest, target: InteractionTarget): Promise<void> {
  checkScopes(request.access, target);
  await hooks.authorize(request, target);
}
