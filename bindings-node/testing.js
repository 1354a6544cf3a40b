'use strict';
// `deviceauth/testing`: test your own app against the emulator that ships inside this
// package. `startEmulator()` runs `deviceauth-emulator` (bin/deviceauth-emulator.js, the same
// program as the Rust binary, inside the native addon) as a child process on a free
// loopback port with one application, and plays the user's side over the emulator's JSON
// control API (`/_emulator/...`, global fetch):
//
//   const { startEmulator } = require('deviceauth/testing');
//   const emu = await startEmulator();
//   const client = new activeconnect.Client({ applicationId: emu.applicationId,
//     applicationSecret: emu.applicationSecret, baseUrl: emu.baseUrl });
//   await client.addUsers(['u1']);
//   await emu.registerDevice('u1');                        // as if the phone registered
//   const s = await client.authenticateUser('u1');
//   await emu.setStatus(s.sessionToken, 'active');          // the phone approves
//   await s.wait({ timeoutMs: 10000 });
//   await emu.close();
//
// A test of a real app does not know the ids the app made up, so the emulator also acts
// from what the app shows: `openRegistrationLink(url)` registers the phone from the link the
// app displayed, and `pendingSignIns()` lists the sign-in requests waiting on a phone,
// NEWEST FIRST (the phone page's order): `(await emu.pendingSignIns())[0]` is the request
// the app just made.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const util = require('node:util');

const BIN = path.join(__dirname, 'bin', 'deviceauth-emulator.js');
/** Environment variable naming another emulator command (split on spaces). */
const COMMAND_ENV = 'DEVICEAUTH_EMULATOR';

/** The emulator did not start, stopped, or refused a control call (`status`: its HTTP status). */
class EmulatorError extends Error {
  constructor(message, status) {
    super(message);
    this.name = 'EmulatorError';
    if (status !== undefined) this.status = status;
  }
}

const kState = Symbol('state');

function parseSignIn(row) {
  const created = typeof row.created_at === 'string' ? new Date(row.created_at) : null;
  const signIn = {
    sessionToken: String(row.session_token ?? ''),
    user: String(row.user ?? ''),
    status: String(row.status ?? ''),
    createdAt: created && !Number.isNaN(created.getTime()) ? created : null,
  };
  // the token stays usable but out of console.log output
  Object.defineProperty(signIn, util.inspect.custom, {
    value: () => `SignIn { user: ${util.inspect(signIn.user)}, status: ${util.inspect(signIn.status)}, createdAt: ${signIn.createdAt && signIn.createdAt.toISOString()} }`,
  });
  return signIn;
}

function stopChild(child, timeoutMs = 10000) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    // keep this process alive until the child is gone (it was unref'd after the start)
    child.ref();
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** A running emulator and its user's side. Made by `startEmulator()`. */
class Emulator {
  constructor(state) {
    Object.defineProperty(this, kState, { value: state });
  }

  /** Activeconnect base URL, e.g. `http://127.0.0.1:41234` (the client's `baseUrl`). */
  get baseUrl() { return this[kState].baseUrl; }
  /** Project Insight base URL: `baseUrl + '/api'`. */
  get projectInsightUrl() { return `${this[kState].baseUrl}/api`; }
  /** Id of the application the emulator serves. */
  get applicationId() { return this[kState].apps[0].id; }
  /** Secret of that application (hidden from util.inspect). */
  get applicationSecret() { return this[kState].apps[0].secret; }
  /** With `tls: true`: path of the CA certificate (PEM) to trust (`caFile`); else null. */
  get caFile() { return this[kState].caFile; }
  /** The emulator's stdout lines so far. */
  get output() { return [...this[kState].stdout]; }
  /** The last lines of its stderr (one line per request, and errors). */
  get log() { return [...this[kState].stderr]; }
  /** Whether the child process is alive. */
  get running() { const c = this[kState].child; return c.exitCode === null && c.signalCode === null; }

  /** Registers `userId`'s phone, as if the user opened the registration link and pressed
   * Register. The app must have added the user (`addUsers`) first. */
  async registerDevice(userId) {
    const app = encodeURIComponent(this.applicationId);
    await this.request('POST', `/_emulator/apps/${app}/users/${encodeURIComponent(String(userId))}/device`);
  }

  /** Opens the registration link the app displayed and presses Register; resolves to the
   * user id the link belongs to. */
  async openRegistrationLink(url) {
    const answer = await this.request('POST', `/_emulator/register?link=${encodeURIComponent(String(url))}`);
    return answer && typeof answer.user === 'string' ? answer.user : '';
  }

