'use strict';
// `deviceauth/express`: phone sign-in for Express 5, over the shared web flow of
// `deviceauth/web`. `deviceAuth(options)` is a Router to mount at the app's root:
//
//   app.use(deviceAuth({ ...optionsFromEnv(), secretKey, findUser, loadUser }));
//
// Its first layer checks, on every request, the session of a signed-in user (a read of
// the monitor store, within the check budget) and sets `req.deviceauth` and
// `res.locals.user`; its routes start a sign-in, show the waiting page (SSE, JSON
// fallback), finish it, explain an ended one, sign out, and show the phone registration
// page with its QR code. The state lives in express-session's `req.session.deviceauth`
// when there is one, else in one encrypted HttpOnly SameSite=Lax cookie.

const crypto = require('node:crypto');
const { DeviceAuthError, ErrorCode } = require('./index.js');
const web = require('./web.js');

const { SignIns, Progress, problem, sse, waitScript, waitingHtml, registrationQr, escapeHtml, PROGRESS_MESSAGES } = web;

/** The messages of the adapter's own pages (the flow's are in `deviceauth/web`). */
const MESSAGES = Object.freeze({
  unknownUser: 'There is no account with that name.',
  noPendingSignIn: 'No sign-in is waiting: start one first.',
  signedOut: 'You are signed out.',
  signInRequired: 'Sign in first.',
  registrationRequired: 'Sign up or sign in first to register a phone.',
  noSession: 'Phone sign-in with Passport needs express-session (req.session).',
});

/** The default routes (mount the router at the app's root; change any path here). */
const DEFAULT_PATHS = Object.freeze({
  signIn: '/signin',
  wait: '/signin/wait',
  events: '/signin/events',
  status: '/signin/status',
  done: '/signin/done',
  ended: '/signin/ended',
  signOut: '/signout',
  register: '/register',
  script: '/deviceauth-wait.js',
});

const ENDED_STATES = new Set(['refused', 'timeout', 'ended']);
const kState = Symbol('deviceauth.state');
const kChecked = Symbol('deviceauth.checked');
const COOKIE_VERSION = 'v1.';

function loadExpress() {
  try {
    return require('express');
  } catch (error) {
    throw new Error('deviceauth/express needs Express 5 (npm install express)', { cause: error });
  }
}

const invalid = (message) => new DeviceAuthError(ErrorCode.InvalidArgument, `invalid argument: ${message}`);

// ---- state: express-session or one encrypted cookie ------------------------------------

/**
 * The cookie codec: AES-256-GCM under a key derived (HKDF-SHA256) from the seal key, the
 * cookie name as associated data. What it holds: `{ p, pu, s, u, r, f }` (see State).
 */
function cookieCodec(sealKey, name) {
  const key = Buffer.from(crypto.hkdfSync('sha256', sealKey, Buffer.alloc(0), 'deviceauth express cookie v1', 32));
  return {
    encode(value) {
      const iv = crypto.randomBytes(12);
      const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(name));
      const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
      return COOKIE_VERSION + Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
    },
    decode(text) {
      if (typeof text !== 'string' || !text.startsWith(COOKIE_VERSION)) return null;
      try {
        const raw = Buffer.from(text.slice(COOKIE_VERSION.length), 'base64url');
        if (raw.length < 29) return null;
        const decipher = crypto.createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
        decipher.setAAD(Buffer.from(name));
        decipher.setAuthTag(raw.subarray(raw.length - 16));
        const plain = Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString('utf8');
        const value = JSON.parse(plain);
        return value && typeof value === 'object' && !Array.isArray(value) ? value : null;
      } catch {
        return null;
      }
    },
  };
}

function cookieValue(req, name) {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return undefined;
}

/** Adds (or replaces) this response's Set-Cookie for `name`. */
function setCookie(res, name, line) {
  const current = res.getHeader('Set-Cookie');
  const lines = current === undefined ? [] : Array.isArray(current) ? current : [String(current)];
  res.setHeader('Set-Cookie', [...lines.filter((l) => !l.startsWith(`${name}=`)), line]);
}

const ok = (value) => typeof value === 'string' && value !== '';

// ---- the router ------------------------------------------------------------------------

