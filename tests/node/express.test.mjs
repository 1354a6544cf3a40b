// deviceauth/express (and deviceauth/web under it) against the real emulator: a real
// Express 5 server on a free port, driven over HTTP with fetch and a cookie jar.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { suite, activeconnect, bindingDir, sleep, startEmulator } from './helpers.mjs';

const require = createRequire(import.meta.url);
const express = require(`${bindingDir}/node_modules/express`);
const expressSession = require(`${bindingDir}/node_modules/express-session`);
const { deviceAuth, newUserId, problem, sse, Progress, PROGRESS_MESSAGES, CHECK_MESSAGES, waitScript, SignIns } = require(`${bindingDir}/express.js`);
const { DeviceAuthError } = require(bindingDir);

/** The rebuilt addon (core helper) has the budgeted refresh and the attempt limit. */
const NEW_ADDON = typeof activeconnect.DEFAULT_CHECK_BUDGET_MS !== 'undefined';
const NEEDS_NEW_ADDON = NEW_ADDON ? false : 'needs the rebuilt addon (activeconnect.DEFAULT_CHECK_BUDGET_MS, client.withAttemptLimit)';

/** A browser: keeps cookies, never follows redirects by itself. */
class Browser {
  constructor(base) {
    this.base = base;
    this.cookies = new Map();
    this.bodies = [];
  }

  async request(method, path, { form, accept, headers: extra = {} } = {}) {
    const headers = { ...extra };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (accept) headers.accept = accept;
    let body;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const response = await fetch(path.startsWith('http') ? path : this.base + path, { method, headers, body, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const pair = line.split(';')[0];
      const index = pair.indexOf('=');
      const name = pair.slice(0, index).trim();
      if (/;\s*max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(index + 1));
    }
    const text = await response.text();
    this.bodies.push(text);
    return {
      status: response.status,
      location: response.headers.get('location'),
      type: response.headers.get('content-type') || '',
      headers: response.headers,
      text,
      json: () => JSON.parse(text),
    };
  }

  get(path, options) {
    return this.request('GET', path, options);
  }

  json(path) {
    return this.request('GET', path, { accept: 'application/json' });
  }

  post(path, form, options = {}) {
    return this.request('POST', path, { form, ...options });
  }

  /** GET, following redirects (at most 5). */
  async follow(path, options) {
    let answer = await this.get(path, options);
    for (let i = 0; i < 5 && answer.status >= 300 && answer.status < 400; i++) answer = await this.get(answer.location, options);
    return answer;
  }
}

/** Waits until `probe()` is truthy (checked every 100 ms), at most `ms`; returns its value. */
async function until(probe, ms = 8000, what = 'the condition') {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await sleep(100);
  }
}

