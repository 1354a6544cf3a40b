// activeconnect.Monitor.open: a monitor on a store (memory, SQLite, and Postgres and Redis
// from DEVICEAUTH_TEST_POSTGRES_URL / DEVICEAUTH_TEST_REDIS_URL, which `source
// tests/store/servers.sh` sets). Two monitors on one store: this process only adds and
// reads (polling: false), a child process polls; a remote logout made at the emulator
// shows up here as an event and in status(). Bad URLs, keys and passwords; no secret in
// inspect or error text.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import util from 'node:util';
import { suite, deviceauth, activeconnect, bindingDir, ErrorCode, rejection, thrown, sleep } from './helpers.mjs';

const { Monitor } = activeconnect;
const { DeviceAuthError } = deviceauth;
const folder = mkdtempSync(path.join(tmpdir(), 'deviceauth-node-store-'));
const required = process.env.DEVICEAUTH_TEST_STORES_REQUIRED === '1';

/** A URL of a fresh namespace on the server in `variable`, or why there is none. */
function server(variable) {
  const url = process.env[variable];
  if (url) return { url: (namespace) => `${url}${url.includes('?') ? '&' : '?'}namespace=${namespace}` };
  return { missing: `${variable} is not set (source tests/store/servers.sh)` };
}

const STORES = {
  memory: { url: () => 'memory' },
  sqlite: { url: (namespace) => `sqlite://${path.join(folder, `${namespace}.db`)}` },
  postgres: server('DEVICEAUTH_TEST_POSTGRES_URL'),
  redis: server('DEVICEAUTH_TEST_REDIS_URL'),
};

/** `it` for a store: skipped without its server, failing instead when servers are required. */
function storeIt(kind, name, body) {
  const store = STORES[kind];
  if (!store.missing) return it(`${kind}: ${name}`, () => body(store));
  if (required) return it(`${kind}: ${name}`, () => assert.fail(`DEVICEAUTH_TEST_STORES_REQUIRED=1 but ${store.missing}`));
  return it(`${kind}: ${name}`, { skip: store.missing });
}

const namespace = () => `t_${randomBytes(6).toString('hex')}`;
const tokenOf = (session) => session.toJSON().session_token;
const fast = { intervalMs: 100, leaseMs: 3_000 };

