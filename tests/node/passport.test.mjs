// deviceauth/passport: the Passport 0.7 strategy with the deviceauth/express router and
// express-session, against the real emulator, over real HTTP.
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { suite, bindingDir, sleep } from './helpers.mjs';

const require = createRequire(import.meta.url);
const express = require(`${bindingDir}/node_modules/express`);
const expressSession = require(`${bindingDir}/node_modules/express-session`);
const { Passport } = require(`${bindingDir}/node_modules/passport`);
const { deviceAuth, newUserId, SignIns, CHECK_MESSAGES, PROGRESS_MESSAGES } = require(`${bindingDir}/express.js`);
const { DeviceAuthStrategy } = require(`${bindingDir}/passport.js`);

/** A browser: keeps cookies, never follows redirects by itself. */
class Browser {
  constructor(base) {
    this.base = base;
    this.cookies = new Map();
  }

  async request(method, path, { form, accept } = {}) {
    const headers = {};
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (accept) headers.accept = accept;
    let body;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const response = await fetch(this.base + path, { method, headers, body, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const pair = line.split(';')[0];
      const index = pair.indexOf('=');
      const name = pair.slice(0, index).trim();
      if (/;\s*max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(index + 1));
    }
    const text = await response.text();
    return { status: response.status, location: response.headers.get('location'), text, json: () => JSON.parse(text) };
  }

  get(path) {
    return this.request('GET', path);
  }

  json(path) {
    return this.request('GET', path, { accept: 'application/json' });
  }

  post(path, form = {}, options = {}) {
    return this.request('POST', path, { form, ...options });
  }
}

async function until(probe, ms = 8000, what = 'the condition') {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await sleep(100);
  }
}