/**
 * The Express Router of phone sign-in. Options: those of `SignIns` (or `signIns`, an
 * existing one) and `findUser(req)` (required): the app's user named by the sign-in form,
 * `{ id, deviceauthId }` or null; `loadUser(id, req)` (default `{ id }`), `onSignIn(req,
 * user)`, `passport` (the passport instance: sign-ins finish through
 * `passport.authenticate('deviceauth')`), `paths`, `afterSignIn`, `afterSignOut`, `pages`,
 * `cookie` (`{ name, secure, path }`), `session` (`'auto'`, `'cookie'`, `'express-session'`).
 */
function deviceAuth(options) {
  if (options === null || typeof options !== 'object') throw invalid('options must be an object');
  const express = loadExpress();
  const {
    signIns: given,
    findUser,
    loadUser = (id) => ({ id }),
    onSignIn,
    passport,
    paths: pathOptions,
    afterSignIn = '/',
    afterSignOut = '/',
    pages: pageOptions,
    cookie: cookieOptions = {},
    session: sessionMode = 'auto',
    ...flowOptions
  } = options;
  if (typeof findUser !== 'function') throw invalid('findUser(req) is required: it returns the app user { id, deviceauthId } the form names, or null');
  if (typeof loadUser !== 'function') throw invalid('loadUser must be a function (id, req) => user');
  if (onSignIn !== undefined && typeof onSignIn !== 'function') throw invalid('onSignIn must be a function (req, user)');
  if (passport !== undefined && (passport === null || typeof passport.authenticate !== 'function')) throw invalid('passport must be the passport instance');
  if (!['auto', 'cookie', 'express-session'].includes(sessionMode)) throw invalid("session must be 'auto', 'cookie' or 'express-session'");
  const paths = { ...DEFAULT_PATHS, ...(pathOptions || {}) };
  for (const [name, value] of Object.entries(paths)) {
    if (typeof value !== 'string' || !value.startsWith('/')) throw invalid(`paths.${name} must start with /`);
  }
  const signIns = given instanceof SignIns ? given : new SignIns(flowOptions);
  const pages = { ...DEFAULT_PAGES, ...(pageOptions || {}) };
  const cookieName = cookieOptions.name || 'deviceauth';
  if (!/^[A-Za-z0-9_-]+$/.test(cookieName)) throw invalid('cookie.name may hold letters, digits, _ and - only');
  const cookiePath = cookieOptions.path || '/';
  const cookieSecure = cookieOptions.secure ?? 'auto';
  const codec = cookieCodec(signIns.sealKey, cookieName);
  const log = signIns.log;

  // -- state --
  const useSession = (req) => {
    if (sessionMode === 'express-session') {
      if (!req.session) throw new Error('deviceauth: session is "express-session" but req.session is missing (mount express-session first)');
      return true;
    }
    return sessionMode === 'auto' && req.session !== null && typeof req.session === 'object';
  };

  /** The request's state: `p` pending sealed, `pu` its app user id, `s` signed-in sealed, `u` app user id, `r` registrant, `f` flash. */
  function state(req) {
    if (useSession(req)) {
      const value = req.session.deviceauth;
      return value && typeof value === 'object' ? value : {};
    }
    if (!req[kState]) req[kState] = codec.decode(cookieValue(req, cookieName)) || {};
    return req[kState];
  }

  function save(req, res, value) {
    const clean = Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== null));
    if (useSession(req)) {
      if (Object.keys(clean).length === 0) delete req.session.deviceauth;
      else req.session.deviceauth = clean;
      return;
    }
    req[kState] = clean;
    if (res.headersSent) return;
    const secure = cookieSecure === true || (cookieSecure === 'auto' && req.secure) ? '; Secure' : '';
    const line =
      Object.keys(clean).length === 0
        ? `${cookieName}=; Path=${cookiePath}; Max-Age=0; HttpOnly; SameSite=Lax${secure}`
        : `${cookieName}=${codec.encode(clean)}; Path=${cookiePath}; HttpOnly; SameSite=Lax${secure}`;
    setCookie(res, cookieName, line);
  }

  const update = (req, res, changes) => save(req, res, { ...state(req), ...changes });

  /** A new session id at sign-in (express-session), keeping what the session held. */
  function regenerate(req) {
    if (!useSession(req) || typeof req.session.regenerate !== 'function') return Promise.resolve();
    const kept = { ...req.session };
    delete kept.cookie;
    return new Promise((resolve, reject) =>
      req.session.regenerate((error) => {
        if (error) return reject(error);
        Object.assign(req.session, kept);
        resolve();
      }),
    );
  }

  function passportLogout(req) {
    if (typeof req.logout !== 'function' || !req.user) return Promise.resolve();
    return new Promise((resolve) => req.logout({ keepSessionInfo: true }, () => resolve()));
  }

  // -- helpers --
  const url = (req, name) => (req.baseUrl || '') + paths[name];
  const wantsJson = (req) => req.accepts(['html', 'json']) === 'json';
  const noStore = (res) => res.set('Cache-Control', 'no-store');

  function render(req, res, status, page, extra) {
    const da = req.deviceauth;
    const ctx = {
      req,
      res,
      user: da?.user ?? null,
      message: da?.message ?? null,
      paths: Object.fromEntries(Object.keys(paths).map((name) => [name, url(req, name)])),
      layout: pages.layout,
      ...extra,
    };
    noStore(res);
    res.status(status).type('html').send(pages[page](ctx));
  }

  /** An error of the flow as a page or JSON (never a 500); other errors go to `next`. */
  function fail(req, res, next, error) {
    if (!(error instanceof DeviceAuthError)) return next(error);
    const { status, message, retryAfter } = problem(error);
    log.warn(`sign-in failed: ${error.code}${error.reason ? ` ${error.reason}` : ''} -> ${status}`);
    if (retryAfter !== undefined) res.set('Retry-After', String(retryAfter));
    if (wantsJson(req)) {
      noStore(res);
      return res.status(status).json({ error: error.code, message, ...(retryAfter !== undefined ? { retryAfter } : {}) });
    }
    return render(req, res, status, 'problem', { status, code: error.code, message, title: 'Sign-in problem' });
  }

  const route = (handler) => async (req, res, next) => {
    try {
      await handler(req, res, next);
    } catch (error) {
      fail(req, res, next, error);
    }
  };

  // -- the per-request check --
  async function check(req, res, next) {
    if (req[kChecked]) return next();
    req[kChecked] = true;
    let current = state(req);
    const flash = current.f ?? null;
    if (flash !== null) update(req, res, { f: undefined });
    const da = {
      signIns,
      signedIn: false,
      user: null,
      check: null,
      message: flash,
      signOut: () => signOutRequest(req, res),
      register: (user) => {
        if (!user || (user.id === undefined && !ok(user.deviceauthId))) throw invalid('register(user) needs { id, deviceauthId }');
        if (!ok(user.deviceauthId)) throw invalid('user.deviceauthId must be a non-empty string');
        update(req, res, { r: { id: String(user.id ?? user.deviceauthId), d: user.deviceauthId, n: user.displayName || undefined } });
        return url(req, 'register');
      },
      paths: Object.fromEntries(Object.keys(paths).map((name) => [name, url(req, name)])),
    };
    req.deviceauth = da;
    res.locals.deviceauthMessage = flash;
    current = state(req);
    if (ok(current.s)) {
      const result = await signIns.check(current.s);
      da.check = result;
      if (result.signedIn) {
        if (result.sealed && result.sealed !== current.s) update(req, res, { s: result.sealed });
        const user = passport ? (req.user ?? null) : await loadUser(current.u, req);
        if (user) {
          da.signedIn = true;
          da.user = user;
          res.locals.user = user;
        } else {
          // The app no longer knows the user: the phone session goes too.
          await signIns.signOut(current.s);
          update(req, res, { s: undefined, u: undefined });
        }
      } else {
        update(req, res, { s: undefined, u: undefined });
        await passportLogout(req);
        da.message = result.message;
        res.locals.deviceauthMessage = result.message;
        // A page load starts again, signed out, with the message shown once.
        if ((req.method === 'GET' || req.method === 'HEAD') && !wantsJson(req)) {
          update(req, res, { f: result.message });
          // Only a path of this site (never `//host...`: no open redirect).
          return res.redirect(303, /^\/(?![/\\])/.test(req.originalUrl) ? req.originalUrl : '/');
        }
      }
    }
    next();
  }

  async function signOutRequest(req, res) {
    const current = state(req);
    if (ok(current.s)) await signIns.signOut(current.s);
    save(req, res, {});
    await passportLogout(req);
    if (req.deviceauth) {
      req.deviceauth.signedIn = false;
      req.deviceauth.user = null;
    }
    res.locals.user = undefined;
  }

  const router = express.Router();
  router.use(route(check));

  router.get(paths.script, (req, res) => {
    res.set('Cache-Control', 'public, max-age=3600').type('application/javascript').send(waitScript());
  });

  router.get(paths.signIn, (req, res) => {
    if (req.deviceauth.signedIn) return res.redirect(303, afterSignIn);
    render(req, res, 200, 'signIn', { title: 'Sign in', action: url(req, 'signIn'), username: '' });
  });

  const parseForm = [express.urlencoded({ extended: false }), express.json()];
  router.post(
    paths.signIn,
    parseForm,
    route(async (req, res) => {
      const user = await findUser(req);
      const username = typeof req.body?.username === 'string' ? req.body.username : '';
      if (!user) {
        if (wantsJson(req)) return noStore(res).status(404).json({ error: 'UNKNOWN_USER', message: MESSAGES.unknownUser });
        req.deviceauth.message = MESSAGES.unknownUser;
        return render(req, res, 404, 'signIn', { title: 'Sign in', action: url(req, 'signIn'), username });
      }
      if (!ok(user.deviceauthId)) throw invalid('findUser(req) must return { id, deviceauthId } with deviceauthId a non-empty string');
      const sealed = await signIns.start(user.deviceauthId);
      update(req, res, { p: sealed, pu: String(user.id ?? user.deviceauthId) });
      if (wantsJson(req)) {
        const links = { wait: url(req, 'wait'), events: url(req, 'events'), status: url(req, 'status'), done: url(req, 'done') };
        return noStore(res).status(202).json({ ...new Progress('pending', 'pending').toJSON(), links });
      }
      res.redirect(303, url(req, 'wait'));
    }),
  );

  router.get(paths.wait, (req, res) => {
    const current = state(req);
    if (!ok(current.p)) {
      if (req.deviceauth.signedIn) return res.redirect(303, afterSignIn);
      if (wantsJson(req)) return noStore(res).status(409).json({ error: 'NO_PENDING_SIGN_IN', message: MESSAGES.noPendingSignIn });
      update(req, res, { f: MESSAGES.noPendingSignIn });
      return res.redirect(303, url(req, 'signIn'));
    }
    const snippet = waitingHtml({
      eventsUrl: url(req, 'events'),
      statusUrl: url(req, 'status'),
      nextUrl: url(req, 'done'),
      endedUrl: url(req, 'ended'),
      scriptUrl: url(req, 'script'),
    });
    render(req, res, 200, 'waiting', { title: 'Check your phone', snippet, doneUrl: url(req, 'done') });
  });

  /** The progress when nothing is pending: approved for a signed-in user, else ended. */
  const idle = (req) => (req.deviceauth.signedIn ? new Progress('approved', req.deviceauth.check?.status ?? 'active') : new Progress('ended'));

  /** Keeps the new sealed session of a progress (or drops a done one). */
  function keep(req, res, pending, progress) {
    if (progress.sealed === pending) return;
    if (progress.sealed) update(req, res, { p: progress.sealed });
    else if (progress.done) update(req, res, { p: undefined, pu: undefined });
  }

  router.get(
    paths.status,
    route(async (req, res) => {
      noStore(res);
      const pending = state(req).p;
      if (!ok(pending)) return res.json(idle(req));
      const progress = await signIns.progress(pending);
      keep(req, res, pending, progress);
      res.json(progress);
    }),
  );

  router.get(paths.events, (req, res) => {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders?.();
    const pending = state(req).p;
    if (!ok(pending)) return res.end(sse(idle(req)));
    const controller = new AbortController();
    res.on('close', () => controller.abort());
    const session = useSession(req);
    const onProgress = (progress) => {
      // express-session: keep each new sealed session now (a cookie cannot change once
      // the stream's headers are out; the JSON endpoint and the finish route store it).
      const current = session ? state(req).p : undefined;
      if (!session || progress.sealed === current) return undefined;
      keep(req, res, current, progress);
      return new Promise((resolve) => req.session.save(() => resolve()));
    };
    (async () => {
      try {
        for await (const chunk of signIns.stream(pending, { signal: controller.signal, onProgress })) {
          if (controller.signal.aborted) break;
          res.write(chunk);
        }
      } catch (error) {
        log.warn(`sign-in events stopped (${error?.code || error?.name || 'error'})`);
      }
      res.end();
    })();
  });

  /** Finishes an approved sign-in: the app user is signed in (or the phone sign-in goes on). */
  const finish = route(async (req, res, next) => {
    const current = state(req);
    const pending = current.p;
    if (!ok(pending)) {
      if (req.deviceauth.signedIn) return res.redirect(303, afterSignIn);
      update(req, res, { f: MESSAGES.noPendingSignIn });
      return res.redirect(303, url(req, 'signIn'));
    }
    if (passport) {
      if (!req.session) throw new Error(MESSAGES.noSession);
      return passport.authenticate('deviceauth', { successRedirect: afterSignIn, keepSessionInfo: true })(req, res, next);
    }
    const progress = await signIns.progress(pending);
    if (progress.state === 'approved') {
      const user = await loadUser(current.pu, req);
      if (!user) {
        await signIns.signOut(progress.sealed);
        update(req, res, { p: undefined, pu: undefined });
        return res.redirect(303, `${url(req, 'ended')}?state=ended`);
      }
      await regenerate(req);
      update(req, res, { p: undefined, pu: undefined, r: undefined, s: progress.sealed, u: current.pu });
      req.deviceauth.signedIn = true;
      req.deviceauth.user = user;
      res.locals.user = user;
      if (onSignIn) await onSignIn(req, user);
      if (wantsJson(req)) return noStore(res).json({ signedIn: true, next: afterSignIn });
      return res.redirect(303, afterSignIn);
    }
    keep(req, res, pending, progress);
    if (!progress.done) {
      if (wantsJson(req)) return noStore(res).status(202).json(progress);
      return res.redirect(303, url(req, 'wait'));
    }
    if (wantsJson(req)) return noStore(res).json(progress);
    res.redirect(303, `${url(req, 'ended')}?state=${encodeURIComponent(progress.state)}`);
  });
  router.get(paths.done, finish);

  router.get(paths.ended, (req, res) => {
    const asked = typeof req.query.state === 'string' ? req.query.state : 'ended';
    const endedState = ENDED_STATES.has(asked) ? asked : 'ended';
    if (ok(state(req).p)) update(req, res, { p: undefined, pu: undefined });
    const message = PROGRESS_MESSAGES[endedState];
    if (wantsJson(req)) return noStore(res).json({ state: endedState, message });
    render(req, res, 200, 'ended', { title: 'Not signed in', state: endedState, endedMessage: message, signInUrl: url(req, 'signIn') });
  });

  router.post(
    paths.signOut,
    route(async (req, res) => {
      await signOutRequest(req, res);
      if (wantsJson(req)) return noStore(res).json({ signedIn: false, message: MESSAGES.signedOut });
      update(req, res, { f: MESSAGES.signedOut });
      res.redirect(303, afterSignOut);
    }),
  );

  router.get(
    paths.register,
    route(async (req, res) => {
      const current = state(req);
      let registrant = current.r && ok(current.r.d) ? { id: current.r.id, deviceauthId: current.r.d, displayName: current.r.n } : null;
      if (!registrant && req.deviceauth.signedIn) {
        registrant = { id: current.u, deviceauthId: signIns.userOf(current.s), displayName: undefined };
      }
      if (!registrant) {
        if (wantsJson(req)) return noStore(res).status(403).json({ error: 'NO_REGISTRANT', message: MESSAGES.registrationRequired });
        return render(req, res, 403, 'problem', { status: 403, code: 'NO_REGISTRANT', message: MESSAGES.registrationRequired, title: 'Register your phone' });
      }
      const link = await signIns.registrationLink(registrant.deviceauthId, registrant.displayName);
      const registered = await signIns.isRegistered(registrant.deviceauthId);
      if (wantsJson(req)) return noStore(res).json({ registered, link });
      render(req, res, 200, 'register', {
        title: 'Register your phone',
        link,
        svg: registrationQr(link),
        registered,
        registrant,
        signInUrl: url(req, 'signIn'),
      });
    }),
  );

  /** Lets only signed-in users through: 401 JSON, or the sign-in page with a message. */
  const required = (req, res, next) => {
    if (req.deviceauth?.signedIn) return next();
    if (wantsJson(req)) return noStore(res).status(401).json({ error: 'SIGN_IN_REQUIRED', message: MESSAGES.signInRequired });
    if (req.deviceauth) update(req, res, { f: MESSAGES.signInRequired });
    res.redirect(303, url(req, 'signIn'));
  };

  Object.defineProperties(router, {
    /** The flow (`deviceauth/web` SignIns) this router uses. */
    signIns: { value: signIns },
    /** The per-request check alone, for an app that mounts the router elsewhere. */
    check: { value: route(check) },
    /** Middleware: only signed-in users (else 401 JSON or the sign-in page). */
    required: { value: required },
    /** The resolved paths. */
    paths: { value: Object.freeze({ ...paths }) },
    /** Opens the store now (else at the first request): `await auth.ready()`. */
    ready: { value: () => signIns.ready() },
    /** Stops this process's monitor: at shutdown. */
    close: { value: () => signIns.close() },
    /** For the Passport strategy: the state of a request, and paths. */
    deviceauthAdapter: {
      value: Object.freeze({
        signIns,
        state,
        update: (req, changes) => {
          if (!useSession(req)) throw new Error(MESSAGES.noSession);
          update(req, undefined, changes);
        },
        url,
      }),
    },
  });
  return router;
}

