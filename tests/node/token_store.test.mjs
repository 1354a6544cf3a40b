// projectinsight.TokenStore and the expiry-aware client against an emulator whose tokens
// live 2 s (--token-ttl), and two processes saving to one token file at once.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import util from 'node:util';
import { suite, projectinsight, rejection, thrown, sleep, bindingDir } from './helpers.mjs';

const AGENT = 'node-tests/1.0';

describe('projectinsight token store', () => {
  let ctx;
  let pi;
  let dir;
  before(async () => {
    ctx = await suite(['--token-ttl', '2']);
    pi = new projectinsight.Client({ baseUrl: `${ctx.url}/api`, timeoutMs: 5_000 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deviceauth-node-tokens-'));
  });
  after(() => {
    ctx?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const activate = async (store, account) => {
    const pending = await pi.createDeviceActivation({ clientAgent: AGENT });
    const code = await ctx.control.activationCode(pending.id);
    return pi.completeAndStore(store, pending.id, code, { clientAgent: AGENT, account });
  };

  it('stores privately, refuses the expired token before sending, and a new activation replaces it', async () => {
    const file = path.join(dir, 'sub', 'tokens.json');
    const store = new projectinsight.TokenStore({ path: file });
    assert.equal(store.location, file);
    assert.equal(await store.load(pi.baseUrl), null);
    const first = await activate(store, undefined);
    assert.ok(first instanceof projectinsight.StoredToken);
    assert.equal(first.account, projectinsight.DEFAULT_ACCOUNT);
    assert.equal(first.clientAgent, AGENT);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    for (const shown of [util.inspect(first), JSON.stringify(first), Object.keys(first).join()]) {
      assert.ok(!shown.includes(first.apiToken), shown);
    }
    assert.equal((await store.load(pi.baseUrl)).apiToken, first.apiToken);

    // A 2 s token is within the 30 s skew: refused at once, and nothing is sent.
    const sent = (await ctx.control.requests('/api/project/active')).length;
    const expired = thrown(() => pi.storedApiClient(store));
    assert.equal(expired.code, 'EXPIRED');
    assert.match(expired.message, /device activation again/);
    assert.ok(!expired.message.includes(first.apiToken));
    const exact = pi.withApiToken(first.apiToken, { expiresAt: first.expiresAt });
    assert.equal(exact.expiresAt.getTime(), first.expiresAt.getTime());
    assert.equal((await rejection(exact.get('project/active'))).code, 'EXPIRED');
    assert.equal((await ctx.control.requests('/api/project/active')).length, sent);
    await sleep(2_100);
    assert.ok((await store.load(pi.baseUrl)).expired);

    const pending = await pi.reactivate(store);
    const code = await ctx.control.activationCode(pending.id);
    const second = await pi.completeAndStore(store, pending.id, code, { clientAgent: first.clientAgent });
    assert.notEqual(second.apiToken, first.apiToken);
    assert.equal((await store.load(pi.baseUrl)).apiToken, second.apiToken);

    assert.equal(await store.delete(pi.baseUrl), true);
    assert.equal(await store.delete(pi.baseUrl), false);
    const missing = thrown(() => pi.storedApiClient(store));
    assert.equal(missing.code, 'STORE');
    assert.equal(missing.reason, 'NOT_STORED');
  });

  it('refuses a file others can read, and bad arguments', async () => {
    const file = path.join(dir, 'wide.json');
    const store = new projectinsight.TokenStore({ path: file });
    const stored = await activate(store, 'zoe');
    fs.chmodSync(file, 0o644);
    const error = await rejection(store.load(pi.baseUrl, { account: 'zoe' }));
    assert.equal(error.code, 'STORE');
    assert.equal(error.reason, 'INSECURE');
    assert.ok(!error.message.includes(stored.apiToken));
    fs.chmodSync(file, 0o600);
    assert.equal((await rejection(store.save({ apiToken: 'x' }))).code, 'INVALID_ARGUMENT');
    assert.equal((await rejection(store.load(pi.baseUrl, { account: '' }))).code, 'INVALID_ARGUMENT');
    assert.equal(thrown(() => pi.storedApiClient({})).code, 'INVALID_ARGUMENT');
    assert.equal(thrown(() => pi.withApiToken('t', { expiresAt: new Date(NaN) })).code, 'INVALID_ARGUMENT');
    assert.throws(() => new projectinsight.StoredToken(), TypeError);
  });

  it('two processes saving at once lose nothing', async () => {
    const file = path.join(dir, 'race.json');
    const rounds = 40;
    const child = (name) =>
      new Promise((resolve) => {
        const script = `
          const { projectinsight } = require(${JSON.stringify(bindingDir)});
          (async () => {
            const store = new projectinsight.TokenStore({ path: ${JSON.stringify(file)} });
            const pi = new projectinsight.Client({ baseUrl: ${JSON.stringify(`${ctx.url}/api`)} });
            for (let i = 0; i < ${rounds}; i++) {
              const pending = await pi.createDeviceActivation({ clientAgent: 'race' });
              const code = (await (await fetch(${JSON.stringify(ctx.url)} + '/_emulator/activations/' + pending.id)).json()).code;
              await pi.completeAndStore(store, pending.id, code, { clientAgent: 'race', account: '${name}-' + i });
              for (let j = 0; j <= i; j++) {
                if ((await store.load(pi.baseUrl, { account: '${name}-' + j })) === null) throw new Error('lost ${name}-' + j);
              }
            }
          })().catch((error) => { console.error(error); process.exit(1); });`;
        spawn(process.execPath, ['-e', script], { stdio: 'inherit' }).on('exit', resolve);
      });
    assert.deepEqual(await Promise.all([child('a'), child('b')]), [0, 0]);
    const accounts = JSON.parse(fs.readFileSync(file, 'utf8')).tokens.map((t) => t.account).sort();
    const expected = ['a', 'b'].flatMap((n) => Array.from({ length: rounds }, (_, i) => `${n}-${i}`)).sort();
    assert.deepEqual(accounts, expected);
  });

  it('defaultPath follows XDG_CONFIG_HOME', () => {
    const saved = process.env.XDG_CONFIG_HOME;
    process.env.XDG_CONFIG_HOME = dir;
    try {
      assert.equal(projectinsight.TokenStore.defaultPath(), path.join(dir, 'deviceauth', 'projectinsight-tokens.json'));
    } finally {
      if (saved === undefined) delete process.env.XDG_CONFIG_HOME;
      else process.env.XDG_CONFIG_HOME = saved;
    }
  });
});
