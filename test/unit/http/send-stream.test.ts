// Streamed response bodies (src/http/send.ts): backpressure (the producer is pulled only as the
// socket takes the chunks), a client that disconnects stops the pulling and the producer's
// return() runs, a producer failing mid-stream cuts the connection (no clean end) and is
// reported, HEAD sends the headers only. Over a real loopback socket, through Express and the
// compression middleware as in src/http/app.ts.
import assert from 'node:assert/strict';
import { request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import compression from 'compression';
import express from 'express';
import type { FhirResponse } from '../../../src/core/types.js';
import { sendFhir } from '../../../src/http/send.js';

const CHUNK = 'x'.repeat(64 * 1024 - 1) + '\n';

/** A producer of `total` chunks (or endless) that records how far it was pulled and whether it was closed. */
function producer(total = Number.POSITIVE_INFINITY, failAt?: number) {
  const state = { pulled: 0, returned: false, failure: undefined as unknown };
  async function* chunks(): AsyncGenerator<string> {
    try {
      while (state.pulled < total) {
        if (state.pulled === failAt) throw new Error('page read failed');
        state.pulled++;
        await Promise.resolve();
        yield CHUNK;
      }
    } finally {
      state.returned = true;
    }
  }
  return { state, chunks: chunks() };
}

async function serve(response: () => FhirResponse, onFailure: (error: unknown) => void = () => undefined): Promise<{ port: number; server: Server }> {
  const app = express();
  app.use(compression());
  app.use((req, res) => sendFhir(res, response(), 'application/fhir+json', req.query._pretty === 'true', req.method === 'HEAD', onFailure));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { port: (server.address() as AddressInfo).port, server };
}

const open = (port: number, method = 'GET', path = '/') =>
  new Promise<IncomingMessage>((resolve, reject) => request({ host: '127.0.0.1', port, method, path, headers: { 'accept-encoding': 'gzip' } }, resolve).on('error', reject).end());

const streamed = (chunks: AsyncIterable<string>): FhirResponse => ({ status: 200, headers: { 'X-Test': 'yes' }, body: { kind: 'stream', contentType: 'application/fhir+ndjson', chunks } });

async function until(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

describe('http/send: streamed bodies', () => {
  let server: Server | undefined;
  afterEach(() => {
    server?.closeAllConnections();
    server?.close();
    server = undefined;
  });

  it('sends every chunk with the stream content type, chunked, without Content-Length, and ends cleanly', async () => {
    const p = producer(20);
    const s = await serve(() => streamed(p.chunks));
    server = s.server;
    const res = await open(s.port, 'GET', '/?_pretty=true');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/fhir+ndjson; charset=utf-8');
    assert.equal(res.headers['content-length'], undefined);
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    assert.equal(res.headers['x-test'], 'yes');
    let bytes = 0;
    for await (const chunk of res) bytes += (chunk as Buffer).length;
    assert.equal(bytes, 20 * CHUNK.length, 'the stored text as is: _pretty does not apply');
    assert.equal(res.complete, true);
    assert.equal(p.state.returned, true);
  });

  it('pulls no further than the socket takes: a client that does not read holds the producer back', async () => {
    const p = producer();
    const s = await serve(() => streamed(p.chunks));
    server = s.server;
    const res = await open(s.port);
    res.pause();
    await until(() => p.state.pulled > 0, 'the first chunk is pulled');
    await sleep(300);
    const held = p.state.pulled;
    await sleep(300);
    assert.equal(p.state.pulled, held, 'no more chunks pulled while the client reads nothing');
    // Socket buffers on both sides hold a few MB at most, far from an endless producer.
    assert.ok(held < 200, `pulled ${held} chunks of 64 KiB`);
    let read = 0;
    res.on('data', (chunk: Buffer) => {
      read += chunk.length;
    });
    res.resume();
    await until(() => p.state.pulled > held + 50, 'pulling resumes once the client reads');
    assert.ok(read > 0);
    res.destroy();
  });

  it('stops pulling and calls the producer\'s return() when the client disconnects', async () => {
    const p = producer();
    const s = await serve(() => streamed(p.chunks));
    server = s.server;
    const res = await open(s.port);
    res.pause();
    await until(() => p.state.pulled > 0, 'the first chunk is pulled');
    res.destroy();
    await until(() => p.state.returned, 'return() is called');
    const pulled = p.state.pulled;
    await sleep(200);
    assert.equal(p.state.pulled, pulled, 'nothing is pulled after the disconnect');
  });

  it('cuts the connection when the producer fails mid-stream: no clean end, the failure is reported', async () => {
    const p = producer(Number.POSITIVE_INFINITY, 5);
    const failures: unknown[] = [];
    const s = await serve(() => streamed(p.chunks), (error) => failures.push(error));
    server = s.server;
    const res = await open(s.port);
    assert.equal(res.statusCode, 200);
    let bytes = 0;
    const ending = await new Promise<string>((resolve) => {
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      res.on('end', () => resolve('end'));
      res.on('error', () => resolve('error'));
      res.on('aborted', () => resolve('aborted'));
      res.on('close', () => resolve(res.complete ? 'end' : 'aborted'));
    });
    assert.notEqual(ending, 'end', 'the client must not see a complete response');
    assert.equal(res.complete, false);
    assert.ok(bytes <= 5 * CHUNK.length);
    assert.equal(failures.length, 1);
    assert.match(String((failures[0] as Error).message), /page read failed/);
  });

  it('HEAD: the headers only, nothing pulled', async () => {
    const p = producer(3);
    const s = await serve(() => streamed(p.chunks));
    server = s.server;
    const res = await open(s.port, 'HEAD');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/fhir+ndjson; charset=utf-8');
    for await (const _ of res) assert.fail('HEAD has no body');
    assert.equal(p.state.pulled, 0);
  });
});
