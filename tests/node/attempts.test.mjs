// What the web layer relies on from the core: the per-user attempt limit
// (`client.withAttemptLimit`: at most N sign-in requests per user and window, counted in a store
// shared by every process, the one over the limit refused with RATE_LIMITED before anything is
// sent) and the budgeted status check (`session.refresh({ timeoutMs })`: TIMEOUT once the
// budget has passed, whatever the retry policy, the session unchanged and usable afterwards).
// Stores: memory and SQLite always; Postgres and Redis from DEVICEAUTH_TEST_POSTGRES_URL /
// DEVICEAUTH_TEST_REDIS_URL (`source tests/store/servers.sh`), skipped when unset.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { suite, deviceauth, activeconnect, ErrorCode, rejection, sleep } from './helpers.mjs';

const folder = mkdtempSync(path.join(tmpdir(), 'deviceauth-node-attempts-'));
const required = process.env.DEVICEAUTH_TEST_STORES_REQUIRED === '1';
const SEAL_KEY = new Uint8Array(32).fill(7);
const STATUS = '/authentication/session_status/';

function server(variable) {
  const url = process.env[variable];
  if (url) return { url: (namespace) => `${url}${url.includes('?') ? '&' : '?'}namespace=${namespace}` };
  return { missing: `${variable} is not set (source tests/store/servers.sh)` };
}

const STORES = {
  memory: { url: () => 'memory', shared: false },
  sqlite: { url: (namespace) => `sqlite://${path.join(folder, `${namespace}.db`)}`, shared: true },
  postgres: { ...server('DEVICEAUTH_TEST_POSTGRES_URL'), shared: true },
  redis: { ...server('DEVICEAUTH_TEST_REDIS_URL'), shared: true },
};

/** `it` for a store: skipped without its server, failing instead when servers are required. */
function storeIt(kind, name, body) {
  const store = STORES[kind];
  if (!store.missing) return it(`${kind}: ${name}`, () => body(store.url(namespace())));
  if (required) return it(`${kind}: ${name}`, () => assert.fail(`DEVICEAUTH_TEST_STORES_REQUIRED=1 but ${store.missing}`));
  return it(`${kind}: ${name}`, { skip: store.missing });
}

const namespace = () => `t_${randomBytes(6).toString('hex')}`;

describe('attempt limit', () => {
  let ctx;
  before(async () => {
    ctx = await suite();
  });
  after(() => {
    rmSync(folder, { recursive: true, force: true });
    return ctx?.stop();
  });

  const signIns = async (app, user) => (await ctx.control.requests(`/authentication/authenticate_user/${app}/${user}`)).length;

  for (const kind of Object.keys(STORES)) {
    storeIt(kind, 'the request over the limit rejects RATE_LIMITED and is not sent', async (store) => {
      const { client, app, user } = await ctx.newUser();
      const limited = await client.withAttemptLimit({ store, attempts: 2, windowMs: 60_000, sealKey: SEAL_KEY });
      assert.ok(limited instanceof activeconnect.Client && limited !== client);
      assert.equal(limited.applicationId, client.applicationId);
      assert.equal(limited.baseUrl, client.baseUrl);
      await limited.authenticateUser(user);
      await limited.authenticateUser(user);
      const error = await rejection(limited.authenticateUser(user));
      assert.ok(error instanceof deviceauth.DeviceAuthError);
      assert.equal(error.code, ErrorCode.RateLimited);
      assert.ok(error.retryAfterMs > 0 && error.retryAfterMs <= 60_000, String(error.retryAfterMs));
      assert.match(error.message, /try again in/);
      assert.equal(await signIns(app, user), 2, 'the third was not sent');
      await client.authenticateUser(user); // the original client has no limit
      assert.equal(await signIns(app, user), 3);
    });

    if (STORES[kind].shared) {
      storeIt(kind, 'clients opening one store share the count', async (store) => {
        const { client, app, secret, user } = await ctx.newUser();
        const first = await client.withAttemptLimit({ store, attempts: 2, windowMs: 60_000, sealKey: SEAL_KEY });
        const otherProcess = new activeconnect.Client({ applicationId: app, applicationSecret: secret, baseUrl: ctx.url });
        const second = await otherProcess.withAttemptLimit({ store, attempts: 2, windowMs: 60_000 }); // sealKey optional
        await first.authenticateUser(user);
        await second.authenticateUser(user);
        for (const limited of [first, second]) {
          const error = await rejection(limited.authenticateUser(user));
          assert.equal(error.code, 'RATE_LIMITED');
          assert.ok(error.retryAfterMs > 0);
        }
        assert.equal(await signIns(app, user), 2);
      });
    }
  }

  it('defaults come from the core: 5 per 600 s', async () => {
    const { client, app, user } = await ctx.newUser();
    const limited = await client.withAttemptLimit({ store: 'memory' });
    for (let i = 0; i < 5; i += 1) await limited.authenticateUser(user);
    const error = await rejection(limited.authenticateUser(user));
    assert.equal(error.code, 'RATE_LIMITED');
    assert.ok(error.retryAfterMs > 590_000 && error.retryAfterMs <= 600_000, String(error.retryAfterMs));
    assert.equal(await signIns(app, user), 5);
  });

  it('the window ends', async () => {
    const { client, user } = await ctx.newUser();
    const limited = await client.withAttemptLimit({ store: `sqlite://${path.join(folder, 'window.db')}`, attempts: 1, windowMs: 500 });
    await limited.authenticateUser(user);
    const error = await rejection(limited.authenticateUser(user));
    assert.equal(error.code, 'RATE_LIMITED');
    assert.ok(error.retryAfterMs > 0 && error.retryAfterMs <= 500);
    await sleep(error.retryAfterMs + 100);
    await limited.authenticateUser(user);
  });

  it('bad options reject INVALID_ARGUMENT before anything is sent', async () => {
    const { client, app, user } = await ctx.newUser();
    const bad = [
      undefined,
      {},
      { store: 'memory', attempts: 0 },
      { store: 'memory', attempts: -1 },
      { store: 'memory', attempts: 1.5 },
      { store: 'memory', windowMs: -1 },
      { store: 'memory', windowMs: 0 },
      { store: 'memory', windowMs: Number.NaN },
      { store: 'memory', windowMs: 1e15 },
      { store: 'memory', attempts: '2' },
      { store: 42 },
      { store: 'ftp://example.com/x' },
      { store: 'not a store' },
      { store: 'memory', sealKey: new Uint8Array(5) },
      { store: 'memory', sealKey: 'x'.repeat(32) },
      { store: 'sqlite:///tmp/x.db', sealKey: new Uint8Array(31) },
    ];
    for (const options of bad) {
      const error = await rejection(client.withAttemptLimit(options));
      assert.equal(error.code, 'INVALID_ARGUMENT', `${JSON.stringify(options)}: ${error.message}`);
    }
    assert.equal(await signIns(app, user), 0);
  });

  it('an unreachable store rejects STORE', async () => {
    const { client } = await ctx.newClient();
    const error = await rejection(client.withAttemptLimit({ store: `sqlite://${path.join(folder, 'missing', 'folder', 'a.db')}` }));
    assert.equal(error.code, 'STORE');
  });
});

