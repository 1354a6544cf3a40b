// Arguments: wrong values and wrong JS types are INVALID_ARGUMENT before any request;
// hostile user ids travel as one path segment and come back unchanged.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { suite, activeconnect, rejection, thrown, ErrorCode } from './helpers.mjs';

describe('arguments', () => {
  let ctx;
  before(async () => {
    ctx = await suite();
  });
  after(() => ctx?.stop());

  it('the constructor throws INVALID_ARGUMENT for missing or malformed options', () => {
    const good = { applicationId: 'A', applicationSecret: 's3cr3t-value', baseUrl: ctx.url };
    const bad = [
      undefined,
      null,
      'A',
      [],
      {},
      { ...good, applicationId: undefined },
      { ...good, applicationId: '' },
      { ...good, applicationId: 'with space' },
      { ...good, applicationSecret: ' ' },
      { ...good, applicationSecret: 42 },
      { ...good, baseUrl: 'ftp://example.com' },
      { ...good, baseUrl: 'http://example.com/?q=1' },
      { ...good, baseUrl: {} },
      { ...good, timeoutMs: 0 },
      { ...good, timeoutMs: -5 },
      { ...good, timeoutMs: '1000' },
      { ...good, timeoutMs: Infinity },
      { ...good, timeoutMs: 1e300 },
    ];
    for (const options of bad) {
      const error = thrown(() => new activeconnect.Client(options));
      assert.ok(error instanceof Error);
      assert.equal(error.code, 'INVALID_ARGUMENT', `${JSON.stringify(options)}: ${error.message}`);
      assert.ok(!error.message.includes('s3cr3t-value'));
    }
    const client = new activeconnect.Client(good);
    assert.equal(client.applicationId, 'A');
    assert.equal(client.baseUrl, `${ctx.url}/`);
  });

  it('bad values and wrong types reject INVALID_ARGUMENT without a request', async () => {
    const { client, app, user } = await ctx.newUser();
    const session = await client.authenticateUser(user);
    const before = (await ctx.control.requests('/')).length;
    const calls = {
      'addUsers()': () => client.addUsers(),
      'addUsers([])': () => client.addUsers([]),
      'addUsers([""])': () => client.addUsers(['']),
      'addUsers("u1")': () => client.addUsers('u1'),
      'addUsers([1])': () => client.addUsers([1]),
      'addUsers([".."])': () => client.addUsers(['..']),
      'addUsers(4 KB + 1)': () => client.addUsers(['x'.repeat(4097)]),
      'deleteUsers({})': () => client.deleteUsers({}),
      'deviceRegistrationLink("")': () => client.deviceRegistrationLink(''),
      'deviceRegistrationLink(u, {displayName: ""})': () => client.deviceRegistrationLink(user, { displayName: ' ' }),
      'deviceRegistrationLink(u, {displayName: 1})': () => client.deviceRegistrationLink(user, { displayName: 1 }),
      'deviceRegistrationLink(u, "x")': () => client.deviceRegistrationLink(user, 'x'),
      'hasRegisteredMobileDevice()': () => client.hasRegisteredMobileDevice(),
      'hasRegisteredMobileDevice(null)': () => client.hasRegisteredMobileDevice(null),
      'hasRegisteredMobileDevice(Symbol)': () => client.hasRegisteredMobileDevice(Symbol('u')),
      'hasRegisteredMobileDevice({})': () => client.hasRegisteredMobileDevice({ toString: () => user }),
      'lostUserMobileDevice(1n)': () => client.lostUserMobileDevice(1n),
      'sendRegistrationSms bad phone': () => client.sendRegistrationSms(user, '5550100'),
      'sendRegistrationSms letters': () => client.sendRegistrationSms(user, '+1555O100'),
      'sendRegistrationSms number phone': () => client.sendRegistrationSms(user, 15550100),
      'sendRegistrationSms message ""': () => client.sendRegistrationSms(user, '+15550100', { message: '' }),
      'authenticateUser("")': () => client.authenticateUser(''),
      'authenticateUser(u, {methods: ["retina"]})': () => client.authenticateUser(user, { methods: ['retina'] }),
      'authenticateUser(u, {methods: "facial"})': () => client.authenticateUser(user, { methods: 'facial' }),
      'authenticateUser(u, {durationSeconds: 0})': () => client.authenticateUser(user, { durationSeconds: 0 }),
      'authenticateUser(u, {durationSeconds: 1.5})': () => client.authenticateUser(user, { durationSeconds: 1.5 }),
      'authenticateUser(u, {durationSeconds: -1})': () => client.authenticateUser(user, { durationSeconds: -1 }),
      'authenticateUser(u, {durationSeconds: "60"})': () => client.authenticateUser(user, { durationSeconds: '60' }),
      'wait({intervalMs: 0})': () => session.wait({ intervalMs: 0 }),
      'wait({timeoutMs: -1})': () => session.wait({ timeoutMs: -1 }),
      'wait({timeoutMs: NaN})': () => session.wait({ timeoutMs: NaN }),
      'wait({signal: "x"})': () => session.wait({ signal: 'x' }),
      'wait(5)': () => session.wait(5),
      'watch({intervalMs: 0}).next()': () => session.watch({ intervalMs: 0 }).next(),
    };
    for (const [name, call] of Object.entries(calls)) {
      const error = await rejection(call());
      assert.ok(error instanceof Error, name);
      assert.equal(error.code, 'INVALID_ARGUMENT', `${name}: ${error.message}`);
      assert.equal(error.code, ErrorCode.InvalidArgument);
    }
    assert.equal((await ctx.control.requests('/')).length, before, 'no request was sent');
    assert.equal(thrown(() => session.watch({ intervalMs: 'often' })).code, 'INVALID_ARGUMENT');
    assert.equal(thrown(() => session.watch({ signal: 1 })).code, 'INVALID_ARGUMENT');
    const [row] = await ctx.control.sessions(app);
    assert.equal(row.status, 'pending');
  });

  it('methods called on the wrong object throw instead of crashing', () => {
    const { hasRegisteredMobileDevice } = activeconnect.Client.prototype;
    assert.throws(() => hasRegisteredMobileDevice.call({}, 'u1'));
    assert.throws(() => activeconnect.Session.prototype.refresh.call(null));
  });

  it('ErrorCode lists every code', () => {
    assert.deepEqual(Object.values(ErrorCode).sort(), [
      'ABORTED', 'EXPIRED', 'HTTP', 'INTERNAL', 'INVALID_ARGUMENT', 'NOT_FOUND', 'NOT_STARTED', 'PROTOCOL', 'RATE_LIMITED', 'REFUSED',
      'STORE', 'TIMEOUT', 'TRANSPORT', 'UNAUTHORIZED',
    ]);
  });

  const hostile = ['a/b', 'a?b=c', 'a#b', '100%', '%2F', 'a+b', 'two words', ' lead', 'trail ', 'Zoë', '用户', '🙂', 'a\\b', '.a', 'x'.repeat(1024), 'é'.repeat(512)];

  it('hostile user ids round-trip through every call', async () => {
    const { client, app } = await ctx.newClient();
    const added = await client.addUsers(hostile);
    assert.deepEqual(added.created, hostile);
    assert.deepEqual((await ctx.control.users(app)).map((u) => u.user).sort(), [...hostile].sort());
    for (const user of hostile) {
      const label = JSON.stringify(user.slice(0, 20));
      assert.equal(await client.hasRegisteredMobileDevice(user), false, label);
      await ctx.control.registerDevice(app, user);
      assert.equal(await client.hasRegisteredMobileDevice(user), true, label);
      const link = await client.deviceRegistrationLink(user, { displayName: `${user}@shop` });
      assert.ok(link.startsWith(`${ctx.url}/_emulator/phone/`), label);
      const session = await client.authenticateUser(user);
      assert.equal(session.user, user, label);
      const sessions = await ctx.control.sessions(app);
      assert.equal(sessions[sessions.length - 1].user, user, label);
      const resumed = client.resume(JSON.stringify(session));
      assert.equal(resumed.user, user, label);
      assert.equal(await resumed.refresh(), 'pending', label);
    }
    const users = await ctx.control.users(app);
    for (const user of hostile) {
      assert.equal(users.find((u) => u.user === user)?.display_name, `${user}@shop`);
    }
    await client.deleteUsers(hostile);
    assert.deepEqual(await ctx.control.users(app), []);
  });
});
