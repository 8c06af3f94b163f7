// HearthMetrics (src/core/metrics.ts): the exposition text after observations, the outbox and
// queue gauges read through the probe at scrape time, and a probe that fails, throws or hangs
// never breaking a scrape.
import assert from 'node:assert/strict';
import { HearthMetrics, type OutboxSnapshot } from '../../src/core/metrics.js';
import type { DeliveryMetrics } from '../../src/jobs/delivery/contracts.js';
import { sampleOf } from '../support/metrics-text.js';

describe('HearthMetrics', () => {
  it('the delivery property is a DeliveryMetrics (compile-time check)', () => {
    const delivery: DeliveryMetrics = new HearthMetrics({ defaultMetrics: false }).delivery;
    assert.equal(typeof delivery.attempt, 'function');
  });

  it('exposes HTTP request counts by interaction and status, and the duration histogram', async () => {
    const metrics = new HearthMetrics({ defaultMetrics: false });
    metrics.http.request('read', 200, 0.004);
    metrics.http.request('read', 200, 0.02);
    metrics.http.request('read', 404, 0.003);
    metrics.http.request('create', 201, 0.3);
    const text = await metrics.text();
    assert.equal(sampleOf(text, 'hearth_http_requests_total{interaction="read",status="200"}'), 2);
    assert.equal(sampleOf(text, 'hearth_http_requests_total{interaction="read",status="404"}'), 1);
    assert.equal(sampleOf(text, 'hearth_http_requests_total{interaction="create",status="201"}'), 1);
    assert.equal(sampleOf(text, 'hearth_http_request_duration_seconds_count{interaction="read"}'), 3);
    assert.equal(sampleOf(text, 'hearth_http_request_duration_seconds_bucket{le="0.001",interaction="read"}'), 0);
    assert.equal(sampleOf(text, 'hearth_http_request_duration_seconds_bucket{le="0.005",interaction="read"}'), 2);
    assert.equal(sampleOf(text, 'hearth_http_request_duration_seconds_bucket{le="10",interaction="read"}'), 3);
    assert.ok(Math.abs(sampleOf(text, 'hearth_http_request_duration_seconds_sum{interaction="create"}')! - 0.3) < 1e-9);
    assert.match(metrics.contentType, /^text\/plain; version=0\.0\.4/);
  });

  it('exposes delivery attempts, durations, lag, dead letters and breaker states', async () => {
    const metrics = new HearthMetrics({ defaultMetrics: false });
    const d = metrics.delivery;
    d.attempt('sync:iis', 'retry', 0.5);
    d.attempt('sync:iis', 'open', 0);
    d.attempt('sync:iis', 'delivered', 0.05);
    d.delivered('sync:iis', 42);
    d.deadLettered('subscription:s1');
    d.breakerState('sync:iis', 'open');
    d.breakerState('subscription:s1', 'half-open');
    d.breakerState('sync:ok', 'closed');
    const text = await metrics.text();
    assert.equal(sampleOf(text, 'hearth_delivery_attempts_total{destination="sync:iis",outcome="retry"}'), 1);
    assert.equal(sampleOf(text, 'hearth_delivery_attempts_total{destination="sync:iis",outcome="open"}'), 1);
    assert.equal(sampleOf(text, 'hearth_delivery_attempts_total{destination="sync:iis",outcome="delivered"}'), 1);
    // The attempt refused by the open circuit made no call: not in the latency histogram.
    assert.equal(sampleOf(text, 'hearth_delivery_duration_seconds_count{destination="sync:iis"}'), 2);
    assert.equal(sampleOf(text, 'hearth_delivery_lag_seconds_count{destination="sync:iis"}'), 1);
    assert.equal(sampleOf(text, 'hearth_delivery_lag_seconds_bucket{le="30",destination="sync:iis"}'), 0);
    assert.equal(sampleOf(text, 'hearth_delivery_lag_seconds_bucket{le="60",destination="sync:iis"}'), 1);
    assert.equal(sampleOf(text, 'hearth_delivery_dead_letters_total{destination="subscription:s1"}'), 1);
    assert.equal(sampleOf(text, 'hearth_delivery_breaker_state{destination="sync:iis"}'), 2);
    assert.equal(sampleOf(text, 'hearth_delivery_breaker_state{destination="subscription:s1"}'), 1);
    assert.equal(sampleOf(text, 'hearth_delivery_breaker_state{destination="sync:ok"}'), 0);
    d.breakerState('sync:iis', 'closed');
    assert.equal(sampleOf(await metrics.text(), 'hearth_delivery_breaker_state{destination="sync:iis"}'), 0);
  });

  it('folds destinations beyond the cap into "other" (bounded series), without a breaker state for them', async () => {
    const metrics = new HearthMetrics({ defaultMetrics: false, destinationCap: 2 });
    for (const id of ['a', 'b', 'c', 'd', 'a']) {
      metrics.delivery.attempt(`subscription:${id}`, 'delivered', 0.01);
      metrics.delivery.breakerState(`subscription:${id}`, 'open');
    }
    const text = await metrics.text();
    assert.equal(sampleOf(text, 'hearth_delivery_attempts_total{destination="subscription:a",outcome="delivered"}'), 2);
    assert.equal(sampleOf(text, 'hearth_delivery_attempts_total{destination="subscription:b",outcome="delivered"}'), 1);
    assert.equal(sampleOf(text, 'hearth_delivery_attempts_total{destination="other",outcome="delivered"}'), 2);
    assert.equal(sampleOf(text, 'hearth_delivery_attempts_total{destination="subscription:c",outcome="delivered"}'), undefined);
    assert.equal(sampleOf(text, 'hearth_delivery_breaker_state{destination="other"}'), undefined);
    assert.equal(sampleOf(text, 'hearth_delivery_breaker_state{destination="subscription:b"}'), 2);
  });

  it('reads the outbox and queue gauges from the probe at every scrape, calling it once per scrape', async () => {
    const metrics = new HearthMetrics({ defaultMetrics: false });
    let calls = 0;
    let snapshot: OutboxSnapshot = {
      backlog: [{ channel: 'sync', count: 7 }, { channel: 'subscription', count: 2 }],
      oldestAgeSeconds: 12.5,
      queue: { waiting: 3, delayed: 4, active: 1 },
    };
    metrics.registerOutboxProbe(async () => {
      calls++;
      return snapshot;
    });
    let text = await metrics.text();
    assert.equal(calls, 1);
    assert.equal(sampleOf(text, 'hearth_outbox_backlog{channel="sync"}'), 7);
    assert.equal(sampleOf(text, 'hearth_outbox_backlog{channel="subscription"}'), 2);
    assert.equal(sampleOf(text, 'hearth_outbox_oldest_age_seconds'), 12.5);
    assert.equal(sampleOf(text, 'hearth_queue_depth{state="waiting"}'), 3);
    assert.equal(sampleOf(text, 'hearth_queue_depth{state="delayed"}'), 4);
    assert.equal(sampleOf(text, 'hearth_queue_depth{state="active"}'), 1);

    // The next scrape reads again: a drained channel disappears, an empty outbox is 0 s old.
    snapshot = { backlog: [{ channel: 'sync', count: 1 }], oldestAgeSeconds: null };
    text = await metrics.text();
    assert.equal(calls, 2);
    assert.equal(sampleOf(text, 'hearth_outbox_backlog{channel="sync"}'), 1);
    assert.equal(sampleOf(text, 'hearth_outbox_backlog{channel="subscription"}'), undefined);
    assert.equal(sampleOf(text, 'hearth_outbox_oldest_age_seconds'), 0);
    assert.equal(sampleOf(text, 'hearth_queue_depth{state="waiting"}'), undefined, 'no queue in the snapshot: no depth');
  });

  it('a probe that rejects, throws or hangs leaves its gauges unset and the scrape whole', async () => {
    const failures: (() => Promise<OutboxSnapshot>)[] = [
      async () => {
        throw new Error('database down');
      },
      () => {
        throw new Error('thrown synchronously');
      },
      () => new Promise<OutboxSnapshot>(() => undefined),
    ];
    for (const [i, probe] of failures.entries()) {
      const metrics = new HearthMetrics({ defaultMetrics: false, probeTimeoutMs: 50 });
      metrics.registerOutboxProbe(async () => ({ backlog: [{ channel: 'sync', count: 5 }], oldestAgeSeconds: 3, queue: { waiting: 1, delayed: 0, active: 0 } }));
      assert.equal(sampleOf(await metrics.text(), 'hearth_outbox_backlog{channel="sync"}'), 5);
      metrics.registerOutboxProbe(probe);
      metrics.http.request('read', 200, 0.01);
      const text = await metrics.text();
      assert.equal(sampleOf(text, 'hearth_http_requests_total{interaction="read",status="200"}'), 1, `failure ${i}`);
      assert.match(text, /# TYPE hearth_outbox_backlog gauge/);
      assert.equal(sampleOf(text, 'hearth_outbox_backlog{channel="sync"}'), undefined, `failure ${i}: the last values are not kept`);
      assert.equal(sampleOf(text, 'hearth_outbox_oldest_age_seconds'), undefined, `failure ${i}`);
      assert.equal(sampleOf(text, 'hearth_queue_depth{state="waiting"}'), undefined, `failure ${i}`);
    }
  });

  it('includes the Node.js process metrics under their standard names; registries are independent', async () => {
    const one = new HearthMetrics();
    const two = new HearthMetrics();
    one.http.request('read', 200, 0.01);
    const text = await one.text();
    assert.match(text, /^process_cpu_user_seconds_total /m);
    assert.match(text, /^nodejs_heap_size_used_bytes /m);
    assert.equal(sampleOf(await two.text(), 'hearth_http_requests_total{interaction="read",status="200"}'), undefined);
  });
});
