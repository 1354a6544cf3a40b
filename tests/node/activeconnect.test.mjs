// activeconnect: every call of the Client and the Session against the emulator.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { suite, activeconnect, rejection, sleep } from './helpers.mjs';

describe('activeconnect', () => {
  let ctx;
  before(async () => {
    ctx = await suite();
  });
  after(() => ctx?.stop());

  describe('management', () => {
    it('addUsers reports created and existing users', async () => {
      const { client } = await ctx.newClient();
      assert.deepEqual(await client.addUsers(['u1', 'u2']), { created: ['u1', 'u2'], existing: [] });
      const again = await client.addUsers(['u2', 'u3']);
      assert.deepEqual(again.created, ['u3']);
      assert.deepEqual(again.existing, ['u2']);
    });

    it('deleteUsers removes users', async () => {
      const { client, app } = await ctx.newClient();
      await client.addUsers(['u1', 'u2']);
      assert.equal(await client.deleteUsers(['u1']), undefined);
      const users = (await ctx.control.users(app)).map((u) => u.user);
      assert.deepEqual(users, ['u2']);
      const error = await rejection(client.hasRegisteredMobileDevice('u1'));
      assert.equal(error.code, 'NOT_FOUND');
      assert.equal(error.status, 404);
    });

    it('deviceRegistrationLink gives the phone page and keeps the display name', async () => {
      const { client, app } = await ctx.newClient();
      await client.addUsers(['u1']);
      const link = await client.deviceRegistrationLink('u1', { displayName: 'u1@shop' });
      assert.equal(typeof link, 'string');
      assert.ok(link.startsWith(`${ctx.url}/_emulator/phone/`), link);
      const [user] = await ctx.control.users(app);
      assert.equal(user.display_name, 'u1@shop');
      assert.equal(user.register_url, link);
      assert.equal(await client.deviceRegistrationLink('u1'), link, 'stable without options');
    });

    it('hasRegisteredMobileDevice follows the phone registration', async () => {
      const { client, app } = await ctx.newClient();
      await client.addUsers(['u1']);
      assert.equal(await client.hasRegisteredMobileDevice('u1'), false);
      await ctx.control.registerDevice(app, 'u1');
      assert.equal(await client.hasRegisteredMobileDevice('u1'), true);
    });

    it('lostUserMobileDevice unregisters the phone and issues a new link', async () => {
      const { client, user } = await ctx.newUser('u1');
      const before = await client.deviceRegistrationLink(user);
      const fresh = await client.lostUserMobileDevice(user);
      assert.ok(fresh.startsWith(`${ctx.url}/_emulator/phone/`), fresh);
      assert.notEqual(fresh, before);
      assert.equal(await client.hasRegisteredMobileDevice(user), false);
    });

    it('sendRegistrationSms sends the link to the phone number', async () => {
      const { client, app } = await ctx.newClient();
      await client.addUsers(['u1']);
      await client.sendRegistrationSms('u1', '+15550100', { displayName: 'u1@shop', message: 'Welcome!' });
      await client.sendRegistrationSms('u1', '+15550101');
      const sms = await ctx.control.sms(app);
      assert.equal(sms.length, 2);
      assert.equal(sms[0].user, 'u1');
      assert.equal(sms[0].phone_number, '+15550100');
      assert.equal(sms[0].display_name, 'u1@shop');
      assert.ok(sms[0].message.startsWith('Welcome!'), sms[0].message);
      assert.equal(sms[1].phone_number, '+15550101');
    });

    it('a call about an unknown user rejects with NOT_FOUND', async () => {
      const { client } = await ctx.newClient();
      const error = await rejection(client.sendRegistrationSms('ghost', '+15550100'));
      assert.equal(error.code, 'NOT_FOUND');
      assert.equal(error.status, 404);
    });

    it('a wrong application secret is UNAUTHORIZED', async () => {
      const { app } = await ctx.newClient();
      const client = new activeconnect.Client({ applicationId: app, applicationSecret: 'wrong-secret', baseUrl: ctx.url });
      const error = await rejection(client.addUsers(['u1']));
      assert.ok(error instanceof Error);
      assert.equal(error.code, 'UNAUTHORIZED');
      assert.equal(error.status, 401);
    });
  });

  describe('sign-in', () => {
    it('authenticateUser without a phone rejects NOT_STARTED with reason NO_MOBILE_DEVICE', async () => {
      const { client } = await ctx.newClient();
      await client.addUsers(['u1']);
      const error = await rejection(client.authenticateUser('u1'));
      assert.ok(error instanceof Error);
      assert.equal(error.code, 'NOT_STARTED');
      assert.equal(error.reason, 'NO_MOBILE_DEVICE');
      assert.equal(error.status, undefined);
    });

    it('a session goes pending -> active through wait(), and logout closes it', async () => {
      const { client, app, user } = await ctx.newUser();
      const session = await client.authenticateUser(user, { methods: ['acceptance', 'facial'], durationSeconds: 600 });
      assert.ok(session instanceof activeconnect.Session);
      assert.equal(session.status, 'pending');
      assert.equal(session.user, user);
      const token = await ctx.lastSessionToken(app);
      assert.equal(await session.refresh(), 'pending');
      setTimeout(() => ctx.control.act(token, 'approve'), 200);
      assert.equal(await session.wait({ intervalMs: 50, timeoutMs: 10_000 }), 'active');
      assert.equal(session.status, 'active');
      assert.equal(await session.logout(), true);
      assert.equal(session.status, 'closed');
      assert.equal(await session.refresh(), 'closed');
      const [row] = await ctx.control.sessions(app);
      assert.equal(row.status, 'closed');
    });

    it('wait() resolves with how the session ended: failed, cancelled', async () => {
      const { client, app, user } = await ctx.newUser();
      for (const [action, status] of [['deny', 'failed'], ['cancel', 'cancelled']]) {
        const session = await client.authenticateUser(user);
        await ctx.control.act(await ctx.lastSessionToken(app), action);
        assert.equal(await session.wait({ intervalMs: 50 }), status);
      }
    });

    it('wait() past timeoutMs rejects with TIMEOUT', async () => {
      const { client, user } = await ctx.newUser();
      const session = await client.authenticateUser(user);
      const started = Date.now();
      const error = await rejection(session.wait({ intervalMs: 50, timeoutMs: 300 }));
      assert.equal(error.code, 'TIMEOUT');
      assert.ok(Date.now() - started < 5_000);
      assert.equal(session.status, 'pending');
    });

    it('watch() yields each status change until the session ends', async () => {
      const { client, app, user } = await ctx.newUser();
      const session = await client.authenticateUser(user);
      const token = await ctx.lastSessionToken(app);
      const script = [['approve', 'active'], ['walkaway', 'walkaway'], ['return', 'active'], ['remote-logout', 'closed']];
      const seen = [];
      let step = 0;
      const watch = session.watch({ intervalMs: 50 });
      assert.ok(watch instanceof activeconnect.StatusWatch);
      await ctx.control.act(token, script[0][0]);
      for await (const status of watch) {
        seen.push(status);
        step += 1;
        if (step < script.length) await ctx.control.act(token, script[step][0]);
      }
      assert.deepEqual(seen, script.map(([, status]) => status));
      const after = await watch.next();
      assert.equal(after.done, true);
      assert.equal(after.value, undefined);
    });

    it('break leaves a watch and stops its polling', async () => {
      const { client, app, user } = await ctx.newUser();
      const session = await client.authenticateUser(user);
      const token = await ctx.lastSessionToken(app);
      await ctx.control.act(token, 'approve');
      for await (const status of session.watch({ intervalMs: 50 })) {
        assert.equal(status, 'active');
        break;
      }
      const polls = (await ctx.control.requests(`/authentication/session_status/${token}`)).length;
      await sleep(300);
      assert.equal((await ctx.control.requests(`/authentication/session_status/${token}`)).length, polls);
    });

    it('JSON.stringify(session) round-trips through resume(), as text or object', async () => {
      const { client, app, user } = await ctx.newUser();
      const session = await client.authenticateUser(user);
      const token = await ctx.lastSessionToken(app);
      const json = JSON.stringify(session);
      const data = JSON.parse(json);
      assert.deepEqual(Object.keys(data).sort(), ['logout_url', 'session_secret', 'session_token', 'status', 'status_url', 'user']);
      assert.equal(data.session_token, token);
      assert.equal(data.status, 'pending');
      await ctx.control.act(token, 'approve');
      const fromText = client.resume(json);
      const fromObject = client.resume(data);
      assert.equal(fromText.status, 'pending');
      assert.equal(await fromText.refresh(), 'active');
      assert.equal(await fromObject.wait({ intervalMs: 50 }), 'active');
      assert.equal(fromObject.user, user);
      assert.equal(await fromObject.logout(), true);
      assert.equal(JSON.parse(JSON.stringify(fromObject)).status, 'closed');
    });

    it('resume() refuses what is not session data, without quoting it', () => {
      const client = new activeconnect.Client({ applicationId: 'A', applicationSecret: 's', baseUrl: ctx.url });
      for (const bad of ['', '{', '{"user":"u"}', 42, null, undefined, [], { user: 1, session_secret: 'hush-hush' }]) {
        let error;
        try {
          client.resume(bad);
        } catch (e) {
          error = e;
        }
        assert.ok(error instanceof Error, `resume(${JSON.stringify(bad)}) must throw`);
        assert.equal(error.code, 'INVALID_ARGUMENT');
        assert.ok(!error.message.includes('hush-hush'));
      }
    });
  });
});
