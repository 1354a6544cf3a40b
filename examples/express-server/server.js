'use strict';
// Passwordless push sign-in in Express, with the deviceauth Node package.
//
//   DEVICEAUTH_APP_ID=... DEVICEAUTH_APP_SECRET=... ACTIVE_CONNECT_SERVER=http://127.0.0.1:8790 node server.js
//
// PORT (default 3000), STATUS_CHECK_SECONDS (default 5) and SEAL_KEY (64 hex digits; a
// random key per start when unset, which signs everyone out at restart) are read too.
// Stateless: the sign-in session travels in the browser's cookie, sealed (encrypted and
// authenticated) with SEAL_KEY, so any number of processes can serve the same users.
//
// Signed-in sessions are watched through a monitor store: REDIS_URL (redis://...) when
// set (processes on many machines), else a SQLite file in DATA_DIR (default ./.data;
// processes on this machine). After sign-in the session is added to the store; every
// process polls its share of the sessions each STATUS_CHECK_SECONDS, and a request only
// reads the session's last status from the store (no call to the service). The rows are
// sealed with STORE_SEAL_KEY (64 hex digits, the same for every process of the app), else
// with a key made once in DATA_DIR/store-seal.key (mode 0600).
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const express = require('express');
const { activeconnect, qr } = require('deviceauth');
const users = require('./store');
const views = require('./views');

const ENDED = {
  failed: 'The sign-in was refused on your phone.',
  cancelled: 'The sign-in was cancelled on your phone.',
  timeout: 'Your phone did not answer in time.',
  closed: 'The sign-in session was closed before it completed.',
};
const SIGNED_OUT = {
  walkaway: 'your phone is no longer near this computer',
  closed: 'your session was ended (remote logout or expiry)',
};
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * The app and its monitor on `storeUrl` (sessions sealed with `storeSealKey`); close the
 * monitor at shutdown to hand its sessions to the other processes at once.
 */
