// activeconnect.Monitor: many sessions watched by one polling task, each change reported
// once, shards without overlap, unreachable sessions reported, abort, close, inspect.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { getEventListeners } from 'node:events';
import util from 'node:util';
import { suite, activeconnect, bindingDir, rejection, thrown, sleep } from './helpers.mjs';

const fast = { intervalMs: 100, maxInFlight: 8, unreachableAfterMs: 500 };

/** Reads `monitor.events(options)` in the background into `seen`. */
function collect(monitor, options) {
  const seen = [];
  const done = (async () => {
    for await (const event of monitor.events(options)) seen.push(event);
  })();
  return { seen, done };
}

/** Resolves once `check()` is true; fails after `ms`. */
async function until(check, ms = 8_000, what = 'the condition') {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const tokenOf = (session) => session.toJSON().session_token;

describe('activeconnect.Monitor', () => {
  let ctx;
  before(async () => {
    ctx = await suite();
  });
  after(() => ctx?.stop());

  /** `count` active sessions of a fresh application. */
  const activeSessions = async (count) => {
    const { client, app, secret } = await ctx.newClient();
    const users = Array.from({ length: count }, (_, i) => `user-${i}`);
    await client.addUsers(users);
    const sessions = [];
    for (const user of users) {
      await ctx.control.registerDevice(app, user);
      const session = await client.authenticateUser(user);
      await ctx.control.act(tokenOf(session), 'approve');
      assert.equal(await session.refresh(), 'active');
      sessions.push(session);
    }
    return { client, app, secret, sessions };
  };

  it('reports each change once and drops ended sessions', async () => {
    const { client, sessions } = await activeSessions(20);
    const monitor = new activeconnect.Monitor(client, fast);
    sessions.forEach((session, i) => {
      // A Session, its JSON text or the parsed object.
      const form = [session, JSON.stringify(session), session.toJSON()][i % 3];
      assert.equal(monitor.add(form), true);
      assert.equal(monitor.add(session), false, 'added twice');
    });
    assert.equal(monitor.size, 20);
    assert.ok(monitor.has(tokenOf(sessions[0])));
    const { seen, done } = collect(monitor);
    for (const session of sessions.slice(0, 5)) await ctx.control.act(tokenOf(session), 'walkaway');
    for (const session of sessions.slice(5, 10)) await ctx.control.act(tokenOf(session), 'remote-logout');
    await until(() => seen.length >= 10, 8_000, '10 changes');
    await sleep(600); // several intervals more: nothing is reported twice
    assert.equal(seen.length, 10, JSON.stringify(seen));
    const byToken = new Map(seen.map((event) => [event.sessionToken, event]));
    assert.equal(byToken.size, 10);
    for (const [i, session] of sessions.slice(0, 10).entries()) {
      const event = byToken.get(tokenOf(session));
      assert.deepEqual(event, {
        type: 'changed',
        user: session.user,
        sessionToken: tokenOf(session),
        previous: 'active',
        status: i < 5 ? 'walkaway' : 'closed',
      });
    }
    assert.equal(monitor.size, 15, 'the 5 closed sessions are dropped');
    for (const session of sessions.slice(5, 10)) assert.equal(monitor.has(tokenOf(session)), false);

    // Coming back is a change too; a removed session is no longer reported.
    assert.equal(monitor.remove(tokenOf(sessions[1])), true);
    assert.equal(monitor.remove(tokenOf(sessions[1])), false);
    await ctx.control.act(tokenOf(sessions[0]), 'return');
    await ctx.control.act(tokenOf(sessions[1]), 'return');
    await until(() => seen.length >= 11, 8_000, 'the return');
    await sleep(400);
    assert.equal(seen.length, 11);
    assert.equal(seen[10].sessionToken, tokenOf(sessions[0]));
    assert.equal(seen[10].status, 'active');

    monitor.close();
    await done; // the iteration ends with the monitor
    assert.equal(monitor.closed, true);
    assert.equal(monitor.size, 0);
    assert.equal(monitor.add(sessions[12]), false, 'a closed monitor takes nothing');
    monitor.close();
  });

  it('splits sessions between shards without overlap', async () => {
    const { client, sessions } = await activeSessions(24);
    const monitors = [0, 1, 2, 3].map((index) => new activeconnect.Monitor(client, { ...fast, shard: { index, count: 4 } }));
    const owner = new Map();
    monitors.forEach((monitor, index) => {
      for (const session of sessions) {
        if (monitor.add(session)) {
          assert.ok(!owner.has(tokenOf(session)), 'two shards took one session');
          owner.set(tokenOf(session), index);
          assert.equal(activeconnect.shardOf(tokenOf(session), 4), index);
        }
      }
    });
    assert.equal(owner.size, 24, 'every session has a shard');
    assert.equal(monitors.reduce((sum, monitor) => sum + monitor.size, 0), 24);
    const readers = monitors.map((monitor) => collect(monitor));
    for (const session of sessions) await ctx.control.act(tokenOf(session), 'walkaway');
    const total = () => readers.reduce((sum, reader) => sum + reader.seen.length, 0);
    await until(() => total() >= 24, 8_000, '24 changes');
    await sleep(400);
    const seen = new Set();
    readers.forEach((reader, index) => {
      for (const event of reader.seen) {
        assert.equal(event.status, 'walkaway');
        assert.equal(owner.get(event.sessionToken), index, 'reported by its own shard');
        assert.ok(!seen.has(event.sessionToken), 'a change seen twice');
        seen.add(event.sessionToken);
      }
    });
    assert.equal(seen.size, 24);
    for (const monitor of monitors) monitor.close();
    await Promise.all(readers.map((reader) => reader.done));
  });

  it('shardOf is the stable hash every language uses', () => {
    // First 8 bytes of SHA-256("abc"), big-endian, modulo the count (pinned in the core).
    assert.equal(activeconnect.shardOf('abc', 1000), Number(0xba7816bf8f01cfean % 1000n));
    assert.equal(activeconnect.shardOf('abc', 1), 0);
    for (const bad of [0, -1, 1.5, '4', undefined]) {
      assert.equal(thrown(() => activeconnect.shardOf('abc', bad)).code, 'INVALID_ARGUMENT');
    }
    assert.equal(thrown(() => activeconnect.shardOf(42, 4)).code, 'INVALID_ARGUMENT');
  });

  it('reports sessions it cannot reach, with the error', async () => {
    const { client, sessions } = await activeSessions(3);
    const monitor = new activeconnect.Monitor(client, fast);
    for (const session of sessions) monitor.add(session);
    const { seen, done } = collect(monitor);
    await ctx.control.fault({ path: '/authentication/session_status/', status: 503, count: 100_000 });
    try {
      await until(() => seen.length >= 3, 15_000, '3 unreachable sessions');
    } finally {
      await ctx.control.clearFaults();
    }
    assert.deepEqual(new Set(seen.map((event) => event.sessionToken)), new Set(sessions.map(tokenOf)));
    for (const event of seen) {
      assert.equal(event.type, 'unreachable');
      assert.ok(sessions.some((session) => session.user === event.user));
      assert.ok(event.error instanceof Error);
      assert.equal(event.error.status, 503);
      assert.equal(typeof event.error.code, 'string');
    }
    assert.equal(monitor.size, 0, 'unreachable sessions are no longer watched');
    monitor.close();
    await done;
  });

  it('aborting events() rejects ABORTED; the monitor goes on', async () => {
    const { client, sessions } = await activeSessions(2);
    const monitor = new activeconnect.Monitor(client, fast);
    for (const session of sessions) monitor.add(session);
    const controller = new AbortController();
    const events = monitor.events({ signal: controller.signal });
    const pending = events.next();
    await sleep(200);
    controller.abort();
    const error = await rejection(pending);
    assert.ok(error instanceof Error);
    assert.equal(error.code, 'ABORTED');
    assert.deepEqual(await events.next(), { done: true, value: undefined });
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0, 'listener removed');
    assert.equal((await rejection(monitor.events({ signal: AbortSignal.abort() }).next())).code, 'ABORTED');

    // The monitor still polls, and a new iteration gets the changes (break ends it).
    assert.equal(monitor.size, 2);
    await ctx.control.act(tokenOf(sessions[0]), 'walkaway');
    let event;
    for await (event of monitor.events({ signal: AbortSignal.timeout(8_000) })) break;
    assert.equal(event.status, 'walkaway');
    assert.equal(event.sessionToken, tokenOf(sessions[0]));
    monitor.close();
  });

  it('the process exits after close(), and an idle monitor never holds it', async () => {
    const { client, app, secret, sessions } = await activeSessions(1);
    const run = (script) =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ['-e', script], {
          env: { ...process.env, BINDING: bindingDir, URL: ctx.url, APP: app, SECRET: secret, SESSION: JSON.stringify(sessions[0]) },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let out = '';
        child.stdout.on('data', (chunk) => (out += chunk));
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`the child did not exit within 10 s; printed ${out}`));
        }, 10_000);
        child.once('exit', (code) => {
          clearTimeout(timer);
          resolve({ code, out });
        });
      });
    const prelude = `
      const { activeconnect } = require(process.env.BINDING);
      const client = new activeconnect.Client({ applicationId: process.env.APP, applicationSecret: process.env.SECRET, baseUrl: process.env.URL });
      const monitor = new activeconnect.Monitor(client, { intervalMs: 50 });
      if (!monitor.add(process.env.SESSION)) throw new Error('not added');
    `;
    // A pending iteration keeps the process alive until close() ends it.
    const closing = await run(`${prelude}
      (async () => { for await (const event of monitor.events()) console.log(event.type); console.log('ended'); })();
      setTimeout(() => monitor.close(), 300);
    `);
    assert.equal(closing.code, 0);
    assert.match(closing.out, /ended/);
    // Polling alone (no iteration, no close) does not keep it alive.
    const started = Date.now();
    const idle = await run(`${prelude} console.log('size', monitor.size);`);
    assert.equal(idle.code, 0);
    assert.match(idle.out, /size 1/);
    assert.ok(Date.now() - started < 5_000);
  });

  it('util.inspect shows size and options, never a token or secret', async () => {
    const { client, secret, sessions } = await activeSessions(1);
    const monitor = new activeconnect.Monitor(client, { intervalMs: 2_000, maxInFlight: 7, shard: { index: 0, count: 1 } });
    monitor.add(sessions[0]);
    const shown = util.inspect(monitor, { depth: 4 });
    assert.match(shown, /^Monitor /);
    assert.match(shown, /size: 1/);
    assert.match(shown, /intervalMs: 2000/);
    assert.match(shown, /maxInFlight: 7/);
    assert.match(shown, /unreachableAfterMs: 60000/);
    assert.match(shown, /index: 0, count: 1/);
    const data = sessions[0].toJSON();
    for (const hidden of [data.session_token, data.session_secret, secret]) assert.ok(!shown.includes(hidden), shown);
    const events = monitor.events();
    assert.ok(!util.inspect(events).includes(data.session_token));
    monitor.close();
    assert.match(util.inspect(monitor), /closed: true/);
  });

  it('refuses bad arguments with INVALID_ARGUMENT', async () => {
    const { client } = await ctx.newClient();
    const code = (fn) => thrown(fn).code;
    assert.equal(code(() => new activeconnect.Monitor({})), 'INVALID_ARGUMENT');
    assert.equal(code(() => new activeconnect.Monitor()), 'INVALID_ARGUMENT');
    assert.equal(code(() => new activeconnect.Monitor(client, { intervalMs: 0 })), 'INVALID_ARGUMENT');
    assert.equal(code(() => new activeconnect.Monitor(client, { maxInFlight: 0 })), 'INVALID_ARGUMENT');
    assert.equal(code(() => new activeconnect.Monitor(client, { intervalMs: '5' })), 'INVALID_ARGUMENT');
    assert.equal(code(() => new activeconnect.Monitor(client, { shard: { index: 4, count: 4 } })), 'INVALID_ARGUMENT');
    assert.equal(code(() => new activeconnect.Monitor(client, { shard: { index: 0 } })), 'INVALID_ARGUMENT');
    const monitor = new activeconnect.Monitor(client);
    assert.equal(code(() => monitor.add(42)), 'INVALID_ARGUMENT');
    assert.equal(code(() => monitor.add('{"user":"u"}')), 'INVALID_ARGUMENT');
    assert.equal(code(() => monitor.remove(1)), 'INVALID_ARGUMENT');
    assert.equal(code(() => monitor.events({ signal: {} })), 'INVALID_ARGUMENT');
    const secret = 'hush-hush-secret';
    const error = thrown(() => monitor.add(`{"user":"u","session_secret":"${secret}"`));
    assert.ok(!error.message.includes(secret));
    monitor.close();
  });
});
