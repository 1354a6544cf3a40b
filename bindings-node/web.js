'use strict';
// `deviceauth/web`: the framework-agnostic web sign-in flow, the same as Python's
// `deviceauth.web` (one contract, one policy; see the Express adapter `deviceauth/express`
// and the Passport strategy `deviceauth/passport` for the glue to a framework).
//
//   1. start(userId) -> sealed pending session (the session sealed with the seal key).
//   2. progress(sealed) -> Progress: ONE status check within the check budget; store
//      progress.sealed back each time. Approved: the session is in the monitor's store.
//      stream(sealed) -> the same as Server-Sent Events text, once per second.
//   3. check(sealed) -> Check, on each request of a signed-in user: a read of the store
//      (no service call), or without a store one refresh within the budget.
//   4. signOut(sealed): logs the service session out, removes it from the store; never throws.
//
// Nothing here ever puts a sealed session, token or secret into JSON (`toJSON()` of
// Progress and Check leaves them out) or into a log line.

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const util = require('node:util');
const { activeconnect, qr, DeviceAuthError, ErrorCode } = require('./index.js');

// ---- the shared texts and defaults ------------------------------------------------------

/** The message of each Progress state (shared with Python, word for word). */
const PROGRESS_MESSAGES = Object.freeze({
  pending: 'Check your phone: approve the sign-in request.',
  identifying: 'Your phone is confirming it is you...',
  approved: 'Approved. Signing you in...',
  refused: 'The sign-in was refused on your phone.',
  timeout: 'Your phone did not answer in time.',
  ended: 'The sign-in ended before it was approved.',
  unavailable: 'The sign-in service cannot be reached right now; still trying...',
});

/** The message of each Check reason (shared with Python, word for word). */
const CHECK_MESSAGES = Object.freeze({
  remote_logout: 'You were signed out: your session was ended elsewhere.',
  walkaway: 'You were signed out: your phone is no longer near this computer.',
  ended: 'You were signed out: your session ended.',
  unavailable: 'You were signed out: the sign-in service cannot be reached.',
});

/** Every default of the web layer. */
const DEFAULTS = Object.freeze({
  walkaway: 'sign_out',
  failMode: 'closed',
  checkBudgetMs: 2000,
  attempts: 5,
  attemptWindowMs: 600_000,
  store: 'memory',
  monitor: true,
});

const STATES = Object.freeze(['pending', 'identifying', 'approved', 'refused', 'timeout', 'ended', 'unavailable']);
const NOT_DONE = new Set(['pending', 'identifying', 'unavailable']);
/** Failures of a sign-in's status check that leave it waiting (the next check may succeed). */
const PASSING = new Set(['TRANSPORT', 'TIMEOUT', 'HTTP', 'STORE', 'RATE_LIMITED']);
// Failures of a check that sign the user out whatever the fail mode: not about reachability.
const NEVER_OPEN = new Set([ErrorCode.Unauthorized, ErrorCode.Protocol]);
const SEAL_KEY_CONTEXT = 'deviceauth seal key v1';
const LOGGER_NAME = 'deviceauth.web';

/** SSE timing (fixed by the contract). */
const SSE_CHECK_MS = 1000;
const SSE_KEEPALIVE_MS = 15_000;
const SSE_MAX_MS = 180_000;

// ---- results ---------------------------------------------------------------------------

/**
 * What one progress check of a pending sign-in found. `sealed` (the session to keep, or
 * `null` once done and not approved) is a getter on the prototype: `{ ...progress }`,
 * `JSON.stringify(progress)` and `util.inspect` never show it.
 */
class Progress {
  #sealed;

  constructor(state, status, sealed) {
    if (!STATES.includes(state)) throw invalid(`state must be one of ${STATES.join(', ')}`);
    this.state = state;
    this.status = status ?? null;
    this.message = PROGRESS_MESSAGES[state];
    this.done = !NOT_DONE.has(state);
    this.#sealed = sealed ?? null;
  }