  /** Sign-in requests waiting on a phone (`pending`, `identifying`), NEWEST FIRST as the
   * phone page lists them; only `userId`'s if given. */
  async pendingSignIns(userId) {
    return this.signIns(userId, { pending: true });
  }

  /** Every sign-in request of the application, newest first (`{ pending: true }`: waiting ones). */
  async signIns(userId, { pending = false } = {}) {
    const query = new URLSearchParams({ pending: pending ? 'true' : 'false' });
    if (userId !== undefined && userId !== null) query.set('user', String(userId));
    const rows = await this.request('GET', `/_emulator/apps/${encodeURIComponent(this.applicationId)}/sign-ins?${query}`);
    return (rows || []).map(parseSignIn);
  }

  /** The newest sign-in request waiting on a phone (`userId`'s if given), waiting up to
   * `timeoutMs` (default 10 s) for one to appear. */
  async waitForSignIn(userId, { timeoutMs = 10000 } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pending = await this.pendingSignIns(userId);
      if (pending.length > 0) return pending[0];
      if (Date.now() >= deadline) {
        throw new EmulatorError(`no sign-in request${userId != null ? ` for ${JSON.stringify(userId)}` : ''} waited on a phone within ${timeoutMs} ms`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Moves a sign-in session to `status` as the phone would: 'active' (approve, or come
   * back after a walk-away), 'walkaway', 'closed' (remote logout), 'failed' (deny),
   * 'cancelled', 'timeout'; action names ('approve', 'deny', ...) work too. Resolves to the
   * new status; rejects with an EmulatorError (status 409) when the phone cannot get there. */
  async setStatus(sessionToken, status) {
    const answer = await this.request('POST', `/_emulator/sessions/${encodeURIComponent(String(sessionToken))}/status`, { status: String(status) });
    return answer && typeof answer.status === 'string' ? answer.status : '';
  }

  /** The code a person reads after signing in on a Project Insight activation page;
   * `activation` is the activation id or its URL (`pending.url`). */
  async activationCode(activation) {
    let id = String(activation);
    if (id.includes('/')) id = new URL(id, this.baseUrl).pathname.replace(/\/+$/, '').split('/').pop();
    const answer = await this.request('GET', `/_emulator/activations/${encodeURIComponent(id)}`);
    return String(answer.code);
  }

  /** Any other control call (`/_emulator/...`, see the emulator's README); resolves to parsed JSON. */
  async request(method, urlPath, body) {
    const state = this[kState];
    if (!this.running) throw new EmulatorError(`the emulator has stopped${tail(state.stderr)}`);
    if (typeof urlPath !== 'string' || !urlPath.startsWith('/')) throw new TypeError('path must start with /');
    const url = state.baseUrl + urlPath;
    const data = body === undefined ? undefined : JSON.stringify(body);
    const what = `${method} ${urlPath.split('?')[0].replace(/\/sessions\/[^/]+/, '/sessions/[token]')}`; // no token in messages
    let status;
    let text;
    try {
      ({ status, text } = state.ca ? await httpsRequest(url, method, data, state.ca) : await fetchRequest(url, method, data));
    } catch (error) {
      throw new EmulatorError(`${what}: ${error && error.message}`);
    }
    if (status >= 400) {
      let detail = text;
      try { detail = JSON.parse(text).error ?? text; } catch { /* plain text */ }
      throw new EmulatorError(`${what}: HTTP ${status}: ${detail}`, status);
    }
    return text.trim() ? JSON.parse(text) : null;
  }

  /** Stops the emulator (SIGTERM, then SIGKILL after 10 s). Safe to call twice. */
  async close() {
    const state = this[kState];
    process.removeListener('exit', state.onExit);
    await stopChild(state.child);
    if (state.tmpdir) {
      fs.rmSync(state.tmpdir, { recursive: true, force: true });
      state.tmpdir = null;
    }
  }

  [util.inspect.custom]() {
    return `Emulator { baseUrl: ${util.inspect(this.baseUrl)}, applicationId: ${util.inspect(this.applicationId)}, running: ${this.running} }`;
  }

  toJSON() {
    return { baseUrl: this.baseUrl, projectInsightUrl: this.projectInsightUrl, applicationId: this.applicationId };
  }
}
if (typeof Symbol.asyncDispose === 'symbol') {
  // `await using emu = await startEmulator()` (Node 24, TypeScript 5.2+)
  Emulator.prototype[Symbol.asyncDispose] = function asyncDispose() { return this.close(); };
}

function tail(lines) {
  const text = lines.slice(-20).join('\n').trim();
  return text ? `:\n${text}` : '';
}

async function fetchRequest(url, method, data) {
  const response = await fetch(url, {
    method,
    body: data,
    headers: data === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
    redirect: 'manual',
  });
  return { status: response.status, text: await response.text() };
}

function httpsRequest(url, method, data, ca) {
  // global fetch takes no extra CA in Node 18-22, so HTTPS control calls use node:https
  return new Promise((resolve, reject) => {
    const req = https.request(url, {
      method,
      ca,
      headers: data === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30000, () => req.destroy(new Error('timed out')));
    req.end(data);
  });
}

function commandLine(options) {
  if (options.command) return [...options.command];
  const fromEnv = process.env[COMMAND_ENV];
  if (fromEnv && fromEnv.trim()) return fromEnv.trim().split(/\s+/);
  return [process.execPath, BIN];
}

/**
 * Starts the packaged emulator on a free loopback port and resolves once it serves.
 * Options: `approveAfterMs` (the phone approves every request by itself after that long),
 * `application: { id, secret }` (default: a random one), `tls` (HTTPS with a CA generated at
 * start; `emu.caFile` is its PEM), `args` (more flags), `command` (another program),
 * `env`, `startTimeoutMs` (default 30 s).
 */
async function startEmulator(options = {}) {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
  const argv = commandLine(options);
  argv.push('--listen', '127.0.0.1:0');
  if (options.application) argv.push('--app', `${options.application.id}:${options.application.secret}`);
  if (options.approveAfterMs !== undefined) argv.push('--approve-after', String(Math.trunc(options.approveAfterMs)));
  let tmpdir = null;
  let caFile = null;
  if (options.tls) {
    tmpdir = fs.mkdtempSync(path.join(os.tmpdir(), 'deviceauth-emulator-'));
    caFile = path.join(tmpdir, 'ca.pem');
    argv.push('--tls', '--ca-file', caFile);
  }
  argv.push(...(options.args || []));

  const child = spawn(argv[0], argv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...(options.env || {}) },
    windowsHide: true,
  });
  const state = {
    child, baseUrl: '', apps: [], caFile, ca: null, tmpdir, stdout: [], stderr: [],
    onExit: () => { try { child.kill('SIGKILL'); } catch { /* gone */ } },
  };
  // a forgotten close() must not leave the emulator running after this process exits
  process.once('exit', state.onExit);
  readline.createInterface({ input: child.stderr }).on('line', (line) => {
    state.stderr.push(line);
    if (state.stderr.length > 200) state.stderr.shift();
  });
  const lines = readline.createInterface({ input: child.stdout });
  const timeoutMs = options.startTimeoutMs ?? 30000;

  try {
    await new Promise((resolve, reject) => {
      let started = false;
      const timer = setTimeout(() => reject(new EmulatorError(`the emulator printed no start lines within ${timeoutMs} ms${tail(state.stderr)}`)), timeoutMs);
      child.once('error', (error) => { clearTimeout(timer); reject(new EmulatorError(`cannot run ${argv[0]}: ${error.message}`)); });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        // let the last stderr lines arrive before reporting them
        setImmediate(() => reject(new EmulatorError(`the emulator did not start (exit code ${code ?? signal})${tail(state.stderr)}`)));
      });
      lines.on('line', (line) => {
        state.stdout.push(line);
        if (state.stdout.length > 200) state.stdout.shift();
        if (started) return;
        if (line.startsWith('deviceauth-emulator listening on ')) {
          state.baseUrl = line.slice('deviceauth-emulator listening on '.length).trim().replace(/\/+$/, '');
        } else if (line.startsWith('application_id=')) {
          const fields = Object.fromEntries(line.split(/\s+/).filter((p) => p.includes('=')).map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
          state.apps.push({ id: fields.application_id || '', secret: fields.application_secret || '' });
        } else if (line.startsWith('project insight base url:')) {
          started = true;
          clearTimeout(timer);
          if (!state.baseUrl || state.apps.length === 0) reject(new EmulatorError(`unexpected start lines from the emulator:\n${state.stdout.join('\n')}`));
          else resolve();
        }
      });
    });
  } catch (error) {
    process.removeListener('exit', state.onExit);
    await stopChild(child);
    if (tmpdir) fs.rmSync(tmpdir, { recursive: true, force: true });
    throw error;
  }
  if (caFile) state.ca = fs.readFileSync(caFile);
  // The child and its pipes do not keep this process alive (a test runner can still exit
  // if a test forgets close(); the 'exit' hook above stops the child then).
  child.unref();
  for (const stream of [child.stdout, child.stderr]) if (stream && typeof stream.unref === 'function') stream.unref();
  return new Emulator(state);
}

module.exports = { startEmulator, Emulator, EmulatorError };