async function createApp({ applicationId, applicationSecret, baseUrl, statusCheckMs = 5000, sealKey, storeUrl, storeSealKey }) {
  const client = new activeconnect.Client({ applicationId, applicationSecret, baseUrl });
  const key = sealKey || crypto.randomBytes(32);
  const monitor = await activeconnect.Monitor.open(client, { store: storeUrl, sealKey: storeSealKey, intervalMs: statusCheckMs });
  logChanges(monitor);
  const app = express();
  app.disable('x-powered-by');
  app.use(express.urlencoded({ extended: false }));

  // The sign-in session from the sealed cookie; a damaged or foreign cookie is dropped.
  const sessionOf = (req, res) => {
    const match = /(?:^|;\s*)das=(das1\.[A-Za-z0-9_-]+)/.exec(req.headers.cookie || '');
    if (!match) return undefined;
    try {
      return client.unseal(match[1], key);
    } catch (error) {
      setSession(res, null);
      return undefined;
    }
  };
  const setSession = (res, session) =>
    res.append('Set-Cookie', session ? `das=${session.seal(key)}; HttpOnly; SameSite=Lax; Path=/` : 'das=; Max-Age=0; Path=/');
  const takeFlash = (req, res) => {
    const match = /(?:^|;\s*)flash=([^;]+)/.exec(req.headers.cookie || '');
    if (!match) return undefined;
    res.append('Set-Cookie', 'flash=; Max-Age=0; Path=/');
    return decodeURIComponent(match[1]);
  };
  const flashAndRedirect = (res, message, to) => {
    res.append('Set-Cookie', `flash=${encodeURIComponent(message)}; HttpOnly; SameSite=Lax; Path=/`);
    res.redirect(303, to);
  };
  const wrap = (handler) => (req, res, next) => Promise.resolve(handler(req, res, next)).catch(next);

  // Who is signed in: the session's last status as the monitors wrote it in the store (a
  // read of the store, no call to the service). Anything but `active` signs the user out
  // (remote logout, walkaway, expiry), and so does a session the monitors gave up on.
  app.use(wrap(async (req, res, next) => {
    req.flash = takeFlash(req, res);
    req.session = sessionOf(req, res);
    const session = req.session;
    if (!session || session.status !== 'active') return next();
    const token = session.sessionToken;
    let stored;
    try {
      stored = await monitor.status(token);
      // Not in the store (it was emptied, or the sign-in predates it): watch it from now on.
      if (stored === null) await monitor.add(session);
    } catch (error) {
      console.warn(`session check failed (${error.code} ${error.reason || ''}); keeping the user signed in`);
    }
    const status = stored ? stored.status : 'active';
    if (status !== 'active' || (stored && !stored.watched)) {
      if (status === 'walkaway') await session.logout().catch(() => false);
      await monitor.remove(token).catch(() => false);
      setSession(res, null);
      const why = SIGNED_OUT[status] || (status === 'active' ? 'your session could not be checked' : 'your session ended');
      return flashAndRedirect(res, `You were signed out: ${why}.`, '/');
    }
    req.user = users.userByToken(session.user);
    next();
  }));

  app.get('/', (req, res) => res.send(req.user ? views.home(req) : views.welcome(req)));

  app.get('/signup', (req, res) => res.send(views.signup(req)));
  app.post('/signup', wrap(async (req, res) => {
    const name = String(req.body.username || '').trim();
    if (!NAME.test(name)) return res.status(400).send(views.signup({ ...req, flash: 'A user name has 1 to 64 letters, digits, dots, dashes or underscores.' }, name));
    if (users.hasUser(name)) return res.status(409).send(views.signup({ ...req, flash: `The name ${name} is taken.` }, name));
    const user = users.addUser(name);
    await client.addUsers([user.token]);
    res.redirect(303, `/register/${encodeURIComponent(name)}`);
  }));

  app.get('/register/:name', wrap(async (req, res) => {
    const user = users.user(req.params.name);
    if (!user) return res.status(404).send(views.welcome({ ...req, flash: 'No such user.' }));
    const link = await client.deviceRegistrationLink(user.token, { displayName: `${user.name} @ express` });
    const registered = await client.hasRegisteredMobileDevice(user.token);
    res.send(views.register(req, user, link, qr.svg(link), registered));
  }));

  app.get('/signin', (req, res) => (req.user ? res.redirect('/') : res.send(views.signin(req))));
  app.post('/signin', wrap(async (req, res) => {
    const name = String(req.body.username || '').trim();
    const user = users.user(name);
    if (!user) return res.status(404).send(views.signin({ ...req, flash: `There is no account named ${name}. Sign up first.` }, name));
    let session;
    try {
      session = await client.authenticateUser(user.token);
    } catch (error) {
      if (error.code === 'NOT_STARTED' && error.reason === 'NO_MOBILE_DEVICE') return res.status(409).send(views.noDevice(req, user));
      if (error.code === 'NOT_STARTED') return res.status(409).send(views.signin({ ...req, flash: `The sign-in could not start (${error.reason}).` }, name));
      return res.status(502).send(views.signin({ ...req, flash: `The sign-in service is not available right now (${error.code}).` }, name));
    }
    setSession(res, session);
    res.redirect(303, '/signin/wait');
  }));

  app.get('/signin/wait', (req, res) => {
    const session = req.session;
    if (!session) return res.redirect('/signin');
    if (session.status === 'active') return res.redirect('/');
    res.send(views.waiting(req, users.userByToken(session.user), session.status));
  });

  // Polled by the waiting page: one status check of the pending sign-in.
  app.get('/signin/status', wrap(async (req, res) => {
    const session = req.session;
    if (!session) return res.json({ state: 'none', redirect: '/signin' });
    let status;
    try {
      status = await session.refresh();
    } catch (error) {
      return res.status(503).json({ state: 'waiting', status: session.status, problem: error.code });
    }
    if (status === 'active') {
      // From now on the monitors watch it; requests read its status from the store (and
      // add it there themselves if this fails).
      await monitor.add(session).catch((error) => console.warn(`store add failed (${error.code} ${error.reason || ''})`));
      setSession(res, session);
      return res.json({ state: 'signed-in', status, redirect: '/' });
    }
    if (status === 'pending' || status === 'identifying') {
      setSession(res, session);
      return res.json({ state: 'waiting', status });
    }
    if (status === 'walkaway') await session.logout().catch(() => false);
    setSession(res, null);
    res.json({ state: 'ended', status, redirect: `/signin/ended/${encodeURIComponent(status)}` });
  }));

  app.get('/signin/ended/:status', (req, res) =>
    res.send(views.ended(req, req.params.status, ENDED[req.params.status] || 'The sign-in did not complete.')));

  app.post('/signout', wrap(async (req, res) => {
    if (req.session) {
      await monitor.remove(req.session.sessionToken).catch((error) => console.warn(`store remove failed (${error.code})`));
      await req.session.logout().catch((error) => console.warn(`logout failed (${error.code})`));
    }
    setSession(res, null);
    flashAndRedirect(res, 'You are signed out.', '/');
  }));

  app.use((error, req, res, _next) => {
    console.error(`request failed: ${error.code || error.name}`);
    res.status(502).send(views.welcome({ ...req, flash: `Something went wrong (${error.code || 'ERROR'}).` }));
  });
  return { app, monitor };
}