  /** The sealed session to keep (store it again after each check); `null` once done and not approved. */
  get sealed() {
    return this.#sealed;
  }

  /** `{ state, status, message, done }`: never the sealed session or any token. */
  toJSON() {
    return { state: this.state, status: this.status, message: this.message, done: this.done };
  }
}

/** What the check of a signed-in user's session found (`sealed`: see Progress). */
class Check {
  #sealed;

  constructor(signedIn, status, reason, sealed) {
    this.signedIn = signedIn;
    this.status = status ?? null;
    this.reason = reason ?? null;
    this.message = !signedIn && reason ? CHECK_MESSAGES[reason] : null;
    this.#sealed = sealed ?? null;
  }

  /** The sealed session to keep (it changes in no-store mode when the status does); `null` when signed out. */
  get sealed() {
    return this.#sealed;
  }

  /** `{ signedIn, status, reason, message }`: never the sealed session or any token. */
  toJSON() {
    return { signedIn: this.signedIn, status: this.status, reason: this.reason, message: this.message };
  }
}

// ---- options ---------------------------------------------------------------------------

const invalid = (message) => new DeviceAuthError(ErrorCode.InvalidArgument, `invalid argument: ${message}`);

/** 32 bytes from a Uint8Array or 64 hex digits. */
function sealKeyOf(value, name) {
  if (typeof value === 'string') {
    if (!/^[0-9a-fA-F]{64}$/.test(value)) throw invalid(`${name} must be 64 hex digits (32 bytes)`);
    return Buffer.from(value, 'hex');
  }
  if (value instanceof Uint8Array) {
    if (value.length !== 32) throw invalid(`${name} must be 32 bytes, not ${value.length}`);
    return Buffer.from(value);
  }
  throw invalid(`${name} must be 64 hex digits or a 32-byte Buffer`);
}

/** The seal key derived from the app's secret key: HMAC-SHA256(secretKey, "deviceauth seal key v1"). */
function deriveSealKey(secretKey) {
  if ((typeof secretKey !== 'string' && !(secretKey instanceof Uint8Array)) || secretKey.length === 0) {
    throw invalid('secretKey must be a non-empty string or Buffer');
  }
  return crypto.createHmac('sha256', secretKey).update(SEAL_KEY_CONTEXT).digest();
}

const oneOf = (value, name, allowed) => {
  if (!allowed.includes(value)) throw invalid(`${name} must be ${allowed.map((a) => `'${a}'`).join(' or ')}, not ${util.inspect(value)}`);
  return value;
};
const millis = (value, name, { min = 0, zero = true } = {}) => {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || (!zero && value === 0) || value > 365 * 86_400_000) {
    throw invalid(`${name} must be a number of milliseconds${zero ? '' : ' above 0'}, not ${util.inspect(value)}`);
  }
  return value;
};
const count = (value, name) => {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) throw invalid(`${name} must be a whole number >= 0, not ${util.inspect(value)}`);
  return value;
};

/** Where log lines go: `logger.warn/info/error(message)`; default `console`, prefixed with the logger name. */
function loggerOf(logger) {
  if (logger === undefined || logger === null) {
    return {
      warn: (message) => console.warn(`WARNING ${LOGGER_NAME}: ${message}`),
      info: (message) => console.info(`INFO ${LOGGER_NAME}: ${message}`),
      error: (message) => console.error(`ERROR ${LOGGER_NAME}: ${message}`),
    };
  }
  if (typeof logger.warn !== 'function') throw invalid('logger must have warn(), info() and error() methods');
  const call = (name) => (message) => (typeof logger[name] === 'function' ? logger[name](message) : logger.warn(message));
  return { warn: call('warn'), info: call('info'), error: call('error') };
}