describe('deviceauth/passport', () => {
  let ctx;
  const apps = [];
  before(async () => {
    ctx = await suite();
  });
  afterEach(async () => {
    while (apps.length) await apps.pop().close();
  });
  after(() => ctx?.stop());

  /** express-session + Passport + the router; the strategy's verify finds users by their service id. */
  async function startApp({ verify } = {}) {
    const { app: appId, secret, client } = await ctx.newClient();
    const users = new Map();
    const passport = new Passport();
    passport.serializeUser((user, done) => done(null, user.id));
    passport.deserializeUser((id, done) => done(null, users.get(id) ?? false));
    const auth = deviceAuth({
      applicationId: appId,
      applicationSecret: secret,
      baseUrl: ctx.url,
      secretKey: 'the app secret key',
      monitorIntervalMs: 250,
      logger: { warn() {} },
      findUser: (req) => users.get(req.body?.username) ?? null,
      passport,
    });
    const byDeviceauthId = async (deviceauthId) => [...users.values()].find((u) => u.deviceauthId === deviceauthId) ?? false;
    passport.use(new DeviceAuthStrategy({ deviceauth: auth }, verify ?? byDeviceauthId));
    const app = express();
    app.use(expressSession({ secret: 'session secret', resave: false, saveUninitialized: false }));
    app.use(passport.session());
    app.use(auth);
    app.get('/me', (req, res) =>
      res.json({
        passportUser: req.user ?? null,
        authenticated: req.isAuthenticated(),
        signedIn: req.deviceauth.signedIn,
        user: req.deviceauth.user,
        message: req.deviceauth.message,
      }),
    );
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${server.address().port}`;
    const running = {
      url,
      appId,
      client,
      users,
      auth,
      browser: () => new Browser(url),
      async user(name) {
        const user = { id: name, name, deviceauthId: newUserId() };
        users.set(name, user);
        await client.addUsers([user.deviceauthId]);
        await ctx.control.registerDevice(appId, user.deviceauthId);
        return user;
      },
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

  const me = async (browser) => (await browser.json('/me')).json();

  it('passport.authenticate("deviceauth") signs in an approved sign-in with req.login', async () => {
    const app = await startApp();
    await app.user('dana');
    const browser = app.browser();
    assert.equal((await browser.post('/signin', { username: 'dana' })).location, '/signin/wait');
    const before = browser.cookies.get('connect.sid');
    // Not approved yet: back to the waiting page, nobody signed in.
    const early = await browser.get('/signin/done');
    assert.equal(early.status, 303);
    assert.equal(early.location, '/signin/wait');
    assert.equal((await me(browser)).authenticated, false);
    const token = await app.token();
    await ctx.control.act(token, 'approve');
    const done = await browser.get('/signin/done');
    assert.equal(done.status, 302);
    assert.equal(done.location, '/');
    assert.notEqual(browser.cookies.get('connect.sid'), before, 'req.login gave a new session id');
    const who = await me(browser);
    assert.deepEqual(who.passportUser, { id: 'dana', name: 'dana', deviceauthId: app.users.get('dana').deviceauthId });
    assert.equal(who.authenticated, true);
    assert.equal(who.signedIn, true);
    assert.deepEqual(who.user, who.passportUser);
    assert.equal((await app.auth.signIns.monitor.status(token)).status, 'active');
  });

  it('a remote logout logs the Passport user out, with the message', async () => {
    const app = await startApp();
    await app.user('eve');
    const browser = app.browser();
    await browser.post('/signin', { username: 'eve' });
    const token = await app.token();
    await ctx.control.act(token, 'approve');
    await browser.get('/signin/done');
    assert.equal((await me(browser)).authenticated, true);
    await ctx.control.act(token, 'remote-logout');
    const out = await until(async () => {
      const body = await me(browser);
      return body.authenticated ? null : body;
    }, 5000, 'the remote logout being noticed');
    assert.equal(out.passportUser, null);
    assert.equal(out.signedIn, false);
    assert.equal(out.message, CHECK_MESSAGES.remote_logout);
    assert.equal((await me(browser)).authenticated, false, 'and stays logged out');
  });

  it("the router's sign-out logs out of Passport and the phone session", async () => {
    const app = await startApp();
    await app.user('finn');
    const browser = app.browser();
    await browser.post('/signin', { username: 'finn' });
    const token = await app.token();
    await ctx.control.act(token, 'approve');
    await browser.get('/signin/done');
    const out = await browser.post('/signout');
    assert.equal(out.status, 303);
    const who = await me(browser);
    assert.equal(who.authenticated, false);
    assert.equal(who.message, 'You are signed out.');
    const session = (await ctx.control.sessions(app.appId)).find((s) => s.session_token === token);
    assert.equal(session.status, 'closed');
    assert.equal(await app.auth.signIns.monitor.status(token), null);
  });

  it('a refused sign-in goes to the ended page; nobody is logged in', async () => {
    const app = await startApp();
    await app.user('gus');
    const browser = app.browser();
    await browser.post('/signin', { username: 'gus' });
    await ctx.control.act(await app.token(), 'deny');
    const done = await browser.get('/signin/done');
    assert.equal(done.status, 303);
    assert.equal(done.location, '/signin/ended?state=refused');
    assert.ok((await browser.get(done.location)).text.includes(PROGRESS_MESSAGES.refused));
    assert.equal((await me(browser)).authenticated, false);
  });

  it('verify finding no user: not signed in, and the phone session is logged out', async () => {
    const app = await startApp({ verify: (deviceauthId, done) => done(null, false) });
    await app.user('hal');
    const browser = app.browser();
    await browser.post('/signin', { username: 'hal' });
    const token = await app.token();
    await ctx.control.act(token, 'approve');
    const done = await browser.get('/signin/done');
    assert.equal(done.location, '/signin/ended?state=ended');
    assert.equal((await me(browser)).authenticated, false);
    const session = (await ctx.control.sessions(app.appId)).find((s) => s.session_token === token);
    assert.equal(session.status, 'closed');
  });

  it('without the router: a SignIns and req.session.deviceauth.p, with failureRedirect', async () => {
    const { app: appId, secret, client } = await ctx.newClient();
    await client.addUsers(['ivy']);
    await ctx.control.registerDevice(appId, 'ivy');
    const signIns = await SignIns.open({ client, secretKey: 'k', logger: { warn() {} } });
    const passport = new Passport();
    passport.serializeUser((user, done) => done(null, user.id));
    passport.deserializeUser((id, done) => done(null, { id }));
    passport.use(new DeviceAuthStrategy({ signIns }, (deviceauthId, done) => done(null, { id: deviceauthId })));
    const app = express();
    app.use(expressSession({ secret: 's', resave: false, saveUninitialized: false }));
    app.use(passport.session());
    app.post('/start', async (req, res) => {
      req.session.deviceauth = { p: await signIns.start('ivy') };
      res.send('started');
    });
    app.get('/finish', passport.authenticate('deviceauth', { successRedirect: '/ok', failureRedirect: '/failed' }));
    app.get('/me', (req, res) => res.json({ user: req.user ?? null, sealed: typeof req.session.deviceauth?.s }));
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const browser = new Browser(`http://127.0.0.1:${server.address().port}`);
      assert.equal((await browser.get('/finish')).location, '/failed', 'nothing pending');
      await browser.post('/start');
      assert.equal((await browser.get('/finish')).location, '/failed', 'still pending: fail');
      await ctx.control.act(await ctx.lastSessionToken(appId), 'approve');
      assert.equal((await browser.get('/finish')).location, '/ok');
      assert.deepEqual((await me(browser)), { user: { id: 'ivy' }, sealed: 'string' });
    } finally {
      server.closeAllConnections();
      server.close();
      await signIns.close();
    }
  });

  it('the constructor checks its arguments', () => {
    assert.throws(() => new DeviceAuthStrategy({}, () => {}), /deviceauth .* or options\.signIns is required/);
    assert.throws(() => new DeviceAuthStrategy({ deviceauth: {} }, () => {}), /must be the router of deviceAuth\(\)/);
    assert.throws(() => new DeviceAuthStrategy({ signIns: null }), /verify function/);
    const signIns = new SignIns({ applicationId: 'a', applicationSecret: 's', secretKey: 'k' });
    assert.equal(new DeviceAuthStrategy({ signIns }, () => {}).name, 'deviceauth');
    assert.equal(new DeviceAuthStrategy({ signIns, name: 'phone' }, () => {}).name, 'phone');
  });
});
