// The FHIR base URL a load is written for (http.html#root): entry urls in loaded bundles are
// relative to it, and absolute ones naming it are recognised as this server's.

/**
 * `/fhir` or `/t/{tenant}/fhir` on `origin` (HEARTH_PUBLIC_BASE_URL); nothing is fetched from it.
 */
export const tenantBaseUrl = (tenantId: string, origin = 'http://localhost'): string =>
  tenantId === 'default' ? `${origin}/fhir` : `${origin}/t/${encodeURIComponent(tenantId)}/fhir`;
