// Issue 10 from Node: a hostile or broken service (a raw TCP server in this file whose every
// byte the test controls) and hostile arguments never crash the process, never get a
// secret out of it, and always end in a value or a DeviceAuthError with a documented code.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { bindingDir, emulatorPath, deviceauth, activeconnect, projectinsight, rejection, thrown } from './helpers.mjs';

const require = createRequire(import.meta.url);
const native = require(path.join(bindingDir, 'native.js'));
// fast-check is a devDependency of the package (tests/node has no node_modules of its own).
const fc = createRequire(path.join(bindingDir, 'package.json'))('fast-check');
const { DeviceAuthError, qr } = deviceauth;

const DOCUMENTED = new Set([
  'INVALID_ARGUMENT', 'NOT_FOUND', 'UNAUTHORIZED', 'NOT_STARTED', 'REFUSED', 'HTTP', 'PROTOCOL', 'TIMEOUT', 'ABORTED',
  'TRANSPORT', 'RATE_LIMITED', 'EXPIRED',
]);
const APP_SECRET = 'S3CRET-application-secret-0123456789';
const SESSION_SECRET = 'session-secret-ABCDEFGHIJKLMNOP';
const API_TOKEN = 'api-token-QRSTUVWXYZ-987654321';
const CODE = '918273';

/** An HTTP/1.1 answer as bytes: status, headers ([name, value] pairs), body. */
function answer(status, headers = [], body = '') {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  const head = [`HTTP/1.1 ${status} Hostile`, ...headers.map(([name, value]) => `${name}: ${value}`)];
  if (!headers.some(([name]) => /^(content-length|transfer-encoding)$/i.test(name))) head.push(`content-length: ${bytes.length}`);
  head.push('connection: close');
  return Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'), bytes]);
}
const json = (value, status = 200, headers = []) => answer(status, [['content-type', 'application/json'], ...headers], JSON.stringify(value));

/**
 * A raw TCP server on loopback: each request (read up to its content-length) is answered
 * with the bytes `respond(requestText, index)` returns (`null` drops the connection).
 */
async function rawServer(respond = () => json({ device_registered: true })) {
  const requests = [];
  const sockets = new Set();
  let connections = 0;
  const server = net.createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffer.subarray(0, end).toString('latin1');
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (buffer.length < end + 4 + length) return;
      const request = buffer.subarray(0, end + 4 + length).toString('utf8');
      buffer = Buffer.alloc(0);
      requests.push(request);
      const bytes = respond(request, requests.length - 1);
      if (bytes === null) socket.destroy();
      else socket.end(bytes);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    respond: (f) => {
      respond = f;
    },
    get connections() {
      return connections;
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(resolve);
      }),
  };
}

const acClient = (url, options = {}) =>
  new activeconnect.Client({ applicationId: 'app', applicationSecret: APP_SECRET, baseUrl: url, timeoutMs: 3_000, ...options });
const sessionJson = (url, statusUrl = `${url}/authentication/session_status/tok`) => ({
  user: 'u1',
  session_token: 'tok',
  session_secret: SESSION_SECRET,
  status_url: statusUrl,
  logout_url: `${url}/authentication/logout/tok`,
  status: 'active',
});
const isDocumented = (error) => error instanceof DeviceAuthError && DOCUMENTED.has(error.code);

/** The promise a call returns; fails the test if the call throws synchronously. */
function called(call, name) {
  let promise;
  assert.doesNotThrow(() => {
    promise = call();
  }, name);
  assert.ok(promise instanceof Promise, `${name} returns a Promise`);
  return promise;
}