/** Checked settings with every default filled in (throws INVALID_ARGUMENT naming the option). */
function settingsOf(options) {
  if (options === null || typeof options !== 'object') throw invalid('options must be an object');
  const o = { ...options };
  const s = {};
  if (o.client !== undefined && o.client !== null) {
    if (!(o.client instanceof activeconnect.Client)) throw invalid('client must be an activeconnect.Client');
    s.client = o.client;
  } else {
    if (typeof o.applicationId !== 'string' || !o.applicationId) throw invalid('applicationId is required (DEVICEAUTH_APPLICATION_ID)');
    if (typeof o.applicationSecret !== 'string' || !o.applicationSecret) throw invalid('applicationSecret is required (DEVICEAUTH_APPLICATION_SECRET)');
    s.clientOptions = {
      applicationId: o.applicationId,
      applicationSecret: o.applicationSecret,
      baseUrl: o.baseUrl || undefined,
      caFile: o.caFile || undefined,
      timeoutMs: o.timeoutMs ?? undefined,
      allowInsecureHttp: o.allowInsecureHttp ?? undefined,
      allowedOrigins: o.allowedOrigins ?? undefined,
    };
    // Checks the client options now (at startup), not at the first request.
    s.client = new activeconnect.Client(s.clientOptions);
  }
  s.store = o.store === undefined ? DEFAULTS.store : o.store;
  if (s.store !== null && s.store !== false && (typeof s.store !== 'string' || !s.store)) {
    throw invalid("store must be a store URL ('memory', 'sqlite:///path', 'postgresql://...', 'redis://...') or null for none");
  }
  if (s.store === false) s.store = null;
  if (o.sealKey !== undefined && o.sealKey !== null && o.sealKey !== '') s.sealKey = sealKeyOf(o.sealKey, 'sealKey');
  else if (o.secretKey !== undefined && o.secretKey !== null && o.secretKey !== '') s.sealKey = deriveSealKey(o.secretKey);
  else throw invalid('sealKey (64 hex digits, DEVICEAUTH_SEAL_KEY) or secretKey (the app\'s secret, e.g. the session secret) is required');
  s.walkaway = oneOf(o.walkaway ?? DEFAULTS.walkaway, 'walkaway', ['sign_out', 'keep']);
  s.failMode = oneOf(o.failMode ?? DEFAULTS.failMode, 'failMode', ['closed', 'open']);
  s.checkBudgetMs = millis(o.checkBudgetMs ?? DEFAULTS.checkBudgetMs, 'checkBudgetMs', { zero: false });
  s.attempts = count(o.attempts ?? DEFAULTS.attempts, 'attempts');
  s.attemptWindowMs = millis(o.attemptWindowMs ?? DEFAULTS.attemptWindowMs, 'attemptWindowMs', { zero: false });
  s.monitor = o.monitor ?? DEFAULTS.monitor;
  if (typeof s.monitor !== 'boolean') throw invalid('monitor must be true or false');
  if (o.monitorIntervalMs !== undefined && o.monitorIntervalMs !== null) s.monitorIntervalMs = millis(o.monitorIntervalMs, 'monitorIntervalMs', { zero: false });
  s.log = loggerOf(o.logger);
  return s;
}

/** Reads a boolean setting text: 1/0, true/false, yes/no, on/off. */
function flag(text, name) {
  const value = String(text).trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw invalid(`${name} must be true or false, not ${util.inspect(text)}`);
}
function seconds(text, name) {
  const value = Number(String(text).trim());
  if (String(text).trim() === '' || !Number.isFinite(value) || value <= 0) throw invalid(`${name} must be a number of seconds above 0, not ${util.inspect(text)}`);
  return Math.round(value * 1000);
}
function whole(text, name) {
  const value = Number(String(text).trim());
  if (!/^\s*\d+\s*$/.test(String(text))) throw invalid(`${name} must be a whole number >= 0, not ${util.inspect(text)}`);
  return value;
}

