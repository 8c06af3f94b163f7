// SharedTerminology on PostgreSQL: the operator's (owner) connection writes the shared
// `terminology_*` tables (hearth_app may only read them), one transaction per `write`.
import type pg from 'pg';
import type { JsonObject } from '../../core/types.js';
import type { SharedTerminology, SharedTerminologyWriter, TerminologyResourceType } from '../shared-terminology.js';
import type { CodeSystemHeader, CodeSystemWriter } from '../terminology-store.js';
import { SHARED_TABLES } from './terminology-tables.js';
import { beginVersion } from './terminology-writer.js';
import { inOwnerTransaction } from './owner-transaction.js';

class PgSharedTerminologyWriter implements SharedTerminologyWriter {
  constructor(private readonly client: pg.ClientBase) {}

  beginCodeSystem(header: CodeSystemHeader, options?: { replace?: boolean }): Promise<CodeSystemWriter> {
    return beginVersion(this.client, SHARED_TABLES, '', header, options);
  }

  async hasCodeSystem(url: string, version: string): Promise<boolean> {
    const { rowCount } = await this.client.query(`SELECT 1 FROM ${SHARED_TABLES.codeSystem} WHERE url = $1 AND version = $2`, [url, version]);
    return (rowCount ?? 0) > 0;
  }

  async putResource(resourceType: TerminologyResourceType, resource: JsonObject, source: string): Promise<void> {
    const url = resource.url;
    if (typeof url !== 'string' || url === '') throw new Error(`A shared ${resourceType} needs a url`);
    const version = typeof resource.version === 'string' ? resource.version : '';
    const id = typeof resource.id === 'string' ? resource.id : url.replace(/[^A-Za-z0-9.-]+/g, '-').slice(-64);
    await this.client.query(
      'INSERT INTO terminology_resource (resource_type, url, version, id, source, content) VALUES ($1, $2, $3, $4, $5, $6) ' +
        'ON CONFLICT (resource_type, url, version) DO UPDATE SET id = EXCLUDED.id, source = EXCLUDED.source, content = EXCLUDED.content',
      [resourceType, url, version, id, source, JSON.stringify(resource)],
    );
  }

  async bumpGeneration(): Promise<void> {
    await this.client.query('UPDATE terminology_generation SET generation = generation + 1');
  }
}

export class PgSharedTerminology implements SharedTerminology {
  constructor(private readonly pool: pg.Pool) {}

  async write<T>(work: (writer: SharedTerminologyWriter) => Promise<T>): Promise<T> {
    return inOwnerTransaction(this.pool, (client) => work(new PgSharedTerminologyWriter(client)));
  }
}
