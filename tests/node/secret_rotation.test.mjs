// nextApplicationSecret: across a secret rotation in the emulator, a call refused with the
// current secret is sent once more with the next, which is then used first.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import util from 'node:util';
import { suite, activeconnect, rejection, thrown } from './helpers.mjs';

const NEXT = 'next-secret-value';

describe('secret rotation', () => {
  let ctx;
  before(async () => {
    ctx = await suite();
  });
  after(() => ctx?.stop());

  const statuses = async (prefix) => (await ctx.control.requests(prefix)).map((r) => r.status);

  it('a sign-in after the rotation is sent again with the next secret, and pushes once', async () => {
    const { app, secret, user } = await ctx.newUser('alice');
    const client = new activeconnect.Client({ applicationId: app, applicationSecret: secret, nextApplicationSecret: NEXT, baseUrl: ctx.url });
    await ctx.control.call('POST', `/_emulator/apps/${app}/secret`, { application_secret: NEXT });
    const session = await client.authenticateUser(user);
    assert.deepEqual(await statuses(`/authentication/authenticate_user/${app}/`), [401, 202]);
    assert.equal((await ctx.control.sessions(app)).length, 1);
    await ctx.control.act(session.sessionToken, 'approve');
    assert.equal(await session.refresh(), 'active');
    await client.health();
    const probe = `/management/has_registered_mobile_device/${app}/${activeconnect.HEALTH_PROBE_USER}`;
    assert.deepEqual(await statuses(probe), [404], 'the next secret is now used first');
    assert.ok(!util.inspect(client).includes(NEXT));
  });

  it('both secrets refused is UNAUTHORIZED, showing neither', async () => {
    const { app } = await ctx.newClient();
    const client = new activeconnect.Client({
      applicationId: app,
      applicationSecret: 'wrong-current-value',
      nextApplicationSecret: 'wrong-next-value',
      baseUrl: ctx.url,
    });
    const error = await rejection(client.addUsers(['u']));
    assert.equal(error.code, 'UNAUTHORIZED');
    const text = `${error.message} ${util.inspect(error)} ${util.inspect(client)}`;
    assert.ok(!text.includes('wrong-current-value') && !text.includes('wrong-next-value'), text);
    assert.deepEqual(await statuses(`/management/add_users/${app}`), [401, 401]);
  });

  it('an empty, unchanged or non-string next secret is INVALID_ARGUMENT', () => {
    for (const nextApplicationSecret of ['', 'same-secret', 42]) {
      const error = thrown(() => new activeconnect.Client({ applicationId: 'APP', applicationSecret: 'same-secret', nextApplicationSecret }));
      assert.equal(error.code, 'INVALID_ARGUMENT', String(nextApplicationSecret));
    }
  });
});
