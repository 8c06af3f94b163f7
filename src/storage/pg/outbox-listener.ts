// LISTEN hearth_outbox (migration 0023's trigger notifies on the commit of a transaction that
// appended outbox rows, with its tenant as payload), on a connection of its own, reconnecting
// after errors. Not used on the embedded database: its pool has one connection, which LISTEN
// would keep; there the relay is nudged in-process and polls.
import pg from 'pg';

export async function listenForOutbox(connectionString: string, onTenant: (tenantId: string) => void, onError: (error: unknown) => void): Promise<() => Promise<void>> {
  let client: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString });
    c.on('notification', (n) => {
      if (n.channel === 'hearth_outbox' && n.payload) onTenant(n.payload);
    });
    c.on('error', (error) => {
      onError(error);
      void c.end().catch(() => undefined);
      if (client === c) client = undefined;
      if (!closed) retry = setTimeout(() => void connect().catch(onError), 1000);
    });
    await c.connect();
    await c.query('LISTEN hearth_outbox');
    if (closed) await c.end();
    else client = c;
  };
  await connect();
  return async () => {
    closed = true;
    clearTimeout(retry);
    await client?.end().catch(() => undefined);
  };
}