describe('budgeted status check', () => {
  let ctx;
  before(async () => {
    ctx = await suite();
  });
  afterEach(() => ctx.control.clearFaults());
  after(() => ctx?.stop());

  const approved = async () => {
    const { client, user } = await ctx.newUser('alice', { timeoutMs: 30_000 });
    const session = await client.authenticateUser(user);
    await ctx.control.act(session.sessionToken, 'approve');
    return session;
  };

  it('DEFAULT_CHECK_BUDGET_MS is 2000', () => {
    assert.equal(activeconnect.DEFAULT_CHECK_BUDGET_MS, 2000);
  });

  it('a hanging status endpoint rejects TIMEOUT at the budget; the session works afterwards', async () => {
    const session = await approved();
    await ctx.control.fault({ path: STATUS, delay_ms: 5000, count: 5 });
    const started = Date.now();
    const error = await rejection(session.refresh({ timeoutMs: 500 }));
    const took = Date.now() - started;
    assert.equal(error.code, ErrorCode.Timeout);
    assert.match(error.message, /no status within 500 ms/);
    assert.ok(took >= 450 && took < 1500, `${took} ms`);
    assert.equal(session.status, 'pending', 'a time-out leaves the status as it was');
    await ctx.control.clearFaults();
    assert.equal(await session.refresh({ timeoutMs: activeconnect.DEFAULT_CHECK_BUDGET_MS }), 'active');
    assert.equal(await session.refresh(), 'active', 'the old signature still works');
  });

  it('retried failures stop at the budget', async () => {
    const session = await approved();
    await ctx.control.fault({ path: STATUS, status: 503, retry_after: '1', count: 1000 });
    const started = Date.now();
    const error = await rejection(session.refresh({ timeoutMs: 500 }));
    assert.equal(error.code, 'TIMEOUT');
    assert.ok(Date.now() - started < 1500);
    assert.equal(session.status, 'pending');
  });

  it('a signal aborts the check', async () => {
    const session = await approved();
    await ctx.control.fault({ path: STATUS, delay_ms: 5000, count: 5 });
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 100);
    const error = await rejection(session.refresh({ timeoutMs: 3000, signal: controller.signal }));
    assert.equal(error.code, 'ABORTED');
    assert.ok(Date.now() - started < 1500);
    assert.equal((await rejection(session.refresh({ signal: AbortSignal.abort() }))).code, 'ABORTED');
  });

  it('bad budgets reject INVALID_ARGUMENT before any request', async () => {
    const session = await approved();
    const before = (await ctx.control.requests(STATUS + session.sessionToken)).length;
    for (const timeoutMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 1e15, '500']) {
      const error = await rejection(session.refresh({ timeoutMs }));
      assert.equal(error.code, 'INVALID_ARGUMENT', String(timeoutMs));
    }
    assert.equal((await rejection(session.refresh(42))).code, 'INVALID_ARGUMENT');
    assert.equal((await ctx.control.requests(STATUS + session.sessionToken)).length, before);
  });
});
