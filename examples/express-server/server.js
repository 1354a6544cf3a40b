'use strict';
// Passwordless push sign-in in Express, with the deviceauth Node package.
//
//   DEVICEAUTH_APP_ID=... DEVICEAUTH_APP_SECRET=... ACTIVE_CONNECT_SERVER=http://127.0.0.1:8790 node server.js
//
// PORT (default 3000) and STATUS_CHECK_SECONDS (default 5) are read too. The browser's
// cookie holds only a random session id; the session JSON (with its secret) stays here.
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

function createApp({ applicationId, applicationSecret, baseUrl, statusCheckMs = 5000 }) {
  const client = new activeconnect.Client({ applicationId, applicationSecret, baseUrl });
  const app = express();
  app.disable('x-powered-by');
  app.use(express.urlencoded({ extended: false }));

  const cookieSid = (req) => {
    const match = /(?:^|;\s*)sid=([A-Za-z0-9_-]+)/.exec(req.headers.cookie || '');
    return match ? match[1] : undefined;
  };
  const setSid = (res, sid) =>
    res.append('Set-Cookie', sid ? `sid=${sid}; HttpOnly; SameSite=Lax; Path=/` : 'sid=; Max-Age=0; Path=/');
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
    req.sid = cookieSid(req);
    const entry = store.session(req.sid);
    req.flash = takeFlash(req, res);
    if (!entry || entry.status !== 'active') return next();
    if (Date.now() - entry.checkedAt >= statusCheckMs) {
      const session = client.resume(entry.data);
      let status = 'active';
      try {
        status = await session.refresh();
      } catch (error) {
        console.warn(`session check failed (${error.code}); keeping the user signed in`);
      }
      entry.checkedAt = Date.now();
      entry.status = status;
      if (status !== 'active') {
        if (status === 'walkaway') await session.logout().catch(() => false);
        store.closeSession(req.sid);
        setSid(res, null);
        return flashAndRedirect(res, `You were signed out: ${SIGNED_OUT[status] || 'your session ended'}.`, '/');
      }
    }
    req.user = entry.user;
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
    setSid(res, store.openSession(user, JSON.stringify(session), session.status));
    res.redirect(303, '/signin/wait');
  }));

  app.get('/signin/wait', (req, res) => {
    const entry = store.session(req.sid);
    if (!entry) return res.redirect('/signin');
    if (entry.status === 'active') return res.redirect('/');
    res.send(views.waiting(req, entry.user, entry.status));
  });

  // Polled by the waiting page: one status check of the pending sign-in.
  app.get('/signin/status', wrap(async (req, res) => {
    const entry = store.session(req.sid);
    if (!entry) return res.json({ state: 'none', redirect: '/signin' });
    const session = client.resume(entry.data);
    let status;
    try {
      status = await session.refresh();
    } catch (error) {
      return res.status(503).json({ state: 'waiting', status: entry.status, problem: error.code });
    }
    Object.assign(entry, { status, data: JSON.stringify(session), checkedAt: Date.now() });
    if (status === 'active') return res.json({ state: 'signed-in', status, redirect: '/' });
    if (status === 'pending' || status === 'identifying') return res.json({ state: 'waiting', status });
    if (status === 'walkaway') await session.logout().catch(() => false);
    store.closeSession(req.sid);
    setSid(res, null);
    res.json({ state: 'ended', status, redirect: `/signin/ended/${encodeURIComponent(status)}` });
  }));

  app.get('/signin/ended/:status', (req, res) =>
    res.send(views.ended(req, req.params.status, ENDED[req.params.status] || 'The sign-in did not complete.')));

  app.post('/signout', wrap(async (req, res) => {
    const entry = store.session(req.sid);
    if (entry) {
      await client.resume(entry.data).logout().catch((error) => console.warn(`logout failed (${error.code})`));
      store.closeSession(req.sid);
    }
    setSid(res, null);
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
  });
  app.listen(port, '127.0.0.1', () => console.log(`express example listening on http://127.0.0.1:${port}`));
}