/**
 * The options of `SignIns` / `deviceAuth` from `DEVICEAUTH_*` settings (default: the
 * environment): only the settings that are set; bad values throw INVALID_ARGUMENT naming
 * the setting. Durations are seconds in the settings, milliseconds in the options.
 */
function optionsFromEnv(env = process.env) {
  const get = (name) => {
    const value = typeof env === 'function' ? env(name) : env[name];
    return value === undefined || value === null || value === '' ? undefined : String(value);
  };
  const o = {};
  const set = (name, key, convert = (v) => v) => {
    const value = get(name);
    if (value !== undefined) o[key] = convert(value, name);
  };
  set('DEVICEAUTH_APP_ID', 'applicationId');
  set('DEVICEAUTH_APP_SECRET', 'applicationSecret');
  set('DEVICEAUTH_APPLICATION_ID', 'applicationId');
  set('DEVICEAUTH_APPLICATION_SECRET', 'applicationSecret');
  set('DEVICEAUTH_BASE_URL', 'baseUrl');
  set('DEVICEAUTH_STORE', 'store', (v) => (v.trim().toLowerCase() === 'none' ? null : v));
  set('DEVICEAUTH_SEAL_KEY', 'sealKey', (v, n) => sealKeyOf(v.trim(), n));
  set('DEVICEAUTH_WALKAWAY', 'walkaway', (v, n) => oneOf(v.trim().toLowerCase(), n, ['sign_out', 'keep']));
  set('DEVICEAUTH_FAIL_MODE', 'failMode', (v, n) => oneOf(v.trim().toLowerCase(), n, ['closed', 'open']));
  set('DEVICEAUTH_CHECK_BUDGET', 'checkBudgetMs', seconds);
  set('DEVICEAUTH_ATTEMPTS', 'attempts', whole);
  set('DEVICEAUTH_ATTEMPT_WINDOW', 'attemptWindowMs', seconds);
  set('DEVICEAUTH_CA_FILE', 'caFile');
  set('DEVICEAUTH_MONITOR', 'monitor', flag);
  set('DEVICEAUTH_MONITOR_INTERVAL', 'monitorIntervalMs', seconds);
  return o;
}

// ---- the flow --------------------------------------------------------------------------

/** `promise`, or a TIMEOUT rejection after `ms` (the promise's own outcome is then ignored). */
function withinBudget(promise, ms) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new DeviceAuthError(ErrorCode.Timeout, `no answer within the check budget of ${ms} ms`)), ms);
  });
  promise.catch(() => {});
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** The Progress state of a status under the walkaway policy. */
function stateOf(status, walkaway) {
  switch (status) {
    case 'pending':
    case 'identifying':
      return status;
    case 'active':
      return 'approved';
    case 'walkaway':
      return walkaway === 'keep' ? 'approved' : 'ended';
    case 'failed':
    case 'cancelled':
      return 'refused';
    case 'timeout':
      return 'timeout';
    default:
      return 'ended';
  }
}

/** The Check reason of a stored or refreshed status under the walkaway policy (`null`: signed in). */
function reasonOf(status, walkaway) {
  if (status === 'active') return null;
  if (status === 'walkaway') return walkaway === 'keep' ? null : 'walkaway';
  if (status === 'closed') return 'remote_logout';
  return 'ended';
}

const describeError = (error) =>
  error instanceof DeviceAuthError ? `${error.code}${error.reason ? ` ${error.reason}` : ''}` : error?.name || 'error';

/**
 * The web sign-in flow of one app: a client (with the per-user attempt limit) and a
 * monitor on the store. `await SignIns.open(options)`, or `new SignIns(options)` which
 * opens on first use (`ready()`); `close()` at shutdown.
 */
class SignIns {
  #s;
  #opening;
  #limited;
  #monitor = null;
  #known = new Set();
  #closed = false;

  /** Checks the options at once (INVALID_ARGUMENT naming the option); opens the store on first use. */
  constructor(options) {
    this.#s = settingsOf(options);
  }

