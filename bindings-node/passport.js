'use strict';
// `deviceauth/passport`: a Passport 0.7 strategy that signs in a request whose phone
// sign-in was approved, with the same flow (`deviceauth/web`) as the Express router.
//
//   const auth = deviceAuth({ ...settings, findUser, passport });   // the router starts sign-ins
//   passport.use(new DeviceAuthStrategy({ deviceauth: auth }, async (deviceauthId) => users.byDeviceauthId(deviceauthId)));
//   app.use(session(...)); app.use(passport.session()); app.use(auth);
//
// With `passport` in its options the router finishes every sign-in (its `done` route,
// where the waiting page goes once approved) through `passport.authenticate('deviceauth')`,
// so `req.login` runs and `req.user` is the user `verify` returned. The router's first
// layer still checks each request of a signed-in user and calls `req.logout()` when the
// phone session ended (remote logout, walkaway, ...). Sign out through the router's
// sign-out route (or `await req.deviceauth.signOut()`): it also logs the phone session out.

const { DeviceAuthError, ErrorCode } = require('./index.js');
const { SignIns } = require('./web.js');

const invalid = (message) => new DeviceAuthError(ErrorCode.InvalidArgument, `invalid argument: ${message}`);

/**
 * `new DeviceAuthStrategy(options, verify)`. Options: `deviceauth` (the router of
 * `deviceAuth()`: its flow, state and pages), or `signIns` (a `SignIns`; the pending
 * sign-in is then read from `req.session.deviceauth.p`); `name` (default `'deviceauth'`);
 * `passReqToCallback`. `verify(deviceauthId, done)` (or `(req, deviceauthId, done)`, or
 * returning a Promise of the user) gives the app's user of the approved phone sign-in,
 * or false.
 */
// Passport runs each request on `Object.create(strategy)`: no #private fields (they do not
// follow the prototype chain); the settings sit under a symbol.
const kConfig = Symbol('deviceauth.strategy');

class DeviceAuthStrategy {
  constructor(options, verify) {
    if (typeof options === 'function' && verify === undefined) {
      verify = options;
      options = {};
    }
    if (options === null || typeof options !== 'object') throw invalid('options must be an object');
    if (typeof verify !== 'function') throw invalid('DeviceAuthStrategy needs a verify function (deviceauthId, done)');
    const adapter = options.deviceauth?.deviceauthAdapter;
    if (options.deviceauth !== undefined && !adapter) throw invalid('options.deviceauth must be the router of deviceAuth()');
    if (!adapter && !(options.signIns instanceof SignIns)) throw invalid('options.deviceauth (the router of deviceAuth()) or options.signIns is required');
    this.name = options.name || 'deviceauth';
    Object.defineProperty(this, kConfig, {
      value: Object.freeze({
        adapter: adapter ?? null,
        signIns: adapter ? adapter.signIns : options.signIns,
        verify,
        passReq: options.passReqToCallback === true,
      }),
    });
  }

  /** The flow this strategy finishes sign-ins with. */
  get signIns() {
    return this[kConfig].signIns;
  }

  /**
   * Passport calls it (with `success`, `fail`, `redirect`, `error` set on a copy of the
   * strategy). Approved: `verify`, then `success(user)`, and the signed-in session is kept
   * for the per-request checks (`keepSessionInfo` is set on the authenticate options so
   * `req.login` keeps it). Still waiting: back to the waiting page. Ended: the ended page
   * (with the router) or `fail`.
   */
  authenticate(req, options = {}) {
    run(this, req, options).catch((error) => this.error(error));
  }
}

/** One authentication, on Passport's per-request copy of the strategy (`self`). */
async function run(self, req, options) {
  const { adapter, signIns, verify, passReq } = self[kConfig];
  if (!req.session) return self.error(new Error('deviceauth: Passport sign-in needs express-session (req.session)'));
  const state = () => {
    const value = adapter ? adapter.state(req) : req.session.deviceauth;
    return value && typeof value === 'object' ? value : {};
  };
  const update = (changes) => {
    if (adapter) return adapter.update(req, changes);
    const next = { ...state(), ...changes };
    for (const key of Object.keys(next)) if (next[key] === undefined || next[key] === null) delete next[key];
    req.session.deviceauth = next;
    return undefined;
  };
  const pending = state().p;
  if (typeof pending !== 'string' || pending === '') {
    return self.fail({ message: 'No sign-in is waiting: start one first.' }, 401);
  }
  const progress = await signIns.progress(pending);
  if (progress.state !== 'approved') {
    if (progress.sealed && progress.sealed !== pending) update({ p: progress.sealed });
    if (!progress.done) {
      if (adapter) return self.redirect(adapter.url(req, 'wait'), 303);
      return self.fail({ message: progress.message, state: progress.state }, 401);
    }
    update({ p: undefined, pu: undefined });
    if (adapter) return self.redirect(`${adapter.url(req, 'ended')}?state=${encodeURIComponent(progress.state)}`, 303);
    return self.fail({ message: progress.message, state: progress.state }, 401);
  }
  const deviceauthId = signIns.userOf(progress.sealed);
  const user = await new Promise((resolve, reject) => {
    const done = (error, found, info) => (error ? reject(error) : resolve({ found, info }));
    try {
      const result = passReq ? verify(req, deviceauthId, done) : verify(deviceauthId, done);
      if (result && typeof result.then === 'function') result.then((found) => done(null, found), done);
    } catch (error) {
      reject(error);
    }
  });
  if (!user.found) {
    await signIns.signOut(progress.sealed);
    update({ p: undefined, pu: undefined });
    if (adapter) return self.redirect(`${adapter.url(req, 'ended')}?state=ended`, 303);
    return self.fail({ message: 'No account belongs to this phone sign-in.' }, 401);
  }
  const id = user.found.id ?? state().pu ?? deviceauthId;
  update({ p: undefined, pu: undefined, r: undefined, s: progress.sealed, u: String(id) });
  // req.login regenerates the session: keep what it held (the signed-in phone session).
  options.keepSessionInfo = true;
  self.success(user.found, user.info);
}

module.exports = { DeviceAuthStrategy, Strategy: DeviceAuthStrategy };