/** Resolves once `check()` is true; fails after `ms`. */
async function until(check, ms = 10_000, what = 'the condition') {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Reads `monitor.events()` in the background into `seen`. */
function collect(monitor) {
  const seen = [];
  const done = (async () => {
    for await (const event of monitor.events()) seen.push(event);
  })();
  return { seen, done };
}

/** A child process polling `store` with its own monitor until its stdin closes. */
async function poller(store, sealKey, made, baseUrl) {
  const script = `
    const { activeconnect } = require(process.env.DA_BINDING);
    (async () => {
      const client = new activeconnect.Client({ applicationId: process.env.DA_APP, applicationSecret: process.env.DA_SECRET, baseUrl: process.env.DA_BASE });
      const monitor = await activeconnect.Monitor.open(client, {
        store: process.env.DA_STORE, sealKey: Buffer.from(process.env.DA_KEY, 'hex'), intervalMs: 100, leaseMs: 3000,
      });
      process.stdin.on('end', () => monitor.close().then(() => process.exit(0)));
      process.stdin.resume();
      console.log('polling=' + monitor.polling);
    })().catch((error) => { console.error(error.code, error.message); process.exit(1); });`;
  const env = {
    ...process.env,
    DA_BINDING: bindingDir,
    DA_STORE: store,
    DA_KEY: sealKey.toString('hex'),
    DA_APP: made.app,
    DA_SECRET: made.secret,
    DA_BASE: baseUrl,
  };
  const child = spawn(process.execPath, ['-e', script], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const line = await new Promise((resolve, reject) => {
    child.stdout.once('data', (data) => resolve(String(data).trim()));
    exited.then((code) => reject(new Error(`the poller exited with ${code}`)));
  });
  assert.equal(line, 'polling=true');
  return {
    async stop() {
      child.stdin.end();
      assert.equal(await exited, 0);
    },
  };
}

describe('activeconnect.Monitor.open', () => {
  let ctx;
  before(async () => {
    ctx = await suite();
  });
  after(async () => {
    await ctx?.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  /** A fresh application with one user signed in: { client, app, secret, user, session }. */
  async function signedIn() {
    const made = await ctx.newUser('alice');
    const session = await made.client.authenticateUser('alice');
    await ctx.control.act(tokenOf(session), 'approve');
    assert.equal(await session.refresh(), 'active');
    return { ...made, session };
  }

  /** Checks an event of a remote logout of `session` added under `key`. */
  function assertLogout(event, session, key) {
    const { id, at, ...rest } = event;
    assert.deepEqual(rest, { type: 'changed', user: 'alice', sessionToken: tokenOf(session), previous: 'active', status: 'closed', key });
    assert.equal(typeof id, 'string');
    assert.ok(id.length > 0);
    assert.ok(at instanceof Date && Math.abs(at.getTime() - Date.now()) < 60_000, String(at));
  }

  storeIt('memory', 'one monitor adds, polls, reports a remote logout and keeps its status', async () => {
    const { client, session } = await signedIn();
    const monitor = await Monitor.open(client, { store: 'memory', ...fast });
    assert.equal(monitor.store, 'memory');
    assert.equal(monitor.polling, true);
    const { seen, done } = collect(monitor);
    await sleep(200); // the subscription starts with the first read
    assert.equal(await monitor.add(session, 'signin-1'), true);
    assert.equal(await monitor.add(session, 'signin-1'), false, 'the key is taken');
    assert.equal(await monitor.add(JSON.stringify(session)), true, 'the key defaults to the session token');
    const stored = await monitor.status('signin-1');
    assert.equal(stored.status, 'active');
    assert.equal(stored.watched, true);
    assert.equal(stored.error, null);
    assert.ok(stored.updatedAt instanceof Date);

    await ctx.control.act(tokenOf(session), 'remote-logout');
    await until(() => seen.length >= 2, 10_000, 'two events');
    const byKey = new Map(seen.map((event) => [event.key, event]));
    assertLogout(byKey.get('signin-1'), session, 'signin-1');
    assertLogout(byKey.get(tokenOf(session)), session, tokenOf(session));
    assert.notEqual(byKey.get('signin-1').id, byKey.get(tokenOf(session)).id);
    const after = await monitor.status('signin-1');
    assert.equal(after.status, 'closed');
    assert.equal(after.watched, false);

    assert.equal(await monitor.remove('signin-1'), true);
    assert.equal(await monitor.remove('signin-1'), false);
    assert.equal(await monitor.status('signin-1'), null);
    await monitor.close();
    await done; // the iteration ends with the monitor
    assert.equal(monitor.closed, true);
    assert.equal(monitor.polling, false);
  });

  storeIt('memory', 'a session that cannot be polled is an unreachable event, and status() says why', async () => {
    const { client, session } = await signedIn();
    const monitor = await Monitor.open(client, { store: 'memory', intervalMs: 100, unreachableAfterMs: 300 });
    const { seen, done } = collect(monitor);
    await sleep(200);
    await ctx.control.fault({ path: '/authentication/session_status/', status: 503, count: 100_000 });
    try {
      assert.equal(await monitor.add(session, 'signin-2'), true);
      await until(() => seen.length >= 1, 20_000, 'the unreachable event');
    } finally {
      await ctx.control.clearFaults();
    }
    const { error, id, at, ...rest } = seen[0];
    const expected = { type: 'unreachable', user: 'alice', sessionToken: tokenOf(session), key: 'signin-2' };
    assert.deepEqual(rest, { ...expected, previous: 'active', status: 'active' });
    assert.ok(error instanceof DeviceAuthError);
    assert.equal(error.code, 'HTTP');
    assert.match(error.message, /503/);
    assert.equal(typeof id, 'string');
    assert.ok(at instanceof Date);
    const stored = await monitor.status('signin-2');
    assert.equal(stored.watched, false);
    assert.match(stored.error, /^HTTP: .*503/);
    await monitor.close();
    await done;
  });

  for (const kind of ['sqlite', 'postgres', 'redis']) {
    storeIt(kind, 'a web process adds with polling: false, a child process polls, the change reaches both', async (store) => {
      const { client, app, secret, session } = await signedIn();
      const url = store.url(namespace());
      const sealKey = randomBytes(32);
      const web = await Monitor.open(client, { store: url, sealKey, polling: false });
      assert.equal(web.store, kind);
      assert.equal(web.polling, false);
      const { seen, done } = collect(web);
      await sleep(300); // the subscription starts with the first read
      assert.equal(await web.add(session, 'signin-1'), true);
      assert.equal(await web.add(session.toJSON(), 'signin-1'), false, 'the key is taken');
      assert.equal((await web.status('signin-1')).status, 'active');

      const child = await poller(url, sealKey, { app, secret }, ctx.url);
      try {
        // Nobody polls here: the child's first poll writes the row back.
        const added = (await web.status('signin-1')).updatedAt.getTime();
        await until(async () => (await web.status('signin-1')).updatedAt.getTime() > added, 10_000, 'the child to poll');
        assert.equal(seen.length, 0, 'no change yet');

        await ctx.control.act(tokenOf(session), 'remote-logout');
        await until(() => seen.length >= 1, 15_000, 'the logout event');
        assertLogout(seen[0], session, 'signin-1');
        const stored = await web.status('signin-1');
        assert.equal(stored.status, 'closed');
        assert.equal(stored.watched, false);
        assert.equal(stored.error, null);
      } finally {
        await child.stop();
      }
      assert.equal(await web.remove('signin-1'), true);
      assert.equal(await web.status('signin-1'), null);
      await web.close();
      await done;
      assert.equal(seen.length, 1, JSON.stringify(seen));
    });
  }

  it('events() takes an AbortSignal like the in-memory monitor', async () => {
    const { client } = await ctx.newClient();
    const monitor = await Monitor.open(client, { store: 'memory' });
    const controller = new AbortController();
    const pending = monitor.events({ signal: controller.signal }).next();
    setTimeout(() => controller.abort(), 100);
    assert.equal((await rejection(pending)).code, ErrorCode.Aborted);
    await monitor.close();
  });

  it('new Monitor(client, { store }) throws INVALID_ARGUMENT pointing to Monitor.open', async () => {
    const { client } = await ctx.newClient();
    const error = thrown(() => new Monitor(client, { store: 'memory' }));
    assert.equal(error.code, ErrorCode.InvalidArgument);
    assert.match(error.message, /Monitor\.open/);
  });

  it('bad options are INVALID_ARGUMENT rejections, never echoing the key', async () => {
    const { client } = await ctx.newClient();
    const sealKey = randomBytes(32);
    const short = randomBytes(16);
    const sqlite = `sqlite://${path.join(folder, 'bad.db')}`;
    const cases = [
      [{ store: 'ftp://example.com/x', sealKey }, /store URL/],
      [{ store: 'redis://[::1', sealKey }, /store URL/],
      [{ store: 'sqlite:///tmp/x.db?namespace=1bad', sealKey }, /namespace/],
      [{ store: sqlite }, /needs a seal key of 32 bytes/],
      [{ store: sqlite, sealKey: short }, /32 bytes/],
      [{ store: sqlite, sealKey: 'not bytes' }, /Buffer or Uint8Array/],
      [{ store: 'memory', shard: { index: 0, count: 2 } }, /shard/],
      [{ store: 'memory', capacity: 0 }, /capacity/],
      [{ store: 'memory', leaseMs: 0 }, /lease/],
      [{ sealKey }, /store is required/],
    ];
    for (const [options, message] of cases) {
      const pending = Monitor.open(client, options);
      assert.ok(pending instanceof Promise, 'rejects, never throws');
      const error = await rejection(pending);
      assert.equal(error.code, ErrorCode.InvalidArgument, `${JSON.stringify(options)}: ${error.message}`);
      assert.match(error.message, message);
      for (const key of [sealKey, short]) {
        for (const form of [key.toString('hex'), key.toString('base64'), String(Array.from(key))]) {
          assert.ok(!error.message.includes(form), 'the key in the error');
        }
      }
    }
    assert.equal((await rejection(Monitor.open({}, { store: 'memory' }))).code, ErrorCode.InvalidArgument);
  });

  it('sqlite: a missing folder is STORE/UNREACHABLE', async () => {
    const { client } = await ctx.newClient();
    const store = `sqlite://${path.join(folder, 'missing', 'folder', 'x.db')}`;
    const error = await rejection(Monitor.open(client, { store, sealKey: randomBytes(32) }));
    assert.equal(error.code, ErrorCode.Store, error.message);
    assert.equal(error.reason, 'UNREACHABLE');
  });

  for (const kind of ['postgres', 'redis']) {
    storeIt(kind, 'a wrong password is STORE/UNAUTHORIZED, a closed port STORE/UNREACHABLE; no password shown', async (store) => {
      const { client } = await ctx.newClient();
      const real = new URL(store.url(namespace()));
      const password = decodeURIComponent(real.password);
      const wrong = new URL(real);
      wrong.password = 'wrong-Password-0123456789';
      const refused = await rejection(Monitor.open(client, { store: wrong.href, sealKey: randomBytes(32) }));
      assert.equal(refused.code, ErrorCode.Store, refused.message);
      assert.equal(refused.reason, 'UNAUTHORIZED');
      const closed = new URL(real);
      closed.port = '1';
      const unreachable = await rejection(Monitor.open(client, { store: closed.href, sealKey: randomBytes(32) }));
      assert.equal(unreachable.code, ErrorCode.Store, unreachable.message);
      assert.equal(unreachable.reason, 'UNREACHABLE');
      for (const error of [refused, unreachable]) {
        for (const secret of [password, 'wrong-Password-0123456789']) {
          assert.ok(!error.message.includes(secret), `a password in: ${error.message}`);
          assert.ok(!util.inspect(error).includes(secret), 'a password in inspect');
        }
      }
    });
  }

  storeIt('redis', 'util.inspect shows the kind of store, never its URL, password or seal key', async (store) => {
    const { client } = await ctx.newClient();
    const url = store.url(namespace());
    const password = decodeURIComponent(new URL(url).password);
    const sealKey = randomBytes(32);
    const monitor = await Monitor.open(client, { store: url, sealKey, polling: false });
    const shown = util.inspect(monitor, { depth: 5, showHidden: true });
    assert.equal(shown, "StoreMonitor { store: 'redis', polling: false, closed: false }");
    for (const secret of [password, url, sealKey.toString('hex'), sealKey.toString('base64')]) {
      assert.ok(!shown.includes(secret));
    }
    await monitor.close();
  });
});