  /** A SignIns whose client and monitor are open. */
  static async open(options) {
    const signIns = new SignIns(options);
    await signIns.ready();
    return signIns;
  }

  /** Opens the client's attempt limit and the monitor on the store (once; again after a failure). */
  ready() {
    if (!this.#opening) {
      this.#opening = this.#open().catch((error) => {
        this.#opening = undefined;
        throw error;
      });
    }
    return this.#opening;
  }

  async #open() {
    const s = this.#s;
    let limited = s.client;
    if (s.attempts > 0) {
      limited = await s.client.withAttemptLimit({
        store: s.store || 'memory',
        attempts: s.attempts,
        windowMs: s.attemptWindowMs,
        sealKey: s.sealKey,
      });
    }
    let monitor = null;
    if (s.store) {
      monitor = await activeconnect.Monitor.open(s.client, {
        store: s.store,
        sealKey: s.sealKey,
        polling: s.monitor,
        intervalMs: s.monitorIntervalMs,
      });
    }
    this.#limited = limited;
    this.#monitor = monitor;
  }

  /** The settings in effect (no secret, no key). */
  get settings() {
    const s = this.#s;
    return {
      store: s.store ? s.store.replace(/\/\/[^@/]*@/, '//***@') : null,
      walkaway: s.walkaway,
      failMode: s.failMode,
      checkBudgetMs: s.checkBudgetMs,
      attempts: s.attempts,
      attemptWindowMs: s.attemptWindowMs,
      monitor: s.monitor,
    };
  }

  /** The client (without the attempt limit). */
  get client() {
    return this.#s.client;
  }

  /** The monitor on the store once open (`null` without a store or before `ready()`). */
  get monitor() {
    return this.#monitor;
  }

  /** The 32-byte seal key (sessions, store rows; adapters derive their cookie key from it). */
  get sealKey() {
    return Buffer.from(this.#s.sealKey);
  }

  /** Where this flow logs (`warn`, `info`, `error`). */
  get log() {
    return this.#s.log;
  }

  /**
   * Pushes a sign-in to `userId`'s phone: the sealed pending session. Rejects with the
   * DeviceAuthError (`problem(error)` gives the page): RATE_LIMITED over the attempt limit
   * (nothing sent), NOT_STARTED (e.g. no phone), TRANSPORT / TIMEOUT, ...
   */
  async start(userId) {
    if (typeof userId !== 'string' || userId === '') throw invalid('userId must be a non-empty string');
    await this.ready();
    const session = await this.#limited.authenticateUser(userId);
    return session.seal(this.#s.sealKey);
  }

  #unseal(sealed) {
    if (typeof sealed !== 'string' || sealed === '') return null;
    try {
      return this.#s.client.unseal(sealed, this.#s.sealKey);
    } catch {
      return null;
    }
  }

  /**
   * ONE status check of a pending sign-in, within the check budget. Approved: the session
   * is in the monitor's store (key: its session token). An unreadable sealed value is
   * `ended`; a check that fails or runs past the budget is `unavailable` (not done).
   */
  async progress(sealed) {
    const s = this.#s;
    const session = this.#unseal(sealed);
    if (!session) return new Progress('ended', null, null);
    try {
      await withinBudget(this.ready(), s.checkBudgetMs);
    } catch (error) {
      s.log.warn(`sign-in progress: the store cannot be opened (${describeError(error)})`);
      return new Progress('unavailable', null, sealed);
    }
    const before = session.status;
    const work = async () => {
      let status = before;
      // Also an approved one is checked again: a replayed old value must not sign in a
      // session that was logged out since.
      if (NOT_DONE.has(stateOf(status, s.walkaway)) || stateOf(status, s.walkaway) === 'approved') {
        status = await session.refresh({ timeoutMs: s.checkBudgetMs });
      }
      const state = stateOf(status, s.walkaway);
      if (state === 'approved' && this.#monitor) await this.#monitor.add(session);
      return { status, state };
    };
    let found;
    try {
      found = await withinBudget(work(), s.checkBudgetMs);
    } catch (error) {
      // A failure that may pass leaves the sign-in waiting; any other (NOT_FOUND,
      // UNAUTHORIZED, PROTOCOL, ...) ends it.
      if (error instanceof DeviceAuthError && !PASSING.has(error.code)) {
        s.log.warn(`sign-in progress: the status check failed (${describeError(error)}); the sign-in ends`);
        return new Progress('ended', null, null);
      }
      s.log.warn(`sign-in progress: the status could not be checked within ${s.checkBudgetMs} ms (${describeError(error)})`);
      return new Progress('unavailable', null, sealed);
    }
    const { status, state } = found;
    if (status === 'walkaway' && state === 'ended') this.#logoutLater(session, 'a sign-in that walked away');
    if (state === 'approved' || NOT_DONE.has(state)) {
      return new Progress(state, status, status === before ? sealed : session.seal(s.sealKey));
    }
    return new Progress(state, status, null);
  }

  /**
   * Server-Sent Events of a pending sign-in (an async iterator of text chunks): the
   * current progress at once, then each change (one check per second), `: keep-alive`
   * every 15 s; it ends after the first done event, or after 180 s. `onProgress(progress)`
   * sees every check (store `progress.sealed` there if the framework can); `signal` stops it.
   */
  async *stream(sealed, { signal, onProgress } = {}) {
    const started = Date.now();
    let lastSent = Date.now();
    let last;
    let current = sealed;
    while (!signal?.aborted) {
      const progress = await this.progress(current);
      if (progress.sealed) current = progress.sealed;
      if (onProgress) await onProgress(progress);
      const text = JSON.stringify(progress);
      if (text !== last) {
        last = text;
        lastSent = Date.now();
        yield sse(progress);
        if (progress.done) return;
      } else if (Date.now() - lastSent >= SSE_KEEPALIVE_MS) {
        lastSent = Date.now();
        yield ': keep-alive\n\n';
      }
      if (Date.now() - started >= SSE_MAX_MS) return;
      await sleep(SSE_CHECK_MS, signal);
    }
  }

  /**
   * The per-request check of a signed-in user's session. With a store: a read of the
   * status the monitors wrote (no service call); without: one refresh. Both within the
   * check budget; what cannot be known is handled by the fail mode. Never throws.
   */
  async check(sealed) {
    const s = this.#s;
    const session = this.#unseal(sealed);
    if (!session) return new Check(false, null, 'ended', null);
    const before = session.status;
    let status;
    let unreachable = false;
    try {
      status = await withinBudget(
        (async () => {
          await this.ready();
          if (this.#monitor) {
            const stored = await this.#monitor.status(session.sessionToken);
            if (stored === null) return null;
            // The monitor wrote "CODE: message"; NOT_FOUND: the service no longer knows it.
            if (stored.error && stored.error.startsWith(`${ErrorCode.NotFound}:`)) return null;
            if (!stored.watched && stored.error && !activeconnect.isEnded(stored.status)) unreachable = true;
            return stored.status;
          }
          return session.refresh({ timeoutMs: s.checkBudgetMs });
        })(),
        s.checkBudgetMs,
      );
    } catch (error) {
      if (error instanceof DeviceAuthError && error.code === ErrorCode.NotFound) return this.#signedOut(session, null, 'ended');
      // Fail open bridges only a missing answer; a refusal or a garbled answer is closed.
      const closed = error instanceof DeviceAuthError && NEVER_OPEN.has(error.code);
      return this.#unavailable(session, sealed, null, describeError(error), closed);
    }
    if (status === null) return this.#signedOut(session, null, 'ended');
    if (unreachable) return this.#unavailable(session, sealed, status, 'the monitors cannot reach the service for this session');
    const reason = reasonOf(status, s.walkaway);
    if (reason === null) {
      // No store: the refreshed status is in the session; seal it again only when it changed.
      const keep = this.#monitor || status === before ? sealed : session.seal(s.sealKey);
      return new Check(true, status, null, keep);
    }
    return this.#signedOut(session, status, reason);
  }

  #unavailable(session, sealed, status, why, closed = false) {
    const s = this.#s;
    if (s.failMode === 'open' && !closed) {
      s.log.warn(`session check: the status cannot be known (${why}); fail mode open keeps the user signed in`);
      return new Check(true, status, null, sealed);
    }
    s.log.warn(`session check: the status cannot be known (${why}); ${closed ? 'a refusal' : 'fail mode closed'} signs the user out`);
    return this.#signedOut(session, status, 'unavailable');
  }

  #signedOut(session, status, reason) {
    // The service session is logged out for walkaway (policy sign_out) and when its
    // status cannot be known; every signed-out session leaves the store.
    if (reason === 'walkaway' || reason === 'unavailable') this.#logoutLater(session, `a session signed out for ${reason}`);
    else this.#removeLater(session);
    return new Check(false, status, reason, null);
  }

  #removeLater(session) {
    const monitor = this.#monitor;
    if (!monitor) return;
    withinBudget(monitor.remove(session.sessionToken), this.#s.checkBudgetMs).catch((error) =>
      this.#s.log.warn(`could not remove a session from the store (${describeError(error)})`),
    );
  }

  #logoutLater(session, what) {
    this.#signOutSession(session).catch((error) => this.#s.log.warn(`could not log out ${what} (${describeError(error)})`));
  }

  async #signOutSession(session) {
    const s = this.#s;
    const monitor = this.#monitor;
    const removing = monitor ? withinBudget(monitor.remove(session.sessionToken), s.checkBudgetMs) : Promise.resolve(false);
    const logout = withinBudget(session.logout(), s.checkBudgetMs);
    const [removed, loggedOut] = await Promise.allSettled([removing, logout]);
    if (removed.status === 'rejected') s.log.warn(`sign-out: could not remove the session from the store (${describeError(removed.reason)})`);
    if (loggedOut.status === 'rejected') s.log.warn(`sign-out: could not log the service session out (${describeError(loggedOut.reason)})`);
  }

  /** Logs the service session out and removes it from the store, within the budget; failures are logged, never thrown. */
  async signOut(sealed) {
    const session = this.#unseal(sealed);
    if (!session) return;
    try {
      await withinBudget(this.ready(), this.#s.checkBudgetMs);
    } catch (error) {
      this.#s.log.warn(`sign-out: the store cannot be opened (${describeError(error)})`);
    }
    await this.#signOutSession(session);
  }

  /** The service user id of a sealed session (no call); `null` when it is not a session of this app. */
  userOf(sealed) {
    const session = this.#unseal(sealed);
    return session ? session.user : null;
  }

  /** The phone registration link of `userId` (added to the service first when new to this process). */
  async registrationLink(userId, displayName) {
    if (!this.#known.has(userId)) {
      await this.#s.client.addUsers([userId]);
      if (this.#known.size >= 10_000) this.#known.clear();
      this.#known.add(userId);
    }
    return this.#s.client.deviceRegistrationLink(userId, displayName ? { displayName } : undefined);
  }

  /** Whether `userId` has a registered phone. */
  isRegistered(userId) {
    return this.#s.client.hasRegisteredMobileDevice(userId);
  }

  /** Stops this process's monitor (hands its sessions to the other processes at once). */
  async close() {
    if (this.#closed) return;
    this.#closed = true;
    const opening = this.#opening;
    if (!opening) return;
    try {
      await opening;
    } catch {
      return;
    }
    if (this.#monitor) await this.#monitor.close();
  }

  [Symbol.for('nodejs.util.inspect.custom')](depth, inspectOptions) {
    return `SignIns ${util.inspect(this.settings, inspectOptions)}`;
  }
}

/** A SignIns whose client and monitor are open: `await createSignIns(options)`. */
const createSignIns = (options) => SignIns.open(options);

function sleep(ms, signal) {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

// ---- pages -----------------------------------------------------------------------------

/** `{ status, message }` for a page or JSON answer about any error of the flow. */
function problem(error) {
  const known = error instanceof DeviceAuthError || Object.values(ErrorCode).includes(error?.code);
  const code = known ? error.code : ErrorCode.Internal;
  switch (code) {
    case ErrorCode.RateLimited: {
      const seconds = Math.max(1, Math.ceil((Number(error.retryAfterMs) || 0) / 1000));
      return { status: 429, message: `Too many sign-in requests for this account. Try again in ${seconds} s.`, retryAfter: seconds };
    }
    case ErrorCode.NotFound:
      // The service does not know the user yet (never registered a phone).
      return { status: 409, message: 'This account has no registered phone yet. Register your phone first.' };
    case ErrorCode.NotStarted:
      if (error.reason === 'NO_MOBILE_DEVICE') {
        return { status: 409, message: 'This account has no registered phone yet. Register your phone first.' };
      }
      return { status: 409, message: `The sign-in could not start (${error.reason || 'UNKNOWN'}).` };
    case ErrorCode.Transport:
    case ErrorCode.Timeout:
    case ErrorCode.Store:
      return { status: 503, message: 'The sign-in service cannot be reached right now. Try again in a moment.' };
    case ErrorCode.Unauthorized:
      return { status: 502, message: "The sign-in service refused this application's credentials; check the application id and secret." };
    case ErrorCode.InvalidArgument:
      return { status: 400, message: 'That account name cannot be used for sign-in.' };
    default:
      return { status: 502, message: `The sign-in service answered with an error (${code}).` };
  }
}

/** One Server-Sent Event of a progress: `event: progress` and its JSON (never the sealed session). */
function sse(progress) {
  const data = JSON.stringify(typeof progress?.toJSON === 'function' ? progress.toJSON() : progress);
  return `event: progress\ndata: ${data}\n\n`;
}

/** A random service user id (18 random bytes, base64url: 24 characters). */
const newUserId = () => crypto.randomBytes(18).toString('base64url');

const SCRIPT_PATH = path.join(__dirname, 'web', 'deviceauth-wait.js');
let scriptText;
/** The browser script of the waiting page (the same text as Python's). */
function waitScript() {
  if (scriptText === undefined) scriptText = fs.readFileSync(SCRIPT_PATH, 'utf8');
  return scriptText;
}

const escapeHtml = (value) =>
  String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

/** The waiting page snippet: the div the script drives, and the script tag. */
function waitingHtml({ eventsUrl, statusUrl, nextUrl, endedUrl, scriptUrl, message = PROGRESS_MESSAGES.pending }) {
  return (
    `<div id="deviceauth-wait" data-events="${escapeHtml(eventsUrl)}" data-status="${escapeHtml(statusUrl)}" ` +
    `data-next="${escapeHtml(nextUrl)}" data-ended="${escapeHtml(endedUrl)}" data-state="pending">\n` +
    ` <p data-deviceauth-message>${escapeHtml(message)}</p></div> <script src="${escapeHtml(scriptUrl)}" defer></script>`
  );
}

/** The registration link as a QR code: an `<svg>` element to put inline in a page (no XML declaration). */
const registrationQr = (link) => qr.svg(link).replace(/^\s*<\?xml[^>]*\?>\s*/, '');

module.exports = {
  SignIns,
  createSignIns,
  Progress,
  Check,
  problem,
  sse,
  newUserId,
  waitScript,
  waitingHtml,
  registrationQr,
  optionsFromEnv,
  deriveSealKey,
  escapeHtml,
  PROGRESS_MESSAGES,
  CHECK_MESSAGES,
  DEFAULTS,
  SCRIPT_PATH,
};