describe('deviceauth/express', () => {
  let ctx;
  const apps = [];
  before(async () => {
    ctx = await suite();
  });
  afterEach(async () => {
    await ctx.control.clearFaults();
    while (apps.length) await apps.pop().close();
  });
  after(() => ctx?.stop());

  /**
   * An Express app on a fresh emulator application: users sign up at POST /signup (which
   * lets the browser register a phone), `GET /me` tells who is signed in (JSON).
   */
  async function startApp(options = {}, { session = false, baseUrl } = {}) {
    const { app: appId, secret, client } = await ctx.newClient();
    const users = new Map();
    const app = express();
    if (session) app.use(expressSession({ secret: 'session secret', resave: false, saveUninitialized: false }));
    const auth = deviceAuth({
      applicationId: appId,
      applicationSecret: secret,
      baseUrl: baseUrl ?? ctx.url,
      secretKey: 'the app secret key',
      monitorIntervalMs: 250,
      logger: { warn() {}, info() {}, error() {} },
      findUser: (req) => users.get(req.body?.username) ?? null,
      loadUser: (id) => (users.has(id) ? { id, name: id } : null),
      ...options,
    });
    app.use(auth);
    app.get('/', (req, res) => res.send(`<p>${req.deviceauth.user ? `Hi, ${req.deviceauth.user.name}!` : 'Welcome'}</p><p id="message">${res.locals.deviceauthMessage ?? ''}</p>`));
    app.get('/me', (req, res) => res.json({ signedIn: req.deviceauth.signedIn, user: req.deviceauth.user, message: req.deviceauth.message, check: req.deviceauth.check }));
    app.get('/private', auth.required, (req, res) => res.send('secret page'));
    app.post('/signup', express.urlencoded({ extended: false }), (req, res) => {
      const user = { id: req.body.username, deviceauthId: newUserId() };
      users.set(user.id, user);
      res.redirect(303, req.deviceauth.register(user));
    });
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${server.address().port}`;
    const running = {
      url,
      users,
      auth,
      appId,
      secret,
      client,
      browser: () => new Browser(url),
      /** A user with a registered phone. */
      async user(name = `u${Math.random().toString(36).slice(2, 8)}`) {
        const user = { id: name, deviceauthId: newUserId() };
        users.set(name, user);
        await client.addUsers([user.deviceauthId]);
        await ctx.control.registerDevice(appId, user.deviceauthId);
        return user;
      },
      /** The newest sign-in session's token. */
      token: () => ctx.lastSessionToken(appId),
      async close() {
        server.closeAllConnections();
        server.close();
        await auth.close();
      },
    };
    apps.push(running);
    return running;
  }

  /** Starts a sign-in for `user` in `browser`, approves it on the phone, finishes it. */
  async function signIn(app, browser, user) {
    const started = await browser.post('/signin', { username: user.id });
    assert.equal(started.status, 303, started.text);
    assert.equal(started.location, '/signin/wait');
    const token = await app.token();
    await ctx.control.act(token, 'approve');
    const done = await browser.get('/signin/done');
    assert.equal(done.status, 303);
    assert.equal(done.location, '/');
    return token;
  }

  const me = async (browser) => (await browser.json('/me')).json();
  const sessionStatus = async (app, token) => (await ctx.control.sessions(app.appId)).find((s) => s.session_token === token)?.status;

  it('start -> waiting page -> progress -> approved -> signed in, in the cookie', async () => {
    const app = await startApp();
    const user = await app.user('alice');
    const browser = app.browser();
    const started = await browser.post('/signin', { username: 'alice' });
    assert.equal(started.status, 303);
    assert.deepEqual([...browser.cookies.keys()], ['deviceauth']);
    const cookie = browser.cookies.get('deviceauth');
    assert.match(cookie, /^v1\.[A-Za-z0-9_-]+$/);
    assert.ok(!cookie.includes(user.deviceauthId));

    const wait = await browser.get('/signin/wait');
    assert.equal(wait.status, 200);
    assert.match(wait.text, /<div id="deviceauth-wait" data-events="\/signin\/events" data-status="\/signin\/status" data-next="\/signin\/done" data-ended="\/signin\/ended"/);
    assert.match(wait.text, /<script src="\/deviceauth-wait.js" defer><\/script>/);
    const script = await browser.get('/deviceauth-wait.js');
    assert.equal(script.status, 200);
    assert.match(script.type, /javascript/);
    assert.equal(script.text, waitScript());

    const pending = await browser.json('/signin/status');
    assert.deepEqual(pending.json(), { state: 'pending', status: 'pending', message: PROGRESS_MESSAGES.pending, done: false });
    const token = await app.token();
    await ctx.control.act(token, 'approve');
    const approved = await browser.json('/signin/status');
    assert.deepEqual(approved.json(), { state: 'approved', status: 'active', message: PROGRESS_MESSAGES.approved, done: true });
    const done = await browser.get('/signin/done');
    assert.equal(done.status, 303);
    assert.equal(done.location, '/');
    assert.deepEqual(await me(browser), {
      signedIn: true,
      user: { id: 'alice', name: 'alice' },
      message: null,
      check: { signedIn: true, status: 'active', reason: null, message: null },
    });
    assert.match((await browser.get('/')).text, /Hi, alice!/);
    assert.equal((await browser.get('/private')).text, 'secret page');
    // The session is in the store: the monitor polls it, a page only reads the store.
    assert.equal((await app.auth.signIns.monitor.status(token)).status, 'active');
    for (const body of browser.bodies) {
      assert.ok(!body.includes(token), 'no session token in a page or JSON');
      assert.ok(!body.includes(cookie.slice(3)), 'no sealed value in a page or JSON');
      assert.ok(!body.includes(app.secret));
      assert.ok(!body.includes('session_secret'));
    }
  });

  it('the SSE stream sends each change in order and ends at approved', async () => {
    const app = await startApp();
    const user = await app.user();
    const browser = app.browser();
    await browser.post('/signin', { username: user.id });
    const token = await app.token();
    const response = await fetch(`${app.url}/signin/events`, {
      headers: { cookie: `deviceauth=${browser.cookies.get('deviceauth')}`, accept: 'text/event-stream' },
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type'), /^text\/event-stream/);
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const events = [];
    const read = async () => {
      const { value, done } = await reader.read();
      if (done) return false;
      text += decoder.decode(value, { stream: true });
      for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n')) {
        const block = text.slice(0, end);
        text = text.slice(end + 2);
        const data = /^event: progress\ndata: (.*)$/.exec(block);
        assert.ok(data, `an SSE progress event: ${JSON.stringify(block)}`);
        events.push(JSON.parse(data[1]));
      }
      return true;
    };
    while (events.length < 1) assert.ok(await read());
    assert.equal(events[0].state, 'pending');
    await ctx.control.call('POST', `/_emulator/sessions/${token}/status`, { status: 'identifying' });
    while (events.length < 2) assert.ok(await read());
    assert.equal(events[1].state, 'identifying');
    await ctx.control.act(token, 'approve');
    while (await read());
    assert.deepEqual(
      events.map((e) => e.state),
      ['pending', 'identifying', 'approved'],
    );
    assert.deepEqual(events[2], { state: 'approved', status: 'active', message: PROGRESS_MESSAGES.approved, done: true });
    for (const event of events) assert.deepEqual(Object.keys(event), ['state', 'status', 'message', 'done']);
    // The cookie cannot change under a stream: the finish route signs in.
    assert.equal((await browser.get('/signin/done')).location, '/');
    assert.equal((await me(browser)).signedIn, true);
  });

  it('a remote logout is noticed within a few seconds, with its message, never a 500', async () => {
    const app = await startApp();
    const user = await app.user();
    const browser = app.browser();
    const token = await signIn(app, browser, user);
    assert.equal((await me(browser)).signedIn, true);
    await ctx.control.act(token, 'remote-logout');
    const started = Date.now();
    // A page load: redirected to itself once, signed out, with the message.
    const page = await until(async () => {
      const answer = await browser.get('/');
      assert.ok(answer.status < 500);
      return answer.status === 303 ? answer : null;
    }, 5000, 'the remote logout being noticed');
    assert.ok(Date.now() - started < 5000);
    assert.equal(page.location, '/');
    const shown = await browser.get('/');
    assert.match(shown.text, /Welcome/);
    assert.ok(shown.text.includes(CHECK_MESSAGES.remote_logout));
    assert.equal((await browser.get('/')).text.includes(CHECK_MESSAGES.remote_logout), false, 'the message is shown once');
    assert.equal((await me(browser)).signedIn, false);
    const hidden = await browser.get('/private');
    assert.equal(hidden.status, 303);
    assert.equal(hidden.location, '/signin');
  });

  it('the signed-out redirect stays on this site (no open redirect)', async () => {
    const app = await startApp({ store: null });
    const user = await app.user();
    const browser = app.browser();
    const token = await signIn(app, browser, user);
    await ctx.control.act(token, 'remote-logout');
    const answer = await browser.get('//evil.example/path');
    assert.equal(answer.status, 303);
    assert.equal(answer.location, '/');
  });

  it('a JSON request learns of the remote logout as JSON', async () => {
    const app = await startApp();
    const user = await app.user();
    const browser = app.browser();
    const token = await signIn(app, browser, user);
    await ctx.control.act(token, 'remote-logout');
    const answer = await until(async () => {
      const body = await me(browser);
      return body.signedIn ? null : body;
    }, 5000);
    assert.deepEqual(answer, {
      signedIn: false,
      user: null,
      message: CHECK_MESSAGES.remote_logout,
      check: { signedIn: false, status: 'closed', reason: 'remote_logout', message: CHECK_MESSAGES.remote_logout },
    });
    const denied = await browser.json('/private');
    assert.equal(denied.status, 401);
    assert.equal(denied.json().error, 'SIGN_IN_REQUIRED');
  });

  it("walkaway 'sign_out' (default) signs the user out and logs the service session out", async () => {
    const app = await startApp();
    const user = await app.user();
    const browser = app.browser();
    const token = await signIn(app, browser, user);
    await ctx.control.act(token, 'walkaway');
    const answer = await until(async () => {
      const body = await me(browser);
      return body.signedIn ? null : body;
    }, 5000);
    assert.equal(answer.check.reason, 'walkaway');
    assert.equal(answer.message, CHECK_MESSAGES.walkaway);
    await until(async () => (await sessionStatus(app, token)) === 'closed', 5000, 'the service session being logged out');
  });

  it("walkaway 'keep' keeps the user signed in until the session ends", async () => {
    const app = await startApp({ walkaway: 'keep' });
    const user = await app.user();
    const browser = app.browser();
    const token = await signIn(app, browser, user);
    await ctx.control.act(token, 'walkaway');
    await until(async () => (await app.auth.signIns.monitor.status(token)).status === 'walkaway', 5000, 'the monitor seeing the walkaway');
    const kept = await me(browser);
    assert.equal(kept.signedIn, true);
    assert.deepEqual(kept.check, { signedIn: true, status: 'walkaway', reason: null, message: null });
    assert.equal(await sessionStatus(app, token), 'walkaway');
    await ctx.control.act(token, 'remote-logout');
    const out = await until(async () => {
      const body = await me(browser);
      return body.signedIn ? null : body;
    }, 5000);
    assert.equal(out.check.reason, 'remote_logout');
  });

  it("a walkaway during the sign-in: approved under 'keep', ended under 'sign_out'", async () => {
    for (const [walkaway, state] of [['keep', 'approved'], ['sign_out', 'ended']]) {
      const app = await startApp({ walkaway });
      const user = await app.user();
      const browser = app.browser();
      await browser.post('/signin', { username: user.id });
      const token = await app.token();
      await ctx.control.act(token, 'approve');
      await ctx.control.act(token, 'walkaway');
      const progress = (await browser.json('/signin/status')).json();
      assert.equal(progress.state, state, walkaway);
      assert.equal(progress.status, 'walkaway');
      assert.equal(progress.done, true);
    }
  });

  it('a refused sign-in ends on a page that says so', async () => {
    const app = await startApp();
    const user = await app.user();
    const browser = app.browser();
    await browser.post('/signin', { username: user.id });
    await ctx.control.act(await app.token(), 'deny');
    const done = await browser.get('/signin/done');
    assert.equal(done.status, 303);
    assert.equal(done.location, '/signin/ended?state=refused');
    const page = await browser.get(done.location);
    assert.equal(page.status, 200);
    assert.match(page.text, /data-testid="sign-in-ended" data-state="refused"/);
    assert.ok(page.text.includes(PROGRESS_MESSAGES.refused));
    assert.equal((await me(browser)).signedIn, false);
    // JSON: the progress, then the ended page's JSON.
    await browser.post('/signin', { username: user.id });
    await ctx.control.act(await app.token(), 'expire');
    assert.deepEqual((await browser.json('/signin/status')).json(), { state: 'timeout', status: 'timeout', message: PROGRESS_MESSAGES.timeout, done: true });
    assert.deepEqual((await browser.json('/signin/ended?state=timeout')).json(), { state: 'timeout', message: PROGRESS_MESSAGES.timeout });
  });

  it('an unknown user, a user without a phone: clear pages and JSON', async () => {
    const app = await startApp();
    const browser = app.browser();
    const unknown = await browser.post('/signin', { username: 'nobody' });
    assert.equal(unknown.status, 404);
    assert.match(unknown.text, /There is no account with that name\./);
    const unknownJson = await browser.post('/signin', { username: 'nobody' }, { accept: 'application/json' });
    assert.equal(unknownJson.status, 404);
    assert.deepEqual(unknownJson.json(), { error: 'UNKNOWN_USER', message: 'There is no account with that name.' });

    app.users.set('phoneless', { id: 'phoneless', deviceauthId: newUserId() });
    await app.client.addUsers([app.users.get('phoneless').deviceauthId]);
    const phoneless = await browser.post('/signin', { username: 'phoneless' });
    assert.equal(phoneless.status, 409);
    assert.match(phoneless.text, /data-testid="problem" data-status="409"/);
    assert.ok(phoneless.text.includes('This account has no registered phone yet. Register your phone first.'));
    const json = await browser.post('/signin', { username: 'phoneless' }, { accept: 'application/json' });
    assert.deepEqual(json.json(), { error: 'NOT_STARTED', message: 'This account has no registered phone yet. Register your phone first.' });
  });

  it('over the attempt limit: 429 page and JSON with Retry-After, nothing sent', { skip: NEEDS_NEW_ADDON }, async () => {
    const app = await startApp({ attempts: 2, attemptWindowMs: 60_000 });
    const user = await app.user();
    const browser = app.browser();
    assert.equal((await browser.post('/signin', { username: user.id })).status, 303);
    assert.equal((await browser.post('/signin', { username: user.id })).status, 303);
    const before = (await ctx.control.sessions(app.appId)).length;
    const page = await browser.post('/signin', { username: user.id });
    assert.equal(page.status, 429);
    assert.match(page.text, /Too many sign-in requests for this account\. Try again in \d+ s\./);
    const seconds = Number(page.headers.get('retry-after'));
    assert.ok(seconds >= 1 && seconds <= 60, `Retry-After ${seconds}`);
    const json = await browser.post('/signin', { username: user.id }, { accept: 'application/json' });
    assert.equal(json.status, 429);
    assert.equal(json.json().error, 'RATE_LIMITED');
    assert.match(json.json().message, /^Too many sign-in requests for this account\. Try again in \d+ s\.$/);
    assert.equal((await ctx.control.sessions(app.appId)).length, before, 'nothing was sent');
  });

  it('RATE_LIMITED from the client (simulated): 429 page and JSON with Retry-After', async () => {
    const { app: appId, secret } = await ctx.newClient();
    class Limited extends activeconnect.Client {
      authenticateUser() {
        return Promise.reject(Object.assign(new DeviceAuthError('RATE_LIMITED', 'limited'), { retryAfterMs: 41_500 }));
      }
    }
    const client = new Limited({ applicationId: appId, applicationSecret: secret, baseUrl: ctx.url });
    const app = await startApp({ client, attempts: 0 });
    app.users.set('kim', { id: 'kim', deviceauthId: 'kim' });
    const browser = app.browser();
    const page = await browser.post('/signin', { username: 'kim' });
    assert.equal(page.status, 429);
    assert.equal(page.headers.get('retry-after'), '42');
    assert.match(page.text, /data-testid="problem" data-status="429"/);
    assert.ok(page.text.includes('Too many sign-in requests for this account. Try again in 42 s.'));
    const json = await browser.post('/signin', { username: 'kim' }, { accept: 'application/json' });
    assert.equal(json.status, 429);
    assert.deepEqual(json.json(), { error: 'RATE_LIMITED', message: 'Too many sign-in requests for this account. Try again in 42 s.', retryAfter: 42 });
  });

  it('with express-session the SSE stream keeps each new sealed session, and the sign-in finishes', async () => {
    const app = await startApp({}, { session: true });
    const user = await app.user();
    const browser = app.browser();
    await browser.post('/signin', { username: user.id });
    const token = await app.token();
    const response = await fetch(`${app.url}/signin/events`, {
      headers: { cookie: `connect.sid=${browser.cookies.get('connect.sid')}`, accept: 'text/event-stream' },
    });
    const reader = response.body.getReader();
    let text = '';
    const next = async () => {
      const { value, done } = await reader.read();
      if (!done) text += new TextDecoder().decode(value);
      return !done;
    };
    while (!text.includes('"state":"pending"')) assert.ok(await next());
    await ctx.control.act(token, 'approve');
    while (await next());
    assert.match(text, /"state":"approved"/);
    assert.equal((await browser.get('/signin/done')).location, '/');
    assert.equal((await me(browser)).signedIn, true);
  });

  it('the service down: 503 page and JSON, never a 500', async () => {
    const other = await startEmulator();
    const app = await startApp({}, { baseUrl: other.url });
    await other.stop();
    app.users.set('bob', { id: 'bob', deviceauthId: 'bob' });
    const browser = app.browser();
    const page = await browser.post('/signin', { username: 'bob' });
    assert.equal(page.status, 503);
    assert.match(page.text, /data-testid="problem" data-status="503"/);
    assert.ok(page.text.includes('The sign-in service cannot be reached right now. Try again in a moment.'));
    const json = await browser.post('/signin', { username: 'bob' }, { accept: 'application/json' });
    assert.equal(json.status, 503);
    assert.deepEqual(json.json(), { error: 'TRANSPORT', message: 'The sign-in service cannot be reached right now. Try again in a moment.' });
  });

  it('a dropped authenticate_user connection is a 503 page', async () => {
    const app = await startApp();
    const user = await app.user();
    await ctx.control.fault({ path: `/authentication/authenticate_user/${app.appId}/`, drop: true });
    const page = await app.browser().post('/signin', { username: user.id });
    assert.equal(page.status, 503);
    assert.ok(page.text.includes('The sign-in service cannot be reached right now. Try again in a moment.'));
  });

  it('fail-fast: a hung status endpoint holds no page request past the check budget', async () => {
    const app = await startApp();
    const user = await app.user();
    const browser = app.browser();
    await browser.post('/signin', { username: user.id });
    await ctx.control.fault({ path: '/authentication/session_status/', delay_ms: 15_000 });
    let started = Date.now();
    const status = await browser.json('/signin/status');
    assert.ok(Date.now() - started < 2500, `status took ${Date.now() - started} ms`);
    assert.equal(status.status, 200);
    assert.deepEqual(status.json(), { state: 'unavailable', status: null, message: PROGRESS_MESSAGES.unavailable, done: false });
    started = Date.now();
    const done = await browser.get('/signin/done');
    assert.ok(Date.now() - started < 2500, `done took ${Date.now() - started} ms`);
    assert.equal(done.location, '/signin/wait');
  });

  it('fail-fast without a store: closed signs out within the budget, open keeps the user', async () => {
    for (const failMode of ['closed', 'open']) {
      const app = await startApp({ store: null, failMode });
      const user = await app.user();
      const browser = app.browser();
      await signIn(app, browser, user);
      assert.equal((await me(browser)).signedIn, true);
      await ctx.control.fault({ path: '/authentication/session_status/', delay_ms: 15_000 });
      const started = Date.now();
      const answer = await me(browser);
      assert.ok(Date.now() - started < 2500, `${failMode}: took ${Date.now() - started} ms`);
      if (failMode === 'closed') {
        assert.equal(answer.signedIn, false);
        assert.equal(answer.message, CHECK_MESSAGES.unavailable);
        assert.equal(answer.check.reason, 'unavailable');
      } else {
        assert.equal(answer.signedIn, true);
        assert.deepEqual(answer.check, { signedIn: true, status: null, reason: null, message: null });
      }
      await ctx.control.clearFaults();
    }
  });

  it('fail mode open never bridges a refusal: a 401 on the status call signs the user out', async () => {
    const app = await startApp({ store: null, failMode: 'open' });
    const user = await app.user();
    const browser = app.browser();
    await signIn(app, browser, user);
    assert.equal((await me(browser)).signedIn, true);
    await ctx.control.fault({ path: '/authentication/session_status/', status: 401 });
    const answer = await me(browser);
    assert.equal(answer.signedIn, false);
    assert.equal(answer.check.reason, 'unavailable');
    await ctx.control.clearFaults();
  });

  it('without a store each request refreshes once: a remote logout is seen at the next request', async () => {
    const app = await startApp({ store: null });
    const user = await app.user();
    const browser = app.browser();
    const token = await signIn(app, browser, user);
    assert.equal((await me(browser)).signedIn, true);
    await ctx.control.act(token, 'remote-logout');
    const answer = await me(browser);
    assert.equal(answer.signedIn, false);
    assert.equal(answer.check.reason, 'remote_logout');
  });

  it('sign-out logs the service session out; a replayed cookie stays signed out', async () => {
    const app = await startApp();
    const user = await app.user();
    const browser = app.browser();
    const token = await signIn(app, browser, user);
    const signedInCookie = browser.cookies.get('deviceauth');
    const out = await browser.post('/signout', {});
    assert.equal(out.status, 303);
    assert.equal(out.location, '/');
    assert.match((await browser.get('/')).text, /You are signed out\./);
    assert.equal(await sessionStatus(app, token), 'closed');
    assert.equal(await app.auth.signIns.monitor.status(token), null);
    const replay = app.browser();
    replay.cookies.set('deviceauth', signedInCookie);
    assert.equal((await me(replay)).signedIn, false);
    const json = await app.browser().post('/signout', {}, { accept: 'application/json' });
    assert.deepEqual(json.json(), { signedIn: false, message: 'You are signed out.' });
  });

  it('a damaged or foreign cookie is nobody, never a 500', async () => {
    const app = await startApp();
    for (const value of ['v1.AAAA', 'garbage', `v1.${'A'.repeat(200)}`]) {
      const browser = app.browser();
      browser.cookies.set('deviceauth', value);
      const answer = await browser.get('/');
      assert.equal(answer.status, 200);
      assert.match(answer.text, /Welcome/);
      const status = await browser.json('/signin/status');
      assert.equal(status.json().state, 'ended');
    }
  });

  it('registration: the page shows the QR code and link, then sees the phone registered', async () => {
    const app = await startApp();
    const browser = app.browser();
    assert.equal((await browser.get('/register')).status, 403);
    const signup = await browser.post('/signup', { username: 'carol' });
    assert.equal(signup.location, '/register');
    const page = await browser.get('/register');
    assert.equal(page.status, 200);
    assert.match(page.text, /data-testid="registration-qr"><svg/);
    assert.match(page.text, /data-testid="device-state" data-registered="no"/);
    const link = /data-testid="registration-link">([^<]+)</.exec(page.text)[1].replaceAll('&amp;', '&');
    await ctx.control.call('POST', `/_emulator/register?link=${encodeURIComponent(link)}`);
    const after = await browser.json('/register');
    assert.deepEqual(after.json(), { registered: true, link });
    assert.match((await browser.get('/register')).text, /data-registered="yes"/);
    // ... and the new user signs in.
    await signIn(app, browser, app.users.get('carol'));
    assert.equal((await me(browser)).user.id, 'carol');
  });

  it('with express-session the state lives in req.session, and sign-in gets a new session id', async () => {
    const app = await startApp({}, { session: true });
    const user = await app.user();
    const browser = app.browser();
    await browser.post('/signin', { username: user.id });
    assert.deepEqual([...browser.cookies.keys()], ['connect.sid']);
    const before = browser.cookies.get('connect.sid');
    const token = await app.token();
    await ctx.control.act(token, 'approve');
    assert.equal((await browser.get('/signin/done')).location, '/');
    assert.notEqual(browser.cookies.get('connect.sid'), before, 'a new session id at sign-in');
    assert.equal((await me(browser)).signedIn, true);
    await ctx.control.act(token, 'remote-logout');
    await until(async () => !(await me(browser)).signedIn, 5000);
  });

  it('JSON clients: start answers 202 with the links', async () => {
    const app = await startApp();
    const user = await app.user();
    const browser = app.browser();
    const started = await browser.post('/signin', { username: user.id }, { accept: 'application/json' });
    assert.equal(started.status, 202);
    assert.deepEqual(started.json(), {
      state: 'pending',
      status: 'pending',
      message: PROGRESS_MESSAGES.pending,
      done: false,
      links: { wait: '/signin/wait', events: '/signin/events', status: '/signin/status', done: '/signin/done' },
    });
    const waiting = await browser.request('GET', '/signin/done', { accept: 'application/json' });
    assert.equal(waiting.status, 202);
    assert.equal(waiting.json().state, 'pending');
  });

  it('bad options are refused at startup, naming the option', () => {
    const base = { applicationId: 'a', applicationSecret: 's', secretKey: 'k', findUser: () => null };
    const cases = [
      [{ ...base, walkaway: 'never' }, /walkaway/],
      [{ ...base, failMode: 'shut' }, /failMode/],
      [{ ...base, checkBudgetMs: 0 }, /checkBudgetMs/],
      [{ ...base, attempts: -1 }, /attempts/],
      [{ ...base, sealKey: 'abc' }, /sealKey/],
      [{ ...base, secretKey: undefined }, /sealKey .* or secretKey/],
      [{ ...base, findUser: undefined }, /findUser/],
      [{ ...base, applicationSecret: undefined }, /applicationSecret/],
    ];
    for (const [options, message] of cases) {
      assert.throws(() => deviceAuth(options), (error) => error instanceof DeviceAuthError && error.code === 'INVALID_ARGUMENT' && message.test(error.message));
    }
  });
});

describe('deviceauth/web', () => {
  it('problem() maps every error to the shared status and message', () => {
    const e = (code, reason, extra = {}) => Object.assign(new DeviceAuthError(code, 'x', undefined, reason), extra);
    assert.deepEqual(problem(e('RATE_LIMITED', undefined, { retryAfterMs: 41_200 })), {
      status: 429,
      message: 'Too many sign-in requests for this account. Try again in 42 s.',
      retryAfter: 42,
    });
    assert.deepEqual(problem(e('NOT_STARTED', 'NO_MOBILE_DEVICE')), { status: 409, message: 'This account has no registered phone yet. Register your phone first.' });
    assert.deepEqual(problem(e('NOT_FOUND')), { status: 409, message: 'This account has no registered phone yet. Register your phone first.' });
    assert.deepEqual(problem(e('NOT_STARTED', 'USER_LOCKED')), { status: 409, message: 'The sign-in could not start (USER_LOCKED).' });
    for (const code of ['TRANSPORT', 'TIMEOUT', 'STORE']) {
      assert.deepEqual(problem(e(code)), { status: 503, message: 'The sign-in service cannot be reached right now. Try again in a moment.' });
    }
    assert.deepEqual(problem(e('UNAUTHORIZED')), { status: 502, message: "The sign-in service refused this application's credentials; check the application id and secret." });
    assert.deepEqual(problem(e('INVALID_ARGUMENT')), { status: 400, message: 'That account name cannot be used for sign-in.' });
    assert.deepEqual(problem(e('PROTOCOL')), { status: 502, message: 'The sign-in service answered with an error (PROTOCOL).' });
  });

  it('Progress and sse() never carry the sealed session', () => {
    const progress = new Progress('pending', 'pending', 'SEALED-VALUE');
    assert.equal(progress.sealed, 'SEALED-VALUE');
    assert.ok(!JSON.stringify(progress).includes('SEALED'));
    assert.ok(!JSON.stringify({ ...progress }).includes('SEALED'));
    assert.equal(
      sse(progress),
      `event: progress\ndata: {"state":"pending","status":"pending","message":"${PROGRESS_MESSAGES.pending}","done":false}\n\n`,
    );
    assert.equal(new Progress('unavailable').done, false);
    assert.equal(new Progress('timeout').done, true);
  });

  it('newUserId() is 24 random base64url characters', () => {
    const ids = new Set(Array.from({ length: 100 }, () => newUserId()));
    assert.equal(ids.size, 100);
    for (const id of ids) assert.match(id, /^[A-Za-z0-9_-]{24}$/);
  });

  it('optionsFromEnv() reads the DEVICEAUTH_* settings and names a bad one', () => {
    const { optionsFromEnv } = require(`${bindingDir}/web.js`);
    const options = optionsFromEnv({
      DEVICEAUTH_APPLICATION_ID: 'app',
      DEVICEAUTH_APPLICATION_SECRET: 'secret',
      DEVICEAUTH_STORE: 'sqlite:///tmp/x.db',
      DEVICEAUTH_SEAL_KEY: 'ab'.repeat(32),
      DEVICEAUTH_WALKAWAY: 'keep',
      DEVICEAUTH_FAIL_MODE: 'open',
      DEVICEAUTH_CHECK_BUDGET: '1.5',
      DEVICEAUTH_ATTEMPTS: '0',
      DEVICEAUTH_ATTEMPT_WINDOW: '60',
      DEVICEAUTH_MONITOR: 'false',
      DEVICEAUTH_MONITOR_INTERVAL: '7.5',
    });
    assert.equal(options.checkBudgetMs, 1500);
    assert.equal(options.monitorIntervalMs, 7500);
    assert.equal(optionsFromEnv({ DEVICEAUTH_STORE: 'None' }).store, null);
    assert.equal(options.attempts, 0);
    assert.equal(options.attemptWindowMs, 60_000);
    assert.equal(options.monitor, false);
    assert.equal(options.walkaway, 'keep');
    assert.equal(options.sealKey.length, 32);
    for (const [name, value] of [['DEVICEAUTH_ATTEMPTS', 'five'], ['DEVICEAUTH_CHECK_BUDGET', '-1'], ['DEVICEAUTH_SEAL_KEY', 'short'], ['DEVICEAUTH_MONITOR', 'maybe'], ['DEVICEAUTH_MONITOR_INTERVAL', '0']]) {
      assert.throws(() => optionsFromEnv({ [name]: value }), (error) => error.code === 'INVALID_ARGUMENT' && error.message.includes(name));
    }
  });

  it('SignIns.check of an unreadable value is signed out (ended), never a throw', async () => {
    const signIns = new SignIns({ applicationId: 'a', applicationSecret: 's', secretKey: 'k', store: null, logger: { warn() {} } });
    const check = await signIns.check('not sealed');
    assert.deepEqual(check.toJSON(), { signedIn: false, status: null, reason: 'ended', message: CHECK_MESSAGES.ended });
    assert.equal((await signIns.progress('not sealed')).state, 'ended');
    await signIns.close();
  });
});
