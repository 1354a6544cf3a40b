'use strict';
// Passwordless push sign-in in Express, with the deviceauth Node package.
//
//   DEVICEAUTH_APP_ID=... DEVICEAUTH_APP_SECRET=... ACTIVE_CONNECT_SERVER=http://127.0.0.1:8790 node server.js
//
// PORT (default 3000), STATUS_CHECK_SECONDS (default 5) and SEAL_KEY (64 hex digits; a
// random key per start when unset, which signs everyone out at restart) are read too.
// Stateless: the sign-in session travels in the browser's cookie, sealed (encrypted and
// authenticated) with SEAL_KEY, so any number of processes can serve the same users.
const crypto = require('node:crypto');
const express = require('express');
const { activeconnect, qr } = require('deviceauth');
const store = require('./store');
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

function createApp({ applicationId, applicationSecret, baseUrl, statusCheckMs = 5000, sealKey }) {
  const client = new activeconnect.Client({ applicationId, applicationSecret, baseUrl });
  const key = sealKey || crypto.randomBytes(32);
  // When each session was last checked, per process: losing it only means checking again.
  const checkedAt = new Map();
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

  // Who is signed in; the session is checked at most every statusCheckMs, and anything
  // but `active` signs the user out (remote logout, walkaway, expiry).
  app.use(wrap(async (req, res, next) => {
    req.flash = takeFlash(req, res);
    req.session = sessionOf(req, res);
    const session = req.session;
    if (!session || session.status !== 'active') return next();
    const token = session.toJSON().session_token;
    if (Date.now() - (checkedAt.get(token) || 0) >= statusCheckMs) {
      let status = 'active';
      try {
        status = await session.refresh();
      } catch (error) {
        console.warn(`session check failed (${error.code}); keeping the user signed in`);
      }
      checkedAt.set(token, Date.now());
      if (status !== 'active') {
        checkedAt.delete(token);
        if (status === 'walkaway') await session.logout().catch(() => false);
        setSession(res, null);
        return flashAndRedirect(res, `You were signed out: ${SIGNED_OUT[status] || 'your session ended'}.`, '/');
      }
    }
    req.user = store.userByToken(session.user);
    next();
  }));

  app.get('/', (req, res) => res.send(req.user ? views.home(req) : views.welcome(req)));

  app.get('/signup', (req, res) => res.send(views.signup(req)));
  app.post('/signup', wrap(async (req, res) => {
    const name = String(req.body.username || '').trim();
    if (!NAME.test(name)) return res.status(400).send(views.signup({ ...req, flash: 'A user name has 1 to 64 letters, digits, dots, dashes or underscores.' }, name));
    if (store.hasUser(name)) return res.status(409).send(views.signup({ ...req, flash: `The name ${name} is taken.` }, name));
    const user = store.addUser(name);
    await client.addUsers([user.token]);
    res.redirect(303, `/register/${encodeURIComponent(name)}`);
  }));

  app.get('/register/:name', wrap(async (req, res) => {
    const user = store.user(req.params.name);
    if (!user) return res.status(404).send(views.welcome({ ...req, flash: 'No such user.' }));
    const link = await client.deviceRegistrationLink(user.token, { displayName: `${user.name} @ express` });
    const registered = await client.hasRegisteredMobileDevice(user.token);
    res.send(views.register(req, user, link, qr.svg(link), registered));
  }));

  app.get('/signin', (req, res) => (req.user ? res.redirect('/') : res.send(views.signin(req))));
  app.post('/signin', wrap(async (req, res) => {
    const name = String(req.body.username || '').trim();
    const user = store.user(name);
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
    res.send(views.waiting(req, store.userByToken(session.user), session.status));
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
      checkedAt.set(session.toJSON().session_token, Date.now());
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
      await req.session.logout().catch((error) => console.warn(`logout failed (${error.code})`));
    }
    setSession(res, null);
    flashAndRedirect(res, 'You are signed out.', '/');
  }));

  app.use((error, req, res, _next) => {
    console.error(`request failed: ${error.code || error.name}`);
    res.status(502).send(views.welcome({ ...req, flash: `Something went wrong (${error.code || 'ERROR'}).` }));
  });
  return app;
}

module.exports = { createApp };

if (require.main === module) {
  const port = Number(process.env.PORT || 3000);
  const app = createApp({
    applicationId: process.env.DEVICEAUTH_APP_ID,
    applicationSecret: process.env.DEVICEAUTH_APP_SECRET,
    baseUrl: process.env.ACTIVE_CONNECT_SERVER,
    statusCheckMs: Number(process.env.STATUS_CHECK_SECONDS || 5) * 1000,
    sealKey: process.env.SEAL_KEY ? Buffer.from(process.env.SEAL_KEY, 'hex') : undefined,
  });
  app.listen(port, '127.0.0.1', () => console.log(`express example listening on http://127.0.0.1:${port}`));
}
