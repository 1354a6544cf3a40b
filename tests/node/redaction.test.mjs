// Redaction: util.inspect, JSON.stringify and error messages never show the
// application secret, session secret, API token or activation code.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import util from 'node:util';
import { suite, activeconnect, projectinsight, rejection } from './helpers.mjs';

/** Every way a value is commonly shown: inspect (deep, colors, %o), String, JSON. */
const renderings = (value) => [
  util.inspect(value),
  util.inspect(value, { depth: Infinity, showHidden: true }),
  util.inspect({ nested: [value] }, { depth: Infinity }),
  util.format('%o %O %s', value, value, value),
  String(value),
];

const assertHidden = (secret, texts, what) => {
  for (const text of texts) assert.ok(!text.includes(secret), `${what} shows the secret: ${text}`);
};

describe('redaction', () => {
  let ctx;
  before(async () => {
    ctx = await suite();
  });
  after(() => ctx?.stop());

  it('a Client never shows its application secret', async () => {
    const { client, app, secret } = await ctx.newClient();
    const shown = util.inspect(client);
    assert.match(shown, /^Client \{/);
    assert.ok(shown.includes(app) && shown.includes('[redacted]'), shown);
    assertHidden(secret, [...renderings(client), JSON.stringify(client)], 'client');
  });

  it('a Session shows user and status, never its token or secret; JSON is the one place the secret appears', async () => {
    const { client, user } = await ctx.newUser('carol');
    const session = await client.authenticateUser(user);
    const data = session.toJSON();
    const shown = util.inspect(session);
    assert.match(shown, /^Session \{/);
    assert.ok(shown.includes("'carol'") && shown.includes("'pending'"), shown);
    for (const secret of [data.session_secret, data.session_token]) {
      assertHidden(secret, renderings(session), 'session');
    }
    assert.ok(JSON.stringify(session).includes(data.session_secret), 'toJSON is the documented sensitive form');
  });

  it('a DeviceActivation has a readable apiToken hidden from inspect, keys and JSON', async () => {
    const pi = new projectinsight.Client({ baseUrl: `${ctx.url}/api` });
    const pending = await pi.createDeviceActivation({ clientAgent: 'cli' });
    const code = await ctx.control.activationCode(pending.id);
    const done = await pi.completeDeviceActivation(pending.id, code, { clientAgent: 'cli' });
    const token = done.apiToken;
    assert.ok(token.length > 10);
    assert.ok(!Object.keys(done).includes('apiToken'));
    const json = JSON.parse(JSON.stringify(done));
    assert.deepEqual(Object.keys(json).sort(), ['deviceId', 'expiresAt', 'userId']);
    assert.equal(json.deviceId, done.deviceId);
    assert.equal(json.expiresAt, done.expiresAt.toISOString());
    assert.deepEqual({ ...done }, {});
    assertHidden(token, [...renderings(done), JSON.stringify({ done })], 'activation');
    assert.match(util.inspect(done), /^DeviceActivation \{[^]*apiToken: '\[redacted\]'/);
    const api = pi.withApiToken(token);
    assertHidden(token, [...renderings(api), JSON.stringify(api)], 'api client');
    assertHidden(code, renderings(done), 'activation');
  });

  it('error messages never contain the secret, token or code', async () => {
    const { client, app, secret, user } = await ctx.newUser('dave');
    const wrong = new activeconnect.Client({ applicationId: app, applicationSecret: `${secret}x`, baseUrl: ctx.url });
    const unauthorized = await rejection(wrong.authenticateUser(user));
    assert.equal(unauthorized.code, 'UNAUTHORIZED');
    assertHidden(secret, [unauthorized.message, util.inspect(unauthorized), unauthorized.stack ?? ''], 'error');

    const session = await client.authenticateUser(user);
    const data = session.toJSON();
    await ctx.control.fault({ path: '/authentication/session_status/', status: 500, body: 'boom' });
    const failed = await rejection(session.refresh());
    assert.equal(failed.code, 'HTTP');
    assert.equal(failed.status, 500);
    for (const hidden of [data.session_secret, data.session_token]) {
      assertHidden(hidden, [failed.message, util.inspect(failed)], 'poll error');
    }
    const resumed = (() => {
      try {
        return client.resume({ ...data, status_url: 42 });
      } catch (error) {
        return error;
      }
    })();
    assert.equal(resumed.code, 'INVALID_ARGUMENT');
    assertHidden(data.session_secret, [resumed.message, util.inspect(resumed)], 'resume error');

    const pi = new projectinsight.Client({ baseUrl: `${ctx.url}/api` });
    const pending = await pi.createDeviceActivation({ clientAgent: 'cli' });
    const code = await ctx.control.activationCode(pending.id);
    const wrongAgent = await rejection(pi.completeDeviceActivation(pending.id, code, { clientAgent: 'other' }));
    assert.equal(wrongAgent.reason, 'CLIENT_AGENT_MISMATCH');
    assertHidden(code, [wrongAgent.message, util.inspect(wrongAgent)], 'activation error');
    await ctx.control.fault({ path: '/api/device-activation/complete-request', delay_ms: 1_000, count: 10 });
    const slow = new projectinsight.Client({ baseUrl: `${ctx.url}/api`, timeoutMs: 200 });
    const timeout = await rejection(slow.completeDeviceActivation(pending.id, code, { clientAgent: 'cli' }));
    assert.equal(timeout.code, 'TIMEOUT');
    assertHidden(code, [timeout.message, util.inspect(timeout)], 'timeout error');
    await ctx.control.clearFaults();
  });
});
