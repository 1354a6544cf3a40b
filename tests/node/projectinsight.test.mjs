// projectinsight: device activation and API-token calls against the emulator.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { suite, projectinsight, rejection } from './helpers.mjs';

describe('projectinsight', () => {
  let ctx;
  let pi;
  before(async () => {
    ctx = await suite();
    pi = new projectinsight.Client({ baseUrl: `${ctx.url}/api`, timeoutMs: 5_000 });
  });
  after(() => ctx?.stop());

  const activate = async (agent = 'my-cli/1.0', options = {}) => {
    const pending = await pi.createDeviceActivation({ clientAgent: agent });
    const code = await ctx.control.activationCode(pending.id);
    const done = await pi.completeDeviceActivation(pending.id, code, { clientAgent: agent, ...options });
    return { pending, code, done };
  };

  it('baseUrl ends with a slash', () => {
    assert.equal(pi.baseUrl, `${ctx.url}/api/`);
  });

  it('createDeviceActivation gives an id, a URL and a Date', async () => {
    const pending = await pi.createDeviceActivation({
      clientAgent: 'my-cli/1.0',
      platform: 'Linux',
      device: 'Computer',
      ipAddress: '10.0.0.7',
      hostName: 'build-box',
    });
    assert.equal(typeof pending.id, 'string');
    assert.ok(pending.id.length > 0);
    assert.equal(pending.url, `${ctx.url}/_emulator/activate/${pending.id}`);
    assert.ok(pending.expiresAt instanceof Date);
    const minutes = (pending.expiresAt.getTime() - Date.now()) / 60_000;
    assert.ok(minutes > 14 && minutes <= 15.1, `expires in ${minutes} min`);
    assert.deepEqual(Object.keys(pending).sort(), ['expiresAt', 'id', 'url']);
  });

  it('completeDeviceActivation trades the code for a token that works', async () => {
    const { done } = await activate();
    assert.ok(done instanceof projectinsight.DeviceActivation);
    assert.equal(typeof done.apiToken, 'string');
    assert.ok(done.apiToken.length > 10);
    assert.equal(typeof done.deviceId, 'string');
    assert.equal(typeof done.userId, 'string');
    assert.ok(done.expiresAt instanceof Date);
    const days = (done.expiresAt.getTime() - Date.now()) / 86_400_000;
    assert.ok(days > 364 && days < 367, `token lasts ${days} days`);
    const api = pi.withApiToken(done.apiToken);
    assert.ok(api instanceof projectinsight.ApiClient);
    assert.equal(api.baseUrl, pi.baseUrl);
    const projects = await api.get('project/active');
    assert.ok(Array.isArray(projects));
    assert.ok(projects.length > 0);
    assert.equal(typeof projects[0].Name, 'string');
    assert.deepEqual(await api.get('/project/active'), projects, 'a leading slash is the same path');
  });

  it('timeoutMinutes sets the token lifetime; spaces around the code are ignored', async () => {
    const pending = await pi.createDeviceActivation({ clientAgent: 'cli' });
    const code = await ctx.control.activationCode(pending.id);
    const done = await pi.completeDeviceActivation(pending.id, ` ${code} `, { clientAgent: 'cli', timeoutMinutes: 5 });
    const minutes = (done.expiresAt.getTime() - Date.now()) / 60_000;
    assert.ok(minutes > 4 && minutes <= 5.1, `token lasts ${minutes} min`);
  });

  it('post() sends JSON and parses the answer', async () => {
    const { done } = await activate();
    const api = pi.withApiToken(done.apiToken);
    const answer = await api.post('device-activation/create-request', { ClientAgent: 'posted/1' });
    assert.equal(typeof answer.DeviceActivationId, 'string');
    assert.ok(answer.DeviceActivationRequestUrl.includes(answer.DeviceActivationId));
    const error = await rejection(api.post('project/active', {}));
    assert.equal(error.code, 'HTTP');
    assert.equal(error.status, 405);
  });

  it('each refusal has its code and reason', async () => {
    const agent = 'cli/2';
    const check = async (promise, code, reason, status) => {
      const error = await rejection(promise);
      assert.ok(error instanceof Error);
      assert.equal(error.code, code, error.message);
      assert.equal(error.reason, reason);
      assert.equal(error.status, status);
    };
    const wrong = await pi.createDeviceActivation({ clientAgent: agent });
    await ctx.control.activationCode(wrong.id);
    await check(pi.completeDeviceActivation(wrong.id, '000000x', { clientAgent: agent }), 'UNAUTHORIZED', 'WRONG_CODE', 400);

    const mismatch = await pi.createDeviceActivation({ clientAgent: agent });
    const code = await ctx.control.activationCode(mismatch.id);
    await check(pi.completeDeviceActivation(mismatch.id, code, { clientAgent: 'other/1' }), 'UNAUTHORIZED', 'CLIENT_AGENT_MISMATCH', 400);
    await pi.completeDeviceActivation(mismatch.id, code, { clientAgent: agent });
    await check(pi.completeDeviceActivation(mismatch.id, code, { clientAgent: agent }), 'UNAUTHORIZED', 'CODE_ALREADY_USED', 409);

    await check(pi.completeDeviceActivation('no-such-request', '123456', { clientAgent: agent }), 'NOT_FOUND', 'UNKNOWN_REQUEST', 404);

    const expired = await pi.createDeviceActivation({ clientAgent: agent });
    const late = await ctx.control.activationCode(expired.id);
    await ctx.control.expireActivation(expired.id);
    await check(pi.completeDeviceActivation(expired.id, late, { clientAgent: agent }), 'NOT_FOUND', 'EXPIRED', 410);
  });

  it('an unknown API token is UNAUTHORIZED', async () => {
    const error = await rejection(pi.withApiToken('not-a-token').get('project/active'));
    assert.equal(error.code, 'UNAUTHORIZED');
    assert.equal(error.status, 401);
    assert.equal(error.reason, undefined);
  });

  it('an empty API token is INVALID_ARGUMENT and sends nothing', async () => {
    const before = (await ctx.control.requests('/api/')).length;
    for (const token of ['', '   ']) {
      const error = await rejection(pi.withApiToken(token).get('project/active'));
      assert.equal(error.code, 'INVALID_ARGUMENT');
    }
    assert.equal((await ctx.control.requests('/api/')).length, before);
  });

  it('bad arguments are INVALID_ARGUMENT before any request', async () => {
    const before = (await ctx.control.requests('/api/')).length;
    const cases = [
      () => pi.createDeviceActivation({ clientAgent: '' }),
      () => pi.createDeviceActivation({ clientAgent: 'a', ipAddress: 'not-an-ip' }),
      () => pi.createDeviceActivation({ clientAgent: 'a', platform: ' ' }),
      () => pi.createDeviceActivation({}),
      () => pi.createDeviceActivation(),
      () => pi.createDeviceActivation('my-cli'),
      () => pi.completeDeviceActivation('id', '', { clientAgent: 'a' }),
      () => pi.completeDeviceActivation('id', '123', {}),
      () => pi.completeDeviceActivation('id', '123'),
      () => pi.completeDeviceActivation('id', '123', { clientAgent: 'a', timeoutMinutes: 0 }),
      () => pi.completeDeviceActivation('id', '123', { clientAgent: 'a', timeoutMinutes: 1.5 }),
      () => pi.completeDeviceActivation('id', 123456, { clientAgent: 'a' }),
      () => pi.withApiToken('t').get('https://elsewhere.example/x'),
      () => pi.withApiToken('t').get(7),
      () => pi.withApiToken('t\n').get('project/active'),
    ];
    const circular = {};
    circular.self = circular;
    cases.push(() => pi.withApiToken('t').post('x', circular), () => pi.withApiToken('t').post('x', { n: 1n }));
    for (const [index, call] of cases.entries()) {
      const error = await rejection(call());
      assert.equal(error.code, 'INVALID_ARGUMENT', `case ${index}: ${error.message}`);
    }
    assert.equal((await ctx.control.requests('/api/')).length, before);
    for (const bad of [undefined, {}, { baseUrl: 'ftp://x' }, { baseUrl: 'not a url' }, { baseUrl: 5 }, { baseUrl: 'http://x', timeoutMs: -1 }]) {
      assert.throws(() => new projectinsight.Client(bad), { code: 'INVALID_ARGUMENT' });
    }
    assert.throws(() => pi.withApiToken(undefined), { code: 'INVALID_ARGUMENT' });
  });
});
