// Resilience: the emulator's injected faults, seen through the Node package.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { suite, activeconnect, rejection } from './helpers.mjs';

describe('faults', () => {
  let ctx;
  before(async () => {
    ctx = await suite();
  });
  afterEach(() => ctx.control.clearFaults());
  after(() => ctx?.stop());

  const count = async (prefix) => (await ctx.control.requests(prefix)).length;

  it('503 on authenticateUser rejects HTTP with status 503 after exactly one request', async () => {
    const { client, app, user } = await ctx.newUser();
    const prefix = `/authentication/authenticate_user/${app}/`;
    await ctx.control.fault({ path: prefix, status: 503, retry_after: '0', count: 5 });
    const error = await rejection(client.authenticateUser(user));
    assert.ok(error instanceof Error);
    assert.equal(error.code, 'HTTP');
    assert.equal(error.status, 503);
    assert.deepEqual((await ctx.control.requests(prefix)).map((r) => r.status), [503]);
  });

  it('503 on an idempotent call is retried', async () => {
    const { client, app, user } = await ctx.newUser();
    const prefix = `/management/has_registered_mobile_device/${app}/`;
    await ctx.control.fault({ path: prefix, status: 503, retry_after: '0', count: 2 });
    assert.equal(await client.hasRegisteredMobileDevice(user), true);
    assert.deepEqual((await ctx.control.requests(prefix)).map((r) => r.status), [503, 503, 200]);
  });

  it('a dropped connection on an idempotent call is retried', async () => {
    const { client, app, user } = await ctx.newUser();
    const prefix = `/management/has_registered_mobile_device/${app}/`;
    await ctx.control.fault({ path: prefix, drop: true });
    assert.equal(await client.hasRegisteredMobileDevice(user), true);
    assert.deepEqual((await ctx.control.requests(prefix)).map((r) => r.status), [0, 200]);
  });

  it('a dropped connection on authenticateUser is not retried: TRANSPORT', async () => {
    const { client, app, user } = await ctx.newUser();
    const prefix = `/authentication/authenticate_user/${app}/`;
    await ctx.control.fault({ path: prefix, drop: true });
    const error = await rejection(client.authenticateUser(user));
    assert.equal(error.code, 'TRANSPORT');
    assert.equal(await count(prefix), 1);
  });

  it('a malformed answer is PROTOCOL', async () => {
    const { client, app, user } = await ctx.newUser();
    await ctx.control.fault({ path: `/management/has_registered_mobile_device/${app}/`, malformed: true });
    const error = await rejection(client.hasRegisteredMobileDevice(user));
    assert.equal(error.code, 'PROTOCOL');
    const session = await client.authenticateUser(user);
    await ctx.control.fault({ path: '/authentication/session_status/', malformed: true });
    assert.equal((await rejection(session.refresh())).code, 'PROTOCOL');
  });

  it('an answer past timeoutMs is TIMEOUT', async () => {
    const { client, app, user } = await ctx.newUser('alice', { timeoutMs: 300 });
    const prefix = `/authentication/authenticate_user/${app}/`;
    await ctx.control.fault({ path: prefix, delay_ms: 1_500 });
    const started = Date.now();
    const error = await rejection(client.authenticateUser(user));
    assert.equal(error.code, 'TIMEOUT');
    assert.ok(Date.now() - started < 1_400, `took ${Date.now() - started} ms`);
  });

  it('a management call answered with status false is REFUSED with the reason', async () => {
    const { client, app } = await ctx.newClient();
    await ctx.control.fault({
      path: `/management/delete_users/${app}`,
      status: 200,
      body: '{"status": false, "reason": "USER_LOCKED"}',
    });
    const error = await rejection(client.deleteUsers(['u1']));
    assert.equal(error.code, 'REFUSED');
    assert.equal(error.reason, 'USER_LOCKED');
  });

  it('no server at all is TRANSPORT', async () => {
    const { app, secret } = await ctx.newClient();
    const client = new activeconnect.Client({ applicationId: app, applicationSecret: secret, baseUrl: 'http://127.0.0.1:9', timeoutMs: 1_000 });
    const error = await rejection(client.hasRegisteredMobileDevice('alice'));
    assert.equal(error.code, 'TRANSPORT');
    assert.ok(!error.message.includes(secret));
  });
});
