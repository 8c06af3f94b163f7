// Which responses the compression middleware may compress. Its default filter asks the
// `compressible` media-type database, which does not know NDJSON (application/fhir+ndjson, the
// FHIR Bulk Data format of AuditEvent/$export-ndjson): exports of hundreds of megabytes went out
// uncompressed. NDJSON is text; everything else is as the default decides.
import compression from 'compression';
import type { Request, Response } from 'express';

export function shouldCompress(req: Request, res: Response): boolean {
  const type = String(res.getHeader('Content-Type') ?? '');
  return /^application\/([a-z0-9.-]+\+)?ndjson\b/i.test(type) || compression.filter(req, res);
}