describe('hostile server and arguments', () => {
  let server;
  let target;
  before(async () => {
    server = await rawServer();
    target = await rawServer(() => json({ stolen: true }));
  });
  after(async () => {
    await server?.close();
    await target?.close();
  });

  it('a panic is INTERNAL at synchronous and asynchronous entry points, and the client goes on', async () => {
    server.respond(() => json({ device_registered: true }));
    const client = acClient(server.url);
    const async = await rejection(native.__panicForTest(true));
    assert.ok(async instanceof DeviceAuthError);
    assert.equal(async.code, 'INTERNAL');
    const sync = thrown(() => native.__panicForTest(false));
    assert.ok(sync instanceof DeviceAuthError);
    assert.equal(sync.code, 'INTERNAL');
    assert.equal(await client.hasRegisteredMobileDevice('u1'), true);
  });

  it('huge or odd Retry-After values neither panic nor poison the client or session', async () => {
    const values = ['10000000000000000000', '18446744073709551616', '1e400', '-1', 'NaN', 'Wed, 21 Oct 9999 07:28:00 GMT', '', 'x'.repeat(5000)];
    const client = acClient(server.url);
    for (const value of values) {
      for (const status of [429, 503]) {
        server.respond((request, index) => (index % 2 === 0 ? json({}, status, [['retry-after', value]]) : json({ device_registered: true, session_status: 'active' })));
        server.requests.length = 0;
        const label = `${status} retry-after ${value.slice(0, 30)}`;
        for (const call of [() => client.hasRegisteredMobileDevice('u1'), () => client.resume(sessionJson(server.url)).refresh()]) {
          try {
            await call();
          } catch (error) {
            assert.ok(isDocumented(error) && error.code !== 'INTERNAL', `${label}: ${error.code} ${error.message}`);
          }
        }
        server.respond(() => json({ device_registered: true, session_status: 'active' }));
        assert.equal(await client.hasRegisteredMobileDevice('u1'), true, `${label}: the client still works`);
        const session = client.resume(sessionJson(server.url));
        assert.equal(await session.refresh(), 'active', `${label}: a session still works`);
      }
    }
  });

  it('out-of-range numbers, NaN and infinities are INVALID_ARGUMENT before any request, never an abort', async () => {
    server.respond(() => json({ device_registered: true, session_status: 'active' }));
    const client = acClient(server.url);
    const session = client.resume(sessionJson(server.url));
    const pi = new projectinsight.Client({ baseUrl: `${server.url}/api` });
    server.requests.length = 0;
    const rejected = {
      'wait intervalMs 1.8e22': () => session.wait({ intervalMs: 1.8e22 }),
      'wait timeoutMs Infinity': () => session.wait({ timeoutMs: Infinity }),
      'wait timeoutMs NaN': () => session.wait({ timeoutMs: NaN }),
      'wait intervalMs -0.5': () => session.wait({ intervalMs: -0.5 }),
      'watch intervalMs -Infinity': () => session.watch({ intervalMs: -Infinity }).next(),
      'watch intervalMs 1e300': () => session.watch({ intervalMs: 1e300 }).next(),
      'durationSeconds 2**64': () => client.authenticateUser('u1', { durationSeconds: 2 ** 64 }),
      'durationSeconds NaN': () => client.authenticateUser('u1', { durationSeconds: NaN }),
      'durationSeconds 1e-300': () => client.authenticateUser('u1', { durationSeconds: 1e-300 }),
      'timeoutMinutes 1e20': () => pi.completeDeviceActivation('id', CODE, { clientAgent: 'cli', timeoutMinutes: 1e20 }),
      'timeoutMinutes -1': () => pi.completeDeviceActivation('id', CODE, { clientAgent: 'cli', timeoutMinutes: -1 }),
    };
    for (const [name, call] of Object.entries(rejected)) {
      const error = await rejection(called(call, name));
      assert.equal(error.code, 'INVALID_ARGUMENT', `${name}: ${error.message}`);
    }
    const throwing = {
      'Monitor intervalMs 1.8e22': () => new activeconnect.Monitor(client, { intervalMs: 1.8e22 }),
      'Monitor intervalMs NaN': () => new activeconnect.Monitor(client, { intervalMs: NaN }),
      'Monitor unreachableAfterMs 1e300': () => new activeconnect.Monitor(client, { unreachableAfterMs: 1e300 }),
      'Monitor maxInFlight 2**64': () => new activeconnect.Monitor(client, { maxInFlight: 2 ** 64 }),
      'Monitor maxInFlight 1.5': () => new activeconnect.Monitor(client, { maxInFlight: 1.5 }),
      'Monitor shard count 2**40': () => new activeconnect.Monitor(client, { shard: { index: 0, count: 2 ** 40 } }),
      'Client timeoutMs 1.8e22': () => acClient(server.url, { timeoutMs: 1.8e22 }),
      'Client timeoutMs -Infinity': () => acClient(server.url, { timeoutMs: -Infinity }),
      'pi Client timeoutMs NaN': () => new projectinsight.Client({ baseUrl: `${server.url}/api`, timeoutMs: NaN }),
      'shardOf 2**53': () => activeconnect.shardOf('tok', 2 ** 53),
      'shardOf NaN': () => activeconnect.shardOf('tok', NaN),
      'shardOf Infinity': () => activeconnect.shardOf('tok', Infinity),
    };
    for (const [name, call] of Object.entries(throwing)) {
      const error = thrown(call);
      assert.ok(error instanceof DeviceAuthError, name);
      assert.equal(error.code, 'INVALID_ARGUMENT', `${name}: ${error.message}`);
    }
    assert.equal(server.requests.length, 0, 'no request was sent');
    // The largest interval is taken, and the monitor works and closes.
    const monitor = new activeconnect.Monitor(client, { intervalMs: 365 * 24 * 3600 * 1000 });
    assert.equal(monitor.add(session), true);
    monitor.close();
    assert.equal(monitor.closed, true);
  });

  it('lone surrogates in any string argument are INVALID_ARGUMENT before any request', async () => {
    server.respond(() => json({ device_registered: true }));
    const client = acClient(server.url);
    const session = client.resume(sessionJson(server.url));
    const pi = new projectinsight.Client({ baseUrl: `${server.url}/api` });
    const api = pi.withApiToken(API_TOKEN);
    const monitor = new activeconnect.Monitor(client);
    server.requests.length = 0;
    const lone = ['\uD800', 'a\uDBFFb', '\uDC00', 'x\uDFFF', '🙂\uD83D'];
    for (const bad of lone) {
      const label = JSON.stringify(bad);
      const rejected = [
        () => client.addUsers(['ok', bad]),
        () => client.deleteUsers([bad]),
        () => client.deviceRegistrationLink(bad),
        () => client.deviceRegistrationLink('u1', { displayName: bad }),
        () => client.hasRegisteredMobileDevice(bad),
        () => client.lostUserMobileDevice(bad),
        () => client.sendRegistrationSms(bad, '+15550100'),
        () => client.sendRegistrationSms('u1', `+1555${bad}`),
        () => client.sendRegistrationSms('u1', '+15550100', { message: bad }),
        () => client.authenticateUser(bad),
        () => client.authenticateUser('u1', { methods: [bad] }),
        () => pi.createDeviceActivation({ clientAgent: bad }),
        () => pi.createDeviceActivation({ clientAgent: 'cli', hostName: bad }),
        () => pi.completeDeviceActivation(bad, CODE, { clientAgent: 'cli' }),
        () => pi.completeDeviceActivation('id', bad, { clientAgent: 'cli' }),
        () => pi.completeDeviceActivation('id', CODE, { clientAgent: bad }),
        () => api.get(bad),
        () => api.post(bad, {}),
      ];
      for (const [index, call] of rejected.entries()) {
        const error = await rejection(called(call, `${label} #${index}`));
        assert.equal(error.code, 'INVALID_ARGUMENT', `${label} #${index}: ${error.message}`);
      }
      const throwing = [
        () => acClient(server.url, { applicationId: bad }),
        () => acClient(server.url, { applicationSecret: bad }),
        () => acClient(`${server.url}/${bad}`),
        () => new projectinsight.Client({ baseUrl: `${server.url}/${bad}` }),
        () => client.resume(`{"user":"${bad}"}`),
        () => client.resume({ ...sessionJson(server.url), user: bad }),
        () => client.unseal(bad, Buffer.alloc(32)),
        () => pi.withApiToken(bad),
        () => monitor.remove(bad),
        () => monitor.has(bad),
        () => monitor.add({ ...sessionJson(server.url), session_token: bad }),
        () => activeconnect.shardOf(bad, 2),
        () => activeconnect.isEnded(bad),
        () => qr.svg(bad),
        () => qr.terminal(bad),
      ];
      for (const [index, call] of throwing.entries()) {
        assert.equal(thrown(call).code, 'INVALID_ARGUMENT', `${label} sync #${index}`);
      }
    }
    monitor.close();
    assert.equal(server.requests.length, 0, 'no request was sent');
    assert.equal(await session.refresh().catch((e) => e.code), 'PROTOCOL', 'the session still sends requests');
    // In a JSON body a lone surrogate travels as its JSON escape (JSON.stringify writes
    // "\ud800"): distinct from every other text, never turned into U+FFFD.
    server.respond(() => json({}));
    await api.post('path', { key: '\uD800' });
    assert.ok(server.requests.at(-1).endsWith('{"key":"\\ud800"}'), server.requests.at(-1));
  });

  it('options with a throwing getter reject INVALID_ARGUMENT from async methods and throw it from sync ones', async () => {
    server.respond(() => json({ device_registered: true }));
    const client = acClient(server.url);
    const session = client.resume(sessionJson(server.url));
    const pi = new projectinsight.Client({ baseUrl: `${server.url}/api` });
    const api = pi.withApiToken(API_TOKEN);
    server.requests.length = 0;
    const getter = (key) => Object.defineProperty({}, key, { enumerable: true, get: () => { throw new Error('hostile getter'); } });
    const proxy = new Proxy({}, { get: () => { throw new Error('hostile proxy'); } });
    const array = new Proxy(['u1'], { get: (t, k) => (k === '0' ? (() => { throw new Error('hostile element'); })() : Reflect.get(t, k)) });
    const rejected = {
      'addUsers(hostile array)': () => client.addUsers(array),
      'deviceRegistrationLink getter': () => client.deviceRegistrationLink('u1', getter('displayName')),
      'sendRegistrationSms proxy': () => client.sendRegistrationSms('u1', '+15550100', proxy),
      'authenticateUser getter': () => client.authenticateUser('u1', getter('methods')),
      'authenticateUser proxy': () => client.authenticateUser('u1', proxy),
      'wait getter': () => session.wait(getter('intervalMs')),
      'wait proxy': () => session.wait(proxy),
      'wait signal getter': () => session.wait({ signal: getter('aborted') }),
      'createDeviceActivation getter': () => pi.createDeviceActivation(getter('clientAgent')),
      'createDeviceActivation proxy': () => pi.createDeviceActivation(proxy),
      'completeDeviceActivation getter': () => pi.completeDeviceActivation('id', CODE, getter('clientAgent')),
      'post throwing toJSON': () => api.post('p', { toJSON: () => { throw new Error('hostile toJSON'); } }),
      'post BigInt': () => api.post('p', { n: 1n }),
      'post cycle': () => api.post('p', (() => { const o = {}; o.o = o; return o; })()),
    };
    for (const [name, call] of Object.entries(rejected)) {
      const error = await rejection(called(call, name));
      assert.ok(error instanceof DeviceAuthError, name);
      assert.equal(error.code, 'INVALID_ARGUMENT', `${name}: ${error.message}`);
    }
    const throwing = {
      'Client getter': () => new activeconnect.Client(getter('applicationId')),
      'Client proxy': () => new activeconnect.Client(proxy),
      'pi Client proxy': () => new projectinsight.Client(proxy),
      'Monitor proxy': () => new activeconnect.Monitor(client, proxy),
      'watch getter': () => session.watch(getter('intervalMs')),
      'events proxy': () => new activeconnect.Monitor(client).events(proxy),
      'resume throwing toJSON': () => client.resume({ toJSON: () => { throw new Error('x'); } }),
    };
    for (const [name, call] of Object.entries(throwing)) {
      assert.equal(thrown(call).code, 'INVALID_ARGUMENT', name);
    }
    assert.equal(server.requests.length, 0, 'no request was sent');
  });

  it('detached buffers are INVALID_ARGUMENT', () => {
    const client = acClient(server.url);
    const session = client.resume(sessionJson(server.url));
    const buffer = new ArrayBuffer(32);
    const key = new Uint8Array(buffer);
    structuredClone(buffer, { transfer: [buffer] });
    assert.equal(key.byteLength, 0);
    assert.equal(thrown(() => session.seal(key)).code, 'INVALID_ARGUMENT');
    assert.equal(thrown(() => client.unseal('das1.x', key)).code, 'INVALID_ARGUMENT');
  });

  it('redirects are never followed: a 3xx is HTTP naming the origin, and nothing reaches the other host', async () => {
    const client = acClient(server.url);
    const pi = new projectinsight.Client({ baseUrl: `${server.url}/api` });
    const api = pi.withApiToken(API_TOKEN);
    const origin = new URL(target.url).origin;
    for (const status of [301, 302, 303, 307, 308]) {
      server.respond(() => answer(status, [['location', `${target.url}/steal?x=1`]]));
      const calls = {
        hasRegisteredMobileDevice: () => client.hasRegisteredMobileDevice('u1'),
        addUsers: () => client.addUsers(['u1']),
        authenticateUser: () => client.authenticateUser('u1'),
        refresh: () => client.resume(sessionJson(server.url)).refresh(),
        logout: () => client.resume(sessionJson(server.url)).logout(),
        createDeviceActivation: () => pi.createDeviceActivation({ clientAgent: 'cli' }),
        completeDeviceActivation: () => pi.completeDeviceActivation('id', CODE, { clientAgent: 'cli' }),
        'api.get': () => api.get('project/active'),
        'api.post': () => api.post('project/x', { a: 1 }),
      };
      for (const [name, call] of Object.entries(calls)) {
        const error = await rejection(call());
        assert.equal(error.code, 'HTTP', `${status} ${name}: ${error.code} ${error.message}`);
        assert.equal(error.status, status);
        assert.ok(error.message.includes(origin), `${name}: ${error.message}`);
        for (const secret of [APP_SECRET, SESSION_SECRET, API_TOKEN, CODE]) assert.ok(!error.message.includes(secret));
      }
    }
    assert.equal(target.connections, 0, 'the other host got nothing');
  });

  it('status and logout URLs stay on the base URL origin unless allowed', async () => {
    server.respond(() => json({ session_status: 'active' }));
    target.respond(() => json({ session_status: 'walkaway' }));
    const client = acClient(server.url);
    const foreign = sessionJson(server.url, `${target.url}/authentication/session_status/tok`);
    assert.equal(thrown(() => client.resume(foreign)).code, 'INVALID_ARGUMENT');
    assert.equal(thrown(() => client.resume(JSON.stringify(foreign))).code, 'INVALID_ARGUMENT');
    // A monitor takes it, but its poll is refused before sending and reported unreachable.
    const monitor = new activeconnect.Monitor(client, { intervalMs: 20 });
    monitor.add(foreign);
    let lost;
    for await (lost of monitor.events({ signal: AbortSignal.timeout(5_000) })) break;
    monitor.close();
    assert.equal(lost.type, 'unreachable');
    assert.equal(lost.error.code, 'INVALID_ARGUMENT', lost.error.message);
    server.respond(() =>
      json({ session_status: 'pending', session_token: 'tok', session_secret: SESSION_SECRET, status_url: `${target.url}/s/tok`, logout_url: `${target.url}/l/tok` }),
    );
    try {
      const session = await client.authenticateUser('u1');
      const error = await rejection(session.refresh());
      assert.ok(isDocumented(error), error.message);
    } catch (error) {
      assert.ok(isDocumented(error), error.message);
    }
    assert.equal(target.connections, 0, 'no request to a foreign origin');
    const allowed = acClient(server.url, { allowedOrigins: [new URL(target.url).origin] });
    assert.equal(await allowed.resume(foreign).refresh(), 'walkaway');
    assert.equal(target.requests.length, 1);
    target.respond(() => json({ stolen: true }));
  });

  it('malformed answers are PROTOCOL; large valid JSON within the limit works', async () => {
    const pi = new projectinsight.Client({ baseUrl: `${server.url}/api` });
    const api = pi.withApiToken(API_TOKEN);
    const many = `[${new Array(1_200_000).fill('0').join(',')}]`;
    server.respond(() => answer(200, [['content-type', 'application/json']], many));
    const values = await api.get('project/active');
    assert.equal(values.length, 1_200_000);
    const objects = JSON.stringify(Array.from({ length: 200_000 }, (_, i) => ({ i })));
    server.respond(() => answer(200, [['content-type', 'application/json']], objects));
    assert.equal((await api.get('x')).length, 200_000);
    server.respond(() => answer(200, [], ''));
    assert.equal(await api.get('x'), null);
    for (const body of ['{"a":', 'not json', Buffer.from([0xff, 0xfe, 0x7b]), '[1,2', '{"a":1}{"b":2}', '"\\ud800"x']) {
      server.respond(() => answer(200, [['content-type', 'application/json']], body));
      const error = await rejection(api.get('x'));
      assert.equal(error.code, 'PROTOCOL', `${body}: ${error.message}`);
    }
    server.respond(() => answer(200, [['content-type', 'application/json']], `[${'1,'.repeat(3_000_000)}1]`));
    assert.ok(isDocumented(await rejection(api.get('x'))), 'over the body limit');
    for (const expires of ['10000-01-01T00:00:00Z', '0000-12-31T23:59:59Z', '+275760-09-13T00:00:00Z', 'yesterday']) {
      server.respond(() => json({ DeviceActivationId: 'id', DeviceActivationRequestUrl: 'http://127.0.0.1/x', ExpirationDateTimeUTC: expires }));
      const error = await rejection(pi.createDeviceActivation({ clientAgent: 'cli' }));
      assert.equal(error.code, 'PROTOCOL', `${expires}: ${error.message}`);
    }
    server.respond(() => json({ DeviceActivationId: 'id', DeviceActivationRequestUrl: 'http://127.0.0.1/x', ExpirationDateTimeUTC: '2999-01-01T00:00:00Z' }));
    assert.equal((await pi.createDeviceActivation({ clientAgent: 'cli' })).expiresAt.getUTCFullYear(), 2999);
    const client = acClient(server.url);
    for (const body of ['{"device_registered":"yes"}', '[]', 'null', '{}']) {
      server.respond(() => answer(200, [['content-type', 'application/json']], body));
      assert.equal((await rejection(client.hasRegisteredMobileDevice('u1'))).code, 'PROTOCOL', body);
    }
  });

  it('error text from the server is bounded, escaped and scrubbed of every secret', async () => {
    const echo = (status) => (request) =>
      answer(status, [['content-type', 'text/plain']], `${request}\r\nInjected: \x1b[31mred\x1b[0m\n${encodeURIComponent(request)}${'x'.repeat(10_000)}`);
    const client = acClient(server.url);
    const pi = new projectinsight.Client({ baseUrl: `${server.url}/api` });
    for (const status of [400, 401, 404, 418, 500]) {
      server.respond(echo(status));
      const errors = [
        await rejection(client.hasRegisteredMobileDevice('u1')),
        await rejection(client.authenticateUser('u1')),
        await rejection(client.resume(sessionJson(server.url)).refresh()),
        await rejection(pi.completeDeviceActivation('id', CODE, { clientAgent: 'cli' })),
        await rejection(pi.withApiToken(API_TOKEN).get('project/active')),
        await rejection(pi.withApiToken(API_TOKEN).post('project/x', { a: 1 })),
      ];
      for (const error of errors) {
        assert.ok(isDocumented(error), `${status}: ${error.code}`);
        for (const secret of [APP_SECRET, SESSION_SECRET, API_TOKEN, CODE]) {
          assert.ok(!error.message.includes(secret), `${status} ${error.code} shows a secret: ${error.message}`);
        }
        assert.ok(!/[\r\n\x1b]/.test(error.message), `${status}: control characters in ${JSON.stringify(error.message)}`);
        assert.ok(error.message.length < 1_000, `${status}: ${error.message.length} characters`);
      }
    }
  });

  it('loopback means 127.0.0.0/8, ::1 and the exact name localhost; a base URL needs a scheme', () => {
    for (const url of ['http://evil.localhost:1', 'http://localhost.evil.example:1', 'http://127.0.0.1.nip.io:1', 'http://0x7f000001.example']) {
      assert.equal(thrown(() => acClient(url)).code, 'INVALID_ARGUMENT', url);
      assert.equal(thrown(() => new projectinsight.Client({ baseUrl: `${url}/api` })).code, 'INVALID_ARGUMENT', url);
    }
    for (const url of ['http://127.0.0.1:1', 'http://127.1.2.3:1', 'http://[::1]:1', 'http://localhost:1']) acClient(url);
    const error = thrown(() => acClient('127.0.0.1:8799'));
    assert.equal(error.code, 'INVALID_ARGUMENT');
    assert.match(error.message, /scheme/);
  });

  it('logs: the core\'s records reach a listener with level and target, and stop without one', async () => {
    const { logs } = deviceauth;
    const records = [];
    const listener = (record) => records.push(record);
    server.respond((request, index) => (index % 2 === 0 ? json({}, 503) : json({ device_registered: true })));
    server.requests.length = 0;
    logs.on('log', listener);
    try {
      assert.equal(await acClient(server.url).hasRegisteredMobileDevice('u1'), true);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const retry = records.find((record) => record.level === 'warn');
      assert.ok(retry, JSON.stringify(records));
      assert.match(retry.target, /^deviceauth/);
      assert.match(retry.message, /HTTP 503.*retry/);
      assert.ok(!records.some((record) => record.level === 'debug'), 'debug is below the default level');
      logs.level = 'debug';
      assert.equal(await acClient(server.url).hasRegisteredMobileDevice('u1'), true);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(records.some((record) => record.level === 'debug'));
      assert.equal(thrown(() => (logs.level = 'loud')).code, 'INVALID_ARGUMENT');
    } finally {
      logs.off('log', listener);
      logs.level = 'info';
    }
    const seen = records.length;
    assert.equal(await acClient(server.url).hasRegisteredMobileDevice('u1'), true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(records.length, seen, 'no records without a listener');
  });

  it('https: a certificate is refused unless its CA is trusted with caFile', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deviceauth-tls-'));
    const caFile = path.join(dir, 'ca.pem');
    const child = spawn(emulatorPath, ['--listen', '127.0.0.1:0', '--quiet', '--tls', '--ca-file', caFile], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const { url, id, secret } = await new Promise((resolve, reject) => {
        let url;
        child.once('exit', (code) => reject(new Error(`the emulator exited with ${code}`)));
        createInterface({ input: child.stdout }).on('line', (line) => {
          url ??= /listening on (https:\/\/\S+)$/.exec(line)?.[1];
          const app = /^application_id=(\S+) application_secret=(\S+)$/.exec(line);
          if (app && url) resolve({ url, id: app[1], secret: app[2] });
        });
      });
      child.stdout.resume();
      const options = { applicationId: id, applicationSecret: secret, baseUrl: url };
      const trusted = new activeconnect.Client({ ...options, caFile });
      assert.deepEqual((await trusted.addUsers(['tls-user'])).created, ['tls-user']);
      assert.equal(await trusted.hasRegisteredMobileDevice('tls-user'), false);
      const pending = await new projectinsight.Client({ baseUrl: `${url}/api`, caFile }).createDeviceActivation({ clientAgent: 'cli' });
      assert.ok(pending.url.startsWith('https://'));
      const refused = await rejection(new activeconnect.Client(options).hasRegisteredMobileDevice('tls-user'));
      assert.equal(refused.code, 'TRANSPORT', refused.message);
      assert.equal(thrown(() => new activeconnect.Client({ ...options, caFile: path.join(dir, 'missing.pem') })).code, 'INVALID_ARGUMENT');
      const downgrade = thrown(() => new activeconnect.Client({ ...options, caFile, allowedOrigins: ['http://127.0.0.1:1'] }));
      assert.equal(downgrade.code, 'INVALID_ARGUMENT', 'an https client never allows an http origin');
    } finally {
      child.kill('SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the process exits 0 with calls in flight, retries sleeping and a monitor running', async () => {
    server.respond((request, index) => (index % 3 === 0 ? json({}, 429, [['retry-after', '1']]) : index % 3 === 1 ? null : json({}, 503)));
    const runs = Number(process.env.DEVICEAUTH_EXIT_RUNS ?? 24);
    const script = `
      const { activeconnect } = require(process.env.BINDING);
      const client = new activeconnect.Client({ applicationId: 'a', applicationSecret: 's', baseUrl: process.env.URL });
      for (let i = 0; i < 20; i++) client.hasRegisteredMobileDevice('u' + i).catch(() => {});
      const monitor = new activeconnect.Monitor(client, { intervalMs: 10 });
      monitor.add(process.env.SESSION);
      (async () => { for await (const e of monitor.events()) void e; })();
      setTimeout(() => process.exit(0), Number(process.env.AFTER));
    `;
    const run = (after) =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, ['-e', script], {
          env: { ...process.env, BINDING: bindingDir, URL: server.url, SESSION: JSON.stringify(sessionJson(server.url)), AFTER: String(after) },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (chunk) => (stderr += chunk));
        child.once('exit', (code, signal) => resolve({ code, signal, stderr }));
      });
    const results = [];
    for (let i = 0; i < runs; i += 4) {
      results.push(...(await Promise.all([0, 1, 2, 3].map((j) => run(((i + j) * 37) % 400)))));
    }
    const bad = results.filter((r) => r.code !== 0 || r.signal !== null);
    assert.deepEqual(bad, [], `${bad.length} of ${results.length} runs did not exit 0`);
  });

  it('a worker thread torn down with calls in flight stops them and leaves the process working', async () => {
    server.respond((request, index) => (index % 2 ? json({}, 429, [['retry-after', '1']]) : json({ device_registered: true })));
    for (let round = 0; round < 3; round += 1) {
      const worker = new Worker(
        `const { workerData, parentPort } = require('node:worker_threads');
         const { activeconnect } = require(workerData.binding);
         const client = new activeconnect.Client({ applicationId: 'a', applicationSecret: 's', baseUrl: workerData.url });
         for (let i = 0; i < 50; i++) client.hasRegisteredMobileDevice('u').catch(() => {});
         parentPort.postMessage('started');`,
        { eval: true, workerData: { binding: bindingDir, url: server.url } },
      );
      await new Promise((resolve) => worker.once('message', resolve));
      await new Promise((resolve) => setTimeout(resolve, 20 * round));
      await worker.terminate();
    }
    // The calls of a torn-down environment stop: no retry of theirs reaches the server. A
    // request already on the wire at the teardown may still land: let those settle first
    // (300 ms; a retry waits at least the 1 s Retry-After, so it would come after).
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sent = server.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.equal(server.requests.length, sent, 'a terminated worker\'s calls went on');
    server.respond(() => json({ device_registered: true }));
    assert.equal(await acClient(server.url).hasRegisteredMobileDevice('u1'), true);
  });

  it('property: random statuses, headers and bodies end in a value or a documented DeviceAuthError', async () => {
    const client = acClient(server.url, { timeoutMs: 2_000 });
    const pi = new projectinsight.Client({ baseUrl: `${server.url}/api`, timeoutMs: 2_000 });
    const api = pi.withApiToken(API_TOKEN);
    const headerName = fc.constantFrom('retry-after', 'content-type', 'location', 'date', 'content-encoding', 'x-any', 'set-cookie');
    const value = (unit) => fc.oneof(
      fc.string({ unit, maxLength: 40 }),
      fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
      fc.constantFrom('10000000000000000000', '1e400', '-1', 'NaN', 'gzip', 'Wed, 21 Oct 9999 07:28:00 GMT', 'http://127.0.0.1:1/x'),
    );
    // Control characters make the answer unreadable (a transport error), which idempotent
    // calls retry with backoff: they get printable header values, the others any bytes.
    const anyValue = value('binary-ascii');
    const printable = value('grapheme-ascii');
    const body = fc.oneof(
      fc.json(),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
      fc.constantFrom('{"device_registered":true}', '{"session_status":"active"}', '{"status":false,"reason":"\\u001b[31m"}'),
      fc.dictionary(fc.constantFrom('DeviceActivationId', 'DeviceActivationRequestUrl', 'ExpirationDateTimeUTC', 'ApiToken', 'session_status', 'device_registered', 'status', 'reason'), fc.jsonValue()).map((o) => JSON.stringify(o)),
    );
    // Retried (idempotent) calls get statuses that are not retried, so no run sleeps through backoff.
    const once = [fc.constantFrom(200, 201, 204, 301, 302, 400, 401, 403, 404, 409, 418, 429, 500, 502, 503), anyValue];
    const idempotent = [fc.constantFrom(200, 204, 301, 307, 400, 401, 404, 410, 418), printable];
    const calls = [
      [idempotent, () => client.hasRegisteredMobileDevice('u1')],
      [idempotent, () => client.resume(sessionJson(server.url)).refresh()],
      [idempotent, () => api.get('project/active')],
      [idempotent, () => pi.completeDeviceActivation('id', CODE, { clientAgent: 'cli' })],
      [once, () => client.authenticateUser('u1')],
      [once, () => client.sendRegistrationSms('u1', '+15550100')],
      [once, () => pi.createDeviceActivation({ clientAgent: 'cli' })],
      [once, () => api.post('x', { a: 1 })],
    ];
    for (const [[statuses, headerValue], call] of calls) {
      await fc.assert(
        fc.asyncProperty(statuses, fc.array(fc.tuple(headerName, headerValue), { maxLength: 4 }), body, async (status, headers, payload) => {
          server.respond(() => answer(status, headers.map(([n, v]) => [n, v.replace(/[\r\n]/g, ' ')]), Buffer.isBuffer(payload) ? payload : String(payload)));
          try {
            await call();
          } catch (error) {
            assert.ok(isDocumented(error), `${status} ${JSON.stringify(headers)}: ${error?.code} ${error?.message}`);
          }
        }),
        { numRuns: Number(process.env.DEVICEAUTH_PROPERTY_RUNS ?? 150) },
      );
    }
  });

  it('property: any string argument is sent as it is or refused INVALID_ARGUMENT when not well-formed', async () => {
    server.respond(() => json({ device_registered: true }));
    const client = acClient(server.url);
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }), async (user) => {
        const before = server.requests.length;
        try {
          assert.equal(await client.hasRegisteredMobileDevice(user), true);
          assert.ok(user.isWellFormed(), 'a lone surrogate was sent');
          assert.equal(server.requests.length, before + 1);
        } catch (error) {
          assert.ok(isDocumented(error), error.message);
          assert.equal(error.code, 'INVALID_ARGUMENT', error.message);
          assert.equal(server.requests.length, before, 'refused before any request');
        }
      }),
      { numRuns: Number(process.env.DEVICEAUTH_PROPERTY_RUNS ?? 200) },
    );
  });
});
