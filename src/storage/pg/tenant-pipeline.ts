// One read-only statement in one round trip, with the app role and the tenant set for it alone
// (issue 14, docs/adr/0021-one-round-trip-reads.md).
//
// PostgreSQL's extended query protocol runs every Execute between two Syncs in one implicit
// transaction (protocol-flow.html, "Extended Query" and "Pipelining"). So the settings
// statement (role, tenant, read only: the same set_config(..., true) calls as BEGIN makes) and
// the statement itself are sent together, corked into one write, ended by a single Sync: the
// settings hold for that statement and end with its implicit transaction, exactly as they end
// at COMMIT. No BEGIN, no COMMIT, no statement of its own for the settings: one round trip
// where a read used to take three. node-postgres does not pipeline, so this is a Query that
// writes both statements' messages and hands only the second's results to its caller.
import pg from 'pg';

/** The settings statement: parsed once per connection, then only bound and executed. */
const SETTINGS = {
  name: 'hearth_read_settings',
  text:
    "SELECT set_config('role', 'hearth_app', true), set_config('jit', 'off', true), " +
    "set_config('app.tenant_id', $1, true), set_config('transaction_read_only', 'on', true)",
};

/** The parts of node-postgres's connection a Query writes to (lib/connection.js). */
interface WireConnection {
  parse(config: { text: string; name?: string; types?: unknown[] }): void;
  bind(config: { statement?: string; values: unknown[] }): void;
  execute(config: { portal?: string; rows?: number }): void;
  parsedStatements: Record<string, string | undefined>;
  submittedNamedStatements: Record<string, string | undefined>;
}

const known = (connection: WireConnection, name: string) =>
  connection.parsedStatements[name] !== undefined || connection.submittedNamedStatements[name] !== undefined;

/**
 * A Query whose messages are preceded by the settings statement's. The settings statement's
 * own result (one row, one CommandComplete) is swallowed; everything after it is the query's.
 */
class TenantPipelinedQuery extends pg.Query {
  private settingsPending = true;
  /** Statements this pipeline parses, in the order their ParseCompletes will arrive. */
  private readonly parsing: { name: string; text: string }[] = [];
  private parsesSeen = 0;
  private stopCounting?: () => void;

  constructor(
    private readonly tenantId: string,
    config: pg.QueryConfig & { callback: (error: Error | null, result?: pg.QueryResult) => void },
  ) {
    // Always the extended protocol: the settings must share the statement's implicit transaction.
    super({ ...config, queryMode: 'extended' } as pg.QueryConfig);
  }

  // Called by pg.Query#submit between cork() and uncork(): everything below is one write.
  prepare(connection: WireConnection & NodeJS.EventEmitter): void {
    // node-postgres books every ParseComplete under the active query's name, so this query
    // counts them itself to know which of its statements the server has parsed.
    const count = () => void this.parsesSeen++;
    connection.on('parseComplete', count);
    this.stopCounting = () => void connection.off('parseComplete', count);
    if (!known(connection, SETTINGS.name)) {
      connection.parse({ text: SETTINGS.text, name: SETTINGS.name, types: [] });
      connection.submittedNamedStatements[SETTINGS.name] = SETTINGS.text;
      this.parsing.push(SETTINGS);
    }
    connection.bind({ statement: SETTINGS.name, values: [this.tenantId] });
    connection.execute({});
    const { name, text } = this as unknown as { name?: string; text: string };
    if (name !== undefined && !known(connection, name)) this.parsing.push({ name, text });
    (pg.Query.prototype as unknown as { prepare(c: WireConnection): void }).prepare.call(this, connection);
  }

  /** Books each statement this pipeline parsed as parsed, and forgets those it did not. */
  private settle(connection: WireConnection): void {
    this.stopCounting?.();
    this.parsing.forEach((statement, index) => {
      delete connection.submittedNamedStatements[statement.name];
      if (index < this.parsesSeen) connection.parsedStatements[statement.name] = statement.text;
      else delete connection.parsedStatements[statement.name];
    });
  }

  handleDataRow(message: unknown): void {
    if (this.settingsPending) return;
    (pg.Query.prototype as unknown as { handleDataRow(m: unknown): void }).handleDataRow.call(this, message);
  }

  handleCommandComplete(message: unknown, connection: WireConnection): void {
    if (this.settingsPending) {
      this.settingsPending = false;
      return;
    }
    (pg.Query.prototype as unknown as { handleCommandComplete(m: unknown, c: WireConnection): void }).handleCommandComplete.call(this, message, connection);
  }

  handleError(error: Error, connection: WireConnection): void {
    this.settle(connection);
    (pg.Query.prototype as unknown as { handleError(e: Error, c: WireConnection): void }).handleError.call(this, error, connection);
  }

  handleReadyForQuery(connection: WireConnection): void {
    this.settle(connection);
    (pg.Query.prototype as unknown as { handleReadyForQuery(c: WireConnection): void }).handleReadyForQuery.call(this, connection);
  }
}

/** Runs `config` alone, in its own implicit transaction, as the app role of `tenantId`. */
export function queryAsTenant<R extends pg.QueryResultRow>(client: pg.ClientBase, tenantId: string, config: pg.QueryConfig): Promise<pg.QueryResult<R>> {
  return new Promise((resolve, reject) => {
    client.query(
      new TenantPipelinedQuery(tenantId, {
        ...config,
        callback: (error, result) => (error ? reject(error) : resolve(result as pg.QueryResult<R>)),
      }),
    );
  });
}