/** Logs the status changes every monitor on the store publishes (no token, no secret). */
async function logChanges(monitor) {
  try {
    for await (const event of monitor.events()) {
      const name = users.userByToken(event.user)?.name || 'a user of another process';
      if (event.type === 'changed') console.log(`store event ${event.id}: ${name}: ${event.previous} -> ${event.status}`);
      else console.log(`store event ${event.id}: ${name}: no longer checked (${event.error.code})`);
    }
  } catch (error) {
    console.warn(`store events stopped (${error.code} ${error.reason || ''}); statuses are still read from the store`);
  }
}

/**
 * The store's seal key: STORE_SEAL_KEY (64 hex digits), else `store-seal.key` in `dataDir`,
 * made once with mode 0600 (processes on this machine share it; elsewhere set STORE_SEAL_KEY).
 */
function storeSealKey(dataDir) {
  if (process.env.STORE_SEAL_KEY) return Buffer.from(process.env.STORE_SEAL_KEY, 'hex');
  const file = path.join(dataDir, 'store-seal.key');
  if (!fs.existsSync(file)) {
    // Written aside, then linked into place: a process starting at the same time either
    // wins or reads the winner's whole key.
    const draft = `${file}.${process.pid}`;
    fs.writeFileSync(draft, `${crypto.randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    try {
      fs.linkSync(draft, file);
      console.log(`made the store seal key ${file} (mode 0600); other machines on the same store need it as STORE_SEAL_KEY`);
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    } finally {
      fs.unlinkSync(draft);
    }
  }
  return Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'hex');
}

module.exports = { createApp };

if (require.main === module) {
  const port = Number(process.env.PORT || 3000);
  const dataDir = process.env.DATA_DIR || path.join(__dirname, '.data');
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // Redis for many machines; else SQLite, a file that the processes of this machine share.
  const storeUrl = process.env.REDIS_URL || `sqlite://${path.resolve(dataDir, 'sessions.db')}`;
  createApp({
    applicationId: process.env.DEVICEAUTH_APP_ID,
    applicationSecret: process.env.DEVICEAUTH_APP_SECRET,
    baseUrl: process.env.ACTIVE_CONNECT_SERVER,
    statusCheckMs: Number(process.env.STATUS_CHECK_SECONDS || 5) * 1000,
    sealKey: process.env.SEAL_KEY ? Buffer.from(process.env.SEAL_KEY, 'hex') : undefined,
    storeUrl,
    storeSealKey: storeSealKey(dataDir),
  }).then(({ app, monitor }) => {
    const server = app.listen(port, '127.0.0.1', () =>
      console.log(`express example listening on http://127.0.0.1:${port} (sessions watched in a ${monitor.store} store)`));
    // Hand this process's sessions to the other monitors at once instead of after the lease.
    const stop = () => {
      server.close();
      monitor.close().finally(() => process.exit(0));
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  }, (error) => {
    console.error(`could not start: ${error.code} ${error.reason || ''}: ${error.message}`);
    process.exit(1);
  });
}
