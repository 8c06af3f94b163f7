// GET /metrics of a `hearth worker` process (issue 13; docs/metrics.md): delivery metrics are
// counted where deliveries happen, so a worker process serves its own on a port of its own
// (HEARTH_WORKER_METRICS_PORT). With HEARTH_METRICS_TOKEN set, a scrape must present it as a
// bearer token (RFC 6750); without one, the server only listens on loopback.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HearthMetrics } from '../core/metrics.js';
import { sameSecret } from './metrics-route.js';

export interface MetricsServerOptions {
  metrics: HearthMetrics;
  host: string;
  port: number;
  token?: string;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export async function startMetricsServer(options: MetricsServerOptions): Promise<{ port: number; close(): Promise<void> }> {
  if (!options.token && !LOOPBACK.has(options.host)) {
    throw new Error(`the worker's metrics would listen on ${options.host} without HEARTH_METRICS_TOKEN: set one, or listen on loopback`);
  }
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    if (options.token) {
      const presented = /^Bearer +(.+?) *$/i.exec(req.headers.authorization ?? '')?.[1];
      if (presented === undefined || !sameSecret(presented, options.token)) {
        res.writeHead(401, { 'WWW-Authenticate': 'Bearer' }).end();
        return;
      }
    }
    options.metrics.text().then(
      (text) => res.writeHead(200, { 'Content-Type': options.metrics.contentType, 'Cache-Control': 'no-store' }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