// ---- default pages ---------------------------------------------------------------------

const STYLE = `body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#1d2433;background:#f5f7fb}
main{max-width:40rem;margin:2rem auto;padding:0 1.5rem}input{width:100%;padding:.6rem;margin-bottom:.75rem;border:1px solid #b8c2d6;border-radius:6px;font:inherit;box-sizing:border-box}
button,.button{padding:.55rem 1rem;border:0;border-radius:6px;background:#2f6fed;color:#fff;font:inherit;cursor:pointer;text-decoration:none}
.flash{padding:.6rem 1rem;background:#fff7d6;border:1px solid #f0d36b;border-radius:6px}.qr{width:220px;background:#fff;padding:.5rem;margin:0}.qr svg{width:100%;height:auto}`;

/**
 * The default pages: each `(ctx) => html`, with `ctx.layout({ title, body, head, ...ctx })`
 * around the body. Override any in `pages`, or only `layout` to keep these bodies in your
 * site's frame. Every value is escaped; `data-testid`s name the parts for tests.
 */
const DEFAULT_PAGES = Object.freeze({
  layout: ({ title, body, head = '', message }) => `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style>${head}</head>
<body><main>${message ? `<p class="flash" data-testid="flash">${escapeHtml(message)}</p>` : ''}${body}</main></body></html>`,

  signIn: (ctx) =>
    ctx.layout({
      ...ctx,
      body: `<h1>Sign in</h1><form method="post" action="${escapeHtml(ctx.action)}">
<label for="username">User name</label><input id="username" name="username" value="${escapeHtml(ctx.username || '')}" required autocomplete="username">
<button type="submit" data-testid="sign-in">Send the request to my phone</button></form>`,
    }),

  waiting: (ctx) =>
    ctx.layout({
      ...ctx,
      head: `<noscript><meta http-equiv="refresh" content="3;url=${escapeHtml(ctx.doneUrl)}"></noscript>`,
      body: `<h1 data-testid="waiting">Check your phone</h1>${ctx.snippet}
<noscript><p><a href="${escapeHtml(ctx.doneUrl)}">Continue once you approved on your phone</a></p></noscript>`,
    }),

  ended: (ctx) =>
    ctx.layout({
      ...ctx,
      body: `<h1 data-testid="sign-in-ended" data-state="${escapeHtml(ctx.state)}">You are not signed in</h1>
<p data-testid="ended-message">${escapeHtml(ctx.endedMessage)}</p><p><a class="button" href="${escapeHtml(ctx.signInUrl)}">Try again</a></p>`,
    }),

  register: (ctx) =>
    ctx.layout({
      ...ctx,
      head: ctx.registered ? '' : '<meta http-equiv="refresh" content="2">',
      body: `<h1>Register your phone</h1><p>Scan the code with your phone, or open the link on it.</p>
<figure class="qr" data-testid="registration-qr">${ctx.svg}</figure>
<p><a href="${escapeHtml(ctx.link)}" data-testid="registration-link">${escapeHtml(ctx.link)}</a></p>
<p data-testid="device-state" data-registered="${ctx.registered ? 'yes' : 'no'}">${
        ctx.registered
          ? `A phone is registered. <a href="${escapeHtml(ctx.signInUrl)}">Sign in</a>`
          : 'Waiting for your phone... (this page checks again by itself)'
      }</p>`,
    }),

  problem: (ctx) =>
    ctx.layout({
      ...ctx,
      body: `<h1 data-testid="problem" data-status="${escapeHtml(ctx.status)}" data-code="${escapeHtml(ctx.code)}">${escapeHtml(ctx.title || 'Sign-in problem')}</h1>
<p data-testid="problem-message">${escapeHtml(ctx.message)}</p><p><a class="button" href="${escapeHtml(ctx.paths.signIn)}">Back to sign-in</a></p>`,
      message: null,
    }),
});

module.exports = { deviceAuth, DEFAULT_PATHS, DEFAULT_PAGES, MESSAGES, ...web };
