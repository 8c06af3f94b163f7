// A partner FHIR endpoint under the test's control (issue 13 "Tests"): a real HTTP server on
// 127.0.0.1 that keeps what it is sent (PUT Type/id, conditional PUT by identifier, DELETE,
// POST notifications) and answers as the test says: 200, an error status with headers and an
// OperationOutcome, or no answer at all (hang). It records every request, so tests can check
// what arrived, how often and in which order.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PartnerRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
}

export type PartnerAnswer = 'ok' | 'hang' | { status: number; headers?: Record<string, string>; body?: unknown };

export interface StoredAtPartner {
  /** The sender's meta.versionId of the last version the partner took. */
  versionId: string | undefined;
  body: Record<string, unknown> | null;
  /** How many writes of this resource it applied. */
  writes: number;
}

export class PartnerServer {
  readonly requests: PartnerRequest[] = [];
  /** Resources by `Type/id` (PUT Type/id) or `Type?identifier=...` (conditional). */
  readonly resources = new Map<string, StoredAtPartner>();
  /** Decides each answer; default: 'ok'. */
  answer: (request: PartnerRequest) => PartnerAnswer = () => 'ok';
  private server?: Server;
  private readonly hanging = new Set<ServerResponse>();
  origin = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Answers `status` the next `n` times, then 'ok'. */
  failNext(n: number, answer: PartnerAnswer): void {
    let left = n;
    this.answer = () => (left-- > 0 ? answer : 'ok');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const request: PartnerRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
    this.requests.push(request);
    const answer = this.answer(request);
    if (answer === 'hang') {
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
      return;
    }
    if (answer !== 'ok') {
      res.writeHead(answer.status, { 'content-type': 'application/fhir+json', ...answer.headers });
      res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
      return;
    }
    const path = decodeURIComponent(request.url.replace(/^\/fhir/, '').replace(/^\//, ''));
    if (request.method === 'PUT') {
      const body = JSON.parse(request.body) as Record<string, unknown>;
      const key = path;
      const stored = this.resources.get(key);
      this.resources.set(key, { versionId: (body.meta as { versionId?: string } | undefined)?.versionId, body, writes: (stored?.writes ?? 0) + 1 });
      res.writeHead(stored ? 200 : 201, { 'content-type': 'application/fhir+json' });
      res.end(JSON.stringify(body));
      return;
    }
    if (request.method === 'DELETE') {
      const stored = this.resources.get(path);
      this.resources.set(path, { versionId: undefined, body: null, writes: (stored?.writes ?? 0) + 1 });
      res.writeHead(200, { 'content-type': 'application/fhir+json' });
      res.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational' }] }));
      return;
    }
    res.writeHead(200);
    res.end();
  }

  /** Resolves when `predicate` holds, polling; rejects after `ms`. */
  async until(predicate: () => boolean, ms = 15_000, what = 'the partner to receive it'): Promise<void> {
    const deadline = Date.now() + ms;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
