'use strict';
// Passwordless push sign-in in Express 5, with the deviceauth Node package's Express
// router (`deviceauth/express`): users sign up, register their phone from a QR code, sign
// in by approving a request on the phone, and are signed out when the session ends
// elsewhere (remote logout, walkaway, expiry).
//
//   DEVICEAUTH_APPLICATION_ID=... DEVICEAUTH_APPLICATION_SECRET=... \
//   ACTIVE_CONNECT_SERVER=http://127.0.0.1:8790 node server.js
//
// PORT (default 3000), DATA_DIR (default ./.data) and every DEVICEAUTH_* setting
// (DEVICEAUTH_WALKAWAY, DEVICEAUTH_FAIL_MODE, DEVICEAUTH_MONITOR_INTERVAL, ...) are read too.
// Stateless: the sign-in state travels in one encrypted cookie, so any number of
// processes serve the same users. Signed-in sessions are watched through a monitor store:
// DEVICEAUTH_STORE, else REDIS_URL (processes on many machines), else a SQLite file in
// DATA_DIR (processes on this machine); a request only reads its session's last status
// there. The seal key (cookie, sessions, store rows) is DEVICEAUTH_SEAL_KEY (64 hex digits,
// the same in every process), else a key made once in DATA_DIR/seal.key (mode 0600).
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const express = require('express');
const { deviceAuth, optionsFromEnv, newUserId } = require('deviceauth/express');
const Users = require('./users');
const views = require('./views');

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** The app, on the users and keys in `dataDir`; `auth.close()` at shutdown. */
function createApp({ dataDir, settings = optionsFromEnv() }) {
  const users = new Users(path.join(dataDir, 'users.json'));
  const app = express();
  app.disable('x-powered-by');

  // ---- sign-in: begin ----
  const auth = deviceAuth({
    ...settings,
    store: settings.store || process.env.REDIS_URL || `sqlite://${path.resolve(dataDir, 'sessions.db')}`,
    sealKey: settings.sealKey || sealKey(dataDir),
    findUser: (req) => users.get(String(req.body.username || '').trim()),
    loadUser: (id) => users.get(id),
    pages: { layout: views.layout },
  });
  app.use(auth); // sign-in, waiting page, sign-out, /register; req.deviceauth and res.locals.user on every request
  app.post('/signup', express.urlencoded({ extended: false }), (req, res) => {
    const name = String(req.body.username || '').trim();
    const problem = !NAME.test(name) ? 'A user name has 1 to 64 letters, digits, dots, dashes or underscores.' : users.get(name) ? `The name ${name} is taken.` : null;
    if (problem) return res.status(400).send(views.signup(req, res, problem, name));
    const user = users.add({ id: name, name, deviceauthId: newUserId() });
    res.redirect(303, req.deviceauth.register({ ...user, displayName: `${name} @ express` }));
  });
  // ---- sign-in: end ----

  app.get('/', (req, res) => res.send(views.home(req, res)));
  app.get('/signup', (req, res) => res.send(views.signup(req, res)));
  return { app, auth };
}

/**
 * The seal key: `seal.key` in `dataDir`, made once with mode 0600 (the processes of this
 * machine share it; on other machines set DEVICEAUTH_SEAL_KEY to the same 64 hex digits).
 */
function sealKey(dataDir) {
  const file = path.join(dataDir, 'seal.key');
  if (!fs.existsSync(file)) {
    // Written aside, then linked into place: a process starting at the same time either
    // wins or reads the winner's whole key.
    const draft = `${file}.${process.pid}`;
    fs.writeFileSync(draft, `${crypto.randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    try {
      fs.linkSync(draft, file);
      console.log(`made the seal key ${file} (mode 0600); processes on other machines need it as DEVICEAUTH_SEAL_KEY`);
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    } finally {
      fs.unlinkSync(draft);
    }
  }
  return fs.readFileSync(file, 'utf8').trim();
}

module.exports = { createApp };

if (require.main === module) {
  const port = Number(process.env.PORT || 3000);
  const dataDir = path.resolve(process.env.DATA_DIR || path.join(__dirname, '.data'));
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  let started;
  try {
    started = createApp({ dataDir });
  } catch (error) {
    console.error(`could not start: ${error.code || error.name}: ${error.message}`);
    process.exit(1);
  }
  const { app, auth } = started;
  // Opens the store now: a wrong URL or password stops the start, not the first request.
  auth.ready().then(() => {
    const server = app.listen(port, '127.0.0.1', () =>
      console.log(`express example listening on http://127.0.0.1:${port} (sessions watched in a ${auth.signIns.monitor.store} store)`));
    // Hand this process's sessions to the other monitors at once instead of after the lease.
    const stop = () => {
      server.close();
      server.closeAllConnections();
      auth.close().finally(() => process.exit(0));
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  }, (error) => {
    console.error(`could not start: ${error.code} ${error.reason || ''}: ${error.message}`);
    process.exit(1);
  });
}
