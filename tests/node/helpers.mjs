// Shared by the Node test suites: start the emulator, drive its control API, load the
// addon. Every suite starts its own emulator and stops it when the suite is over.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '..', '..');
export const bindingDir = path.join(repo, 'bindings-node');
export const emulatorPath =
  process.env.DEVICEAUTH_EMULATOR || path.join(repo, 'target', 'debug', 'deviceauth-emulator');

const require = createRequire(import.meta.url);
/** The package, loaded the way `require('deviceauth')` does. */
export const deviceauth = require(bindingDir);
export const { activeconnect, projectinsight, ErrorCode } = deviceauth;

/**
 * Starts `deviceauth-emulator --listen 127.0.0.1:0 --quiet [...args]` and resolves once it
 * printed its URL and first application: { url, appId, appSecret, stop() }.
 */
export function startEmulator(args = []) {
  const child = spawn(emulatorPath, ['--listen', '127.0.0.1:0', '--quiet', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const stopped = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await stopped;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`the emulator did not start within 20 s (${emulatorPath})`));
    }, 20_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot start the emulator at ${emulatorPath}: ${error.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the emulator exited early with ${code}`));
    });
    const lines = createInterface({ input: child.stdout });
    let url;
    lines.on('line', (line) => {
      const listening = /^deviceauth-emulator listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
      if (listening) url = listening[1];
      const app = /^application_id=(\S+) application_secret=(\S+)$/.exec(line);
      if (app && url) {
        clearTimeout(timer);
        lines.removeAllListeners('line');
        child.stdout.resume();
        resolve({ url, appId: app[1], appSecret: app[2], stop });
      }
    });
  });
}

/** A small client of the emulator's JSON control API. */
export class Control {
  constructor(url) {
    this.url = url;
  }

  async call(method, pathname, body) {
    const response = await fetch(this.url + pathname, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${pathname}: HTTP ${response.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  /** A fresh application: { application_id, application_secret }. */
  newApp() {
    return this.call('POST', '/_emulator/apps');
  }

  registerDevice(app, user) {
    return this.call('POST', `/_emulator/apps/${enc(app)}/users/${enc(user)}/device`);
  }

  sessions(app) {
    return this.call('GET', `/_emulator/apps/${enc(app)}/sessions`);
  }

  users(app) {
    return this.call('GET', `/_emulator/apps/${enc(app)}/users`);
  }

  sms(app) {
    return this.call('GET', `/_emulator/apps/${enc(app)}/sms`);
  }

  act(token, action) {
    return this.call('POST', `/_emulator/sessions/${enc(token)}/${action}`);
  }

  activationCode(id) {
    return this.call('GET', `/_emulator/activations/${enc(id)}`).then((r) => r.code);
  }

  expireActivation(id) {
    return this.call('POST', `/_emulator/activations/${enc(id)}/expire`);
  }

  fault(spec) {
    return this.call('POST', '/_emulator/faults', spec);
  }

  clearFaults() {
    return this.call('DELETE', '/_emulator/faults');
  }

  requests(prefix) {
    return this.call('GET', `/_emulator/requests?path=${enc(prefix)}`);
  }
}

const enc = encodeURIComponent;

/**
 * Starts an emulator for a suite: call in `before`, returns the context; `after` stops it.
 * Each test gets a fresh application through `ctx.newClient()`.
 */
export async function suite(args = []) {
  const emulator = await startEmulator(args);
  const control = new Control(emulator.url);
  return {
    ...emulator,
    control,
    /** A fresh application and an activeconnect.Client for it. */
    async newClient(options = {}) {
      const app = await control.newApp();
      const client = new activeconnect.Client({
        applicationId: app.application_id,
        applicationSecret: app.application_secret,
        baseUrl: emulator.url,
        ...options,
      });
      return { app: app.application_id, secret: app.application_secret, client };
    },
    /** A fresh application with `user` added and their phone registered. */
    async newUser(user = 'alice', options = {}) {
      const made = await this.newClient(options);
      await made.client.addUsers([user]);
      await control.registerDevice(made.app, user);
      return { ...made, user };
    },
    /** The token of the newest session of `app`. */
    async lastSessionToken(app) {
      const sessions = await control.sessions(app);
      return sessions[sessions.length - 1].session_token;
    },
  };
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The rejection of `promise` (fails if it resolves). */
export async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/** The exception `fn()` throws (fails if it returns). */
export function thrown(fn) {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an exception, but the call returned');
}
