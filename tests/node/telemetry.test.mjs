// telemetry: OpenTelemetry spans (the SDK's in-memory exporter) and the metrics snapshot
// for a sign-in, a retried call and refused ones; no secret in either, even when the server
// echoes secrets; the `logs` emitter keeps working beside them.
import { describe, it, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { suite, activeconnect, projectinsight, deviceauth, bindingDir, rejection } from './helpers.mjs';

const require = createRequire(`${bindingDir}/`);
const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { SpanKind, SpanStatusCode } = require('@opentelemetry/api');
const { telemetry, logs } = deviceauth;

const hash8 = (token) => createHash('sha256').update(token).digest('hex').slice(0, 8);
const counter = (snapshot, name, attributes) =>
  snapshot.counters.find((c) => c.name === name && JSON.stringify(c.attributes) === JSON.stringify(attributes))?.value ?? 0;
const watched = () => telemetry.metrics().gauges.find((g) => g.name === 'deviceauth.monitor.sessions').value;

describe('telemetry', () => {
  let ctx;
  let exporter;
  before(async () => {
    ctx = await suite();
  });
  after(() => ctx?.stop());
  beforeEach(() => {
    exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    telemetry.enableOpenTelemetry({ tracerProvider: provider });
  });
  afterEach(async () => {
    telemetry.disableOpenTelemetry();
    await ctx.control.clearFaults();
  });
  const named = (name) => exporter.getFinishedSpans().filter((span) => span.name === name);

  it('a sign-in is traced from the request to the approval', async () => {
    const { client, user } = await ctx.newUser('alice');
    const before = telemetry.metrics();
    const session = await client.authenticateUser(user);
    await ctx.control.act(session.sessionToken, 'approve');
    assert.equal(await session.wait({ intervalMs: 50, timeoutMs: 10_000 }), 'active');

    const [start, ...others] = named('activeconnect.authenticate_user');
    assert.equal(others.length, 0);
    assert.equal(start.kind, SpanKind.CLIENT);
    assert.equal(start.status.code, SpanStatusCode.OK);
    assert.equal(start.attributes['deviceauth.service'], 'activeconnect');
    assert.equal(start.attributes['deviceauth.endpoint'], 'authenticate_user');
    assert.equal(start.attributes['http.request.method'], 'POST');
    assert.equal(start.attributes['deviceauth.attempts'], 1);
    assert.equal(start.attributes['http.response.status_code'], 202);
    assert.equal(start.attributes['deviceauth.outcome'], 'ok');
    const seconds = (t) => t[0] + t[1] / 1e9;
    assert.ok(seconds(start.startTime) <= seconds(start.endTime));
    assert.ok(Math.abs(seconds(start.startTime) - Date.now() / 1000) < 60, 'times are wall-clock times');
    const polls = named('activeconnect.status');
    assert.ok(polls.length >= 1);
    for (const poll of polls) assert.equal(poll.attributes['deviceauth.session'], hash8(session.sessionToken));

    const after = telemetry.metrics();
    const signIn = { endpoint: 'authenticate_user', outcome: 'ok', service: 'activeconnect' };
    assert.equal(counter(after, 'deviceauth.calls', signIn) - counter(before, 'deviceauth.calls', signIn), 1);
    const status = { endpoint: 'status', outcome: 'ok', service: 'activeconnect' };
    assert.equal(counter(after, 'deviceauth.calls', status) - counter(before, 'deviceauth.calls', status), polls.length);
    const histogram = after.histograms.find((h) => h.name === 'deviceauth.call.duration' && h.attributes.endpoint === 'status');
    assert.equal(histogram.unit, 'ms');
    assert.equal(histogram.bucket_counts.reduce((a, b) => a + b, 0), histogram.count);
  });

  it('a retried call has one span with its retries, and the logs still arrive', async () => {
    const { client, app, user } = await ctx.newUser('bob');
    const records = [];
    const listener = (record) => records.push(record);
    logs.on('log', listener);
    try {
      await ctx.control.fault({ path: `/management/has_registered_mobile_device/${app}/`, status: 503, count: 2 });
      const before = telemetry.metrics();
      assert.equal(await client.hasRegisteredMobileDevice(user), true);
      const [span, ...others] = named('activeconnect.has_registered_mobile_device');
      assert.equal(others.length, 0);
      assert.equal(span.attributes['deviceauth.attempts'], 3);
      assert.equal(span.attributes['http.response.status_code'], 200);
      assert.deepEqual(span.events.map((e) => e.name), ['retry', 'retry']);
      span.events.forEach((event, n) => {
        assert.equal(event.attributes['deviceauth.attempt'], n + 1);
        assert.equal(event.attributes['deviceauth.reason'], 'HTTP 503');
        assert.equal(typeof event.attributes['deviceauth.wait_ms'], 'number');
      });
      const place = { endpoint: 'has_registered_mobile_device', service: 'activeconnect' };
      assert.equal(counter(telemetry.metrics(), 'deviceauth.retries', place) - counter(before, 'deviceauth.retries', place), 2);
    } finally {
      logs.off('log', listener);
    }
    assert.equal(records.filter((r) => r.level === 'warn' && r.message.includes('retry')).length, 2);
  });

  it('refused sign-ins are traced as failures', async () => {
    const { client, app, user } = await ctx.newUser('carol');
    const before = telemetry.metrics();
    const wrong = new activeconnect.Client({ applicationId: app, applicationSecret: 'wrong-secret', baseUrl: ctx.url });
    assert.equal((await rejection(wrong.authenticateUser(user))).code, 'UNAUTHORIZED');
    const [refused] = named('activeconnect.authenticate_user');
    assert.equal(refused.status.code, SpanStatusCode.ERROR);
    assert.equal(refused.status.message, 'UNAUTHORIZED');
    assert.equal(refused.attributes['http.response.status_code'], 401);
    assert.equal(refused.attributes['deviceauth.outcome'], 'UNAUTHORIZED');

    // The user denies on the phone while a monitor watches.
    const session = await client.authenticateUser(user);
    const monitor = new activeconnect.Monitor(client, { intervalMs: 50 });
    const count = watched();
    monitor.add(session);
    assert.equal(watched(), count + 1);
    await ctx.control.act(session.sessionToken, 'deny');
    let event;
    for await (event of monitor.events({ signal: AbortSignal.timeout(8_000) })) break;
    assert.equal(event.status, 'failed');
    assert.equal(watched(), count);
    monitor.close();

    const after = telemetry.metrics();
    const unauthorized = { endpoint: 'authenticate_user', outcome: 'UNAUTHORIZED', service: 'activeconnect' };
    assert.equal(counter(after, 'deviceauth.calls', unauthorized) - counter(before, 'deviceauth.calls', unauthorized), 1);
    const failed = { status: 'failed' };
    assert.equal(
      counter(after, 'deviceauth.monitor.status_changes', failed) - counter(before, 'deviceauth.monitor.status_changes', failed),
      1,
    );
  });

  it('traces and metrics hold no secret, even when the server echoes them', async () => {
    const { client, secret, user } = await ctx.newUser('erin');
    const session = await client.authenticateUser(user);
    const data = session.toJSON();
    const pi = new projectinsight.Client({ baseUrl: `${ctx.url}/api` });
    const pending = await pi.createDeviceActivation({ clientAgent: 'cli/1.0' });
    const code = await ctx.control.activationCode(pending.id);
    const done = await pi.completeDeviceActivation(pending.id, code, { clientAgent: 'cli/1.0' });
    const secrets = [secret, data.session_token, data.session_secret, done.apiToken, code];
    const echo = secrets.join(' ');
    await ctx.control.fault({ path: '/authentication/', status: 503, count: 2, body: echo });
    await session.refresh();
    await ctx.control.fault({ path: '/api/project', status: 500, body: echo });
    await rejection(pi.withApiToken(done.apiToken).get('project/active'));
    await rejection(pi.completeDeviceActivation(pending.id, code, { clientAgent: 'cli/1.0' }));

    const spans = exporter.getFinishedSpans();
    assert.ok(spans.length >= 6);
    const texts = spans.map((s) => JSON.stringify({ name: s.name, attributes: s.attributes, events: s.events, status: s.status }));
    texts.push(JSON.stringify(telemetry.metrics()));
    for (const text of texts) for (const value of secrets) assert.ok(!text.includes(value), `a secret shows in ${text}`);
    assert.ok(texts.some((text) => text.includes(hash8(data.session_token))));
  });

  it('after disableOpenTelemetry no span is made; metrics are still counted', async () => {
    const { client, user } = await ctx.newUser('frank');
    telemetry.disableOpenTelemetry();
    const place = { endpoint: 'has_registered_mobile_device', outcome: 'ok', service: 'activeconnect' };
    const before = counter(telemetry.metrics(), 'deviceauth.calls', place);
    assert.equal(await client.hasRegisteredMobileDevice(user), true);
    assert.equal(named('activeconnect.has_registered_mobile_device').length, 0);
    assert.equal(counter(telemetry.metrics(), 'deviceauth.calls', place), before + 1);
    assert.throws(() => telemetry.enableOpenTelemetry(5), (error) => error.code === 'INVALID_ARGUMENT');
  });
});

describe('telemetry metrics through OpenTelemetry', () => {
  let ctx;
  before(async () => {
    ctx = await suite();
  });
  after(() => ctx?.stop());

  it('the counters and the gauge are observable instruments, the durations a histogram', async () => {
    const { MeterProvider, MetricReader } = require('@opentelemetry/sdk-metrics');
    class Reader extends MetricReader {
      async onForceFlush() {}
      async onShutdown() {}
    }
    const reader = new Reader();
    telemetry.enableOpenTelemetry({ meterProvider: new MeterProvider({ readers: [reader] }) });
    try {
      const { client, user } = await ctx.newUser('grace');
      assert.equal(await client.hasRegisteredMobileDevice(user), true);
      const { resourceMetrics, errors } = await reader.collect();
      assert.deepEqual(errors, []);
      const [scope] = resourceMetrics.scopeMetrics;
      assert.equal(scope.scope.name, 'deviceauth');
      const byName = Object.fromEntries(scope.metrics.map((m) => [m.descriptor.name, m.dataPoints]));
      assert.ok('deviceauth.monitor.sessions' in byName);
      const place = { endpoint: 'has_registered_mobile_device', outcome: 'ok', service: 'activeconnect' };
      const point = byName['deviceauth.calls'].find((p) => JSON.stringify(p.attributes) === JSON.stringify(place));
      assert.equal(point.value, counter(telemetry.metrics(), 'deviceauth.calls', place));
      assert.ok(point.value >= 1);
      // The duration histogram gets each call's duration as its span record arrives.
      const where = JSON.stringify({ service: 'activeconnect', endpoint: 'has_registered_mobile_device' });
      let durations;
      for (let tries = 0; tries < 100 && !durations; tries += 1) {
        const collected = await reader.collect();
        const metric = collected.resourceMetrics.scopeMetrics[0].metrics.find((m) => m.descriptor.name === 'deviceauth.call.duration');
        durations = metric?.dataPoints.find((p) => JSON.stringify(p.attributes) === where);
        if (!durations) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(durations && durations.value.count >= 1 && durations.value.sum >= 0, 'a duration was recorded');
    } finally {
      telemetry.disableOpenTelemetry();
    }
  });
});
