// AbortSignal on wait() and watch(), and the event loop staying free meanwhile.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { suite, rejection, sleep } from './helpers.mjs';

describe('abort and the event loop', () => {
  let ctx;
  before(async () => {
    ctx = await suite();
  });
  after(() => ctx?.stop());

  /** A pending session and a way to count its status polls. */
  const pendingSession = async () => {
    const { client, app, user } = await ctx.newUser();
    const session = await client.authenticateUser(user);
    const token = await ctx.lastSessionToken(app);
    const polls = async () => (await ctx.control.requests(`/authentication/session_status/${token}`)).length;
    return { session, token, polls };
  };

  it('aborting wait() rejects ABORTED within one interval and stops the polling', async () => {
    const { session, polls } = await pendingSession();
    const controller = new AbortController();
    const waiting = session.wait({ intervalMs: 100, timeoutMs: 30_000, signal: controller.signal });
    await sleep(350);
    assert.ok((await polls()) >= 2, 'it was polling');
    const abortedAt = Date.now();
    controller.abort();
    const error = await rejection(waiting);
    const latency = Date.now() - abortedAt;
    assert.ok(error instanceof Error);
    assert.equal(error.code, 'ABORTED');
    assert.ok(latency < 100 + 200, `rejected ${latency} ms after abort`);
    const after = await polls();
    await sleep(400);
    assert.equal(await polls(), after, 'no poll after the abort');
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });

  it('an already aborted signal rejects at once, without a request', async () => {
    const { session, polls } = await pendingSession();
    const error = await rejection(session.wait({ signal: AbortSignal.abort() }));
    assert.equal(error.code, 'ABORTED');
    assert.equal(await polls(), 0);
  });

  it('the abort listener is removed once wait() settles, so a signal can be reused', async () => {
    const { session, token } = await pendingSession();
    const controller = new AbortController();
    await ctx.control.act(token, 'approve');
    for (let i = 0; i < 15; i += 1) {
      assert.equal(await session.wait({ intervalMs: 20, signal: controller.signal }), 'active');
    }
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    const error = await rejection(session.wait({ timeoutMs: 100, intervalMs: 20, signal: {} }));
    assert.equal(error.code, 'INVALID_ARGUMENT');
    const hostile = {
      aborted: false,
      addEventListener() {
        throw new Error('no listeners here');
      },
      removeEventListener() {},
    };
    assert.equal((await rejection(session.wait({ signal: hostile }))).code, 'INVALID_ARGUMENT');
    assert.equal(await session.refresh(), 'active', 'the addon still works afterwards');
  });

  it('aborting watch() rejects the pending iteration ABORTED and stops the polling', async () => {
    const { session, polls } = await pendingSession();
    const controller = new AbortController();
    const seen = [];
    const loop = (async () => {
      for await (const status of session.watch({ intervalMs: 100, signal: controller.signal })) seen.push(status);
    })();
    await sleep(350);
    assert.ok((await polls()) >= 2, 'it was polling');
    const abortedAt = Date.now();
    controller.abort();
    const error = await rejection(loop);
    assert.equal(error.code, 'ABORTED');
    assert.ok(Date.now() - abortedAt < 300, `rejected ${Date.now() - abortedAt} ms after abort`);
    assert.deepEqual(seen, []);
    const after = await polls();
    await sleep(400);
    assert.equal(await polls(), after, 'no poll after the abort');
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });

  it('aborting between iterations rejects the next one', async () => {
    const { session, token } = await pendingSession();
    const controller = new AbortController();
    const watch = session.watch({ intervalMs: 50, signal: controller.signal });
    await ctx.control.act(token, 'approve');
    assert.deepEqual(await watch.next(), { done: false, value: 'active' });
    controller.abort();
    assert.equal((await rejection(watch.next())).code, 'ABORTED');
    assert.equal((await watch.next()).done, true);
  });

  it('a timer keeps firing while wait() polls: the event loop is free', async () => {
    const { session, token } = await pendingSession();
    let ticks = 0;
    const timer = setInterval(() => {
      ticks += 1;
    }, 10);
    setTimeout(() => ctx.control.act(token, 'approve'), 600);
    const started = Date.now();
    try {
      assert.equal(await session.wait({ intervalMs: 100 }), 'active');
    } finally {
      clearInterval(timer);
    }
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 550, `waited ${elapsed} ms`);
    assert.ok(ticks >= elapsed / 10 / 4, `${ticks} ticks in ${elapsed} ms`);
  });

  it('many calls in flight at once all complete', async () => {
    const { client, user } = await ctx.newUser();
    const results = await Promise.all(Array.from({ length: 200 }, () => client.hasRegisteredMobileDevice(user)));
    assert.equal(results.length, 200);
    assert.ok(results.every((r) => r === true));
  });
});
