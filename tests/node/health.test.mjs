// client.health(): healthy, each failure typed and named, and nothing sent but the one
// read-only request.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { suite, activeconnect, rejection } from './helpers.mjs';

const PROBE = activeconnect.HEALTH_PROBE_USER;

/** A client that would retry for a long time: the health check must not. */
const patient = (applicationId, applicationSecret, baseUrl) =>
  new activeconnect.Client({ applicationId, applicationSecret, baseUrl, timeoutMs: 30_000 });

describe('health', () => {
  let ctx;
  before(async () => {
    ctx = await suite();
  });
  afterEach(() => ctx.control.clearFaults());
  after(() => ctx?.stop());

  const probePath = (app) => `/management/has_registered_mobile_device/${app}/${PROBE}`;

  it('a reachable service that accepts the credentials is healthy', async () => {
    const { client } = await ctx.newClient();
    const health = await client.health();
    assert.equal(health.origin, ctx.url);
    assert.ok(health.latencyMs > 0 && health.latencyMs < activeconnect.DEFAULT_HEALTH_BUDGET_MS, `${health.latencyMs}`);
    assert.equal(activeconnect.DEFAULT_HEALTH_BUDGET_MS, 3000);
  });

  it('sends one read-only request and changes nothing', async () => {
    const { client, app } = await ctx.newClient();
    await client.health();
    const sent = (await ctx.control.requests('/')).filter((r) => r.path.includes(app));
    assert.deepEqual(sent, [{ method: 'GET', path: probePath(app), status: 404 }]);
    assert.deepEqual(await ctx.control.users(app), [], 'no user was added');
    assert.deepEqual(await ctx.control.sessions(app), [], 'no sign-in was started');
    assert.deepEqual(await ctx.control.sms(app), [], 'no SMS was sent');
  });

  it('a wrong secret is UNAUTHORIZED naming the secret, never showing it', async () => {
    const { app, secret } = await ctx.newClient();
    const error = await rejection(patient(app, 'wrong-secret-value', ctx.url).health());
    assert.equal(error.code, 'UNAUTHORIZED');
    assert.equal(error.status, 401);
    assert.match(error.message, /check the application id and secret/);
    assert.ok(error.message.includes(app));
    assert.ok(!error.message.includes('wrong-secret-value') && !error.message.includes(secret));
    assert.equal((await ctx.control.requests(probePath(app))).length, 1, 'not retried');
  });

  it('an unknown application is UNAUTHORIZED naming the application id', async () => {
    const { secret } = await ctx.newClient();
    const error = await rejection(patient('NO-SUCH-APP', secret, ctx.url).health());
    assert.equal(error.code, 'UNAUTHORIZED');
    assert.match(error.message, /does not know application "NO-SUCH-APP"/);
  });

  it('a service that is down is TRANSPORT naming the origin, at once', async () => {
    const server = net.createServer();
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${server.address().port}`;
    await new Promise((resolve) => server.close(resolve));
    const started = Date.now();
    const error = await rejection(patient('APP', 'secret', origin).health());
    assert.equal(error.code, 'TRANSPORT');
    assert.ok(error.message.includes(`could not connect to ${origin}`), error.message);
    assert.ok(Date.now() - started < 500, 'not retried');
  });

  it('a hung service times out at the budget', async () => {
    const { app, secret } = await ctx.newClient();
    await ctx.control.fault({ path: probePath(app), delay_ms: 10_000, count: 10 });
    const started = Date.now();
    const error = await rejection(patient(app, secret, ctx.url).health({ timeoutMs: 500 }));
    const took = Date.now() - started;
    assert.equal(error.code, 'TIMEOUT');
    assert.ok(error.message.includes(`${ctx.url} within 500 ms`), error.message);
    assert.ok(took >= 450 && took < 1500, `${took} ms`);
  });

  it('bad budgets are refused before any request', async () => {
    const { client, app } = await ctx.newClient();
    for (const timeoutMs of [0, -1, Number.NaN, 1e15]) {
      const error = await rejection(client.health({ timeoutMs }));
      assert.equal(error.code, 'INVALID_ARGUMENT', `${timeoutMs}`);
    }
    const error = await rejection(client.health({ timeoutMs: '500' }));
    assert.equal(error.code, 'INVALID_ARGUMENT');
    assert.equal((await ctx.control.requests(probePath(app))).length, 0);
  });
});
