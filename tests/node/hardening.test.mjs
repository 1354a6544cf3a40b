// Sealed sessions and the HTTPS policy.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { bindingDir, suite } from './helpers.mjs';

const { activeconnect, projectinsight } = createRequire(import.meta.url)(bindingDir);
const KEY = Buffer.from('0123456789abcdef0123456789abcdef');
const isInvalid = (error) => error instanceof Error && error.code === 'INVALID_ARGUMENT';

describe('sealed sessions', () => {
  let ctx;
  before(async () => { ctx = await suite(); });
  after(() => ctx.stop());

  it('seal and unseal round-trip and refuse tampering', async () => {
    const { client } = await ctx.newUser('sealed-user');
    const session = await client.authenticateUser('sealed-user');
    const sealed = session.seal(KEY);
    assert.match(sealed, /^das1\.[A-Za-z0-9_-]+$/);
    assert.ok(!sealed.includes(session.toJSON().session_secret));
    const resumed = client.unseal(sealed, new Uint8Array(KEY));
    assert.deepEqual(resumed.toJSON(), session.toJSON());
    const flipped = sealed.slice(0, 12) + (sealed[12] === 'A' ? 'B' : 'A') + sealed.slice(13);
    for (const bad of [sealed.slice(0, -4), flipped, 'not sealed']) {
      assert.throws(() => client.unseal(bad, KEY), isInvalid);
    }
    assert.throws(() => client.unseal(sealed, Buffer.alloc(32)), isInvalid);
    assert.throws(() => session.seal(Buffer.from('short')), isInvalid);
    assert.throws(() => session.seal('a string key'), isInvalid);
  });
});

describe('HTTPS policy', () => {
  it('plain http is only for loopback unless allowed', () => {
    assert.throws(() => new activeconnect.Client({ applicationId: 'A', applicationSecret: 's', baseUrl: 'http://example.com' }), isInvalid);
    assert.throws(() => new projectinsight.Client({ baseUrl: 'http://example.com/api' }), isInvalid);
    new activeconnect.Client({ applicationId: 'A', applicationSecret: 's', baseUrl: 'http://example.com', allowInsecureHttp: true });
    new projectinsight.Client({ baseUrl: 'http://example.com/api', allowInsecureHttp: true });
    new activeconnect.Client({ applicationId: 'A', applicationSecret: 's', baseUrl: 'http://localhost:8790' });
    assert.throws(() => new projectinsight.Client({ baseUrl: 'http://example.com/api', allowInsecureHttp: 'yes' }), isInvalid);
  });
});
