'use strict';
// Sign-in and device activation through the INSTALLED tarballs (main + linux-x64-gnu) and
// the packaged emulator. Run by tests/dist/run.sh from a fresh npm project; prints one
// `PASS name` or `FAIL name: why` line per check and exits 1 if any failed.

const assert = require('node:assert/strict');

const results = [];
async function check(name, fn) {
  try {
    await fn();
    results.push(true);
    console.log(`PASS node: ${name}`);
  } catch (error) {
    results.push(false);
    console.log(`FAIL node: ${name}: ${error && error.stack}`);
  }
}

async function main() {
  const { activeconnect, projectinsight } = require('deviceauth');
  const { startEmulator } = require('deviceauth/testing');
  assert.match(require.resolve('deviceauth'), /node_modules[\\/]deviceauth[\\/]/);

  const t0 = Date.now();
  const emu = await startEmulator();
  console.log(`     packaged emulator started in ${Date.now() - t0} ms at ${emu.baseUrl}`);
  const client = new activeconnect.Client({ applicationId: emu.applicationId, applicationSecret: emu.applicationSecret, baseUrl: emu.baseUrl });
  let session;
  try {
    await check('register a device (addUsers, registerDevice)', async () => {
      await client.addUsers(['alice']);
      await emu.registerDevice('alice');
      assert.equal(await client.hasRegisteredMobileDevice('alice'), true);
    });
    await check('sign-in: authenticateUser, approve via pendingSignIns/setStatus, wait -> active', async () => {
      session = await client.authenticateUser('alice');
      const pending = await emu.pendingSignIns();
      assert.deepEqual(pending.map((p) => p.user), ['alice']);
      if (session.sessionToken !== undefined) assert.equal(pending[0].sessionToken, session.sessionToken);
      assert.equal(await emu.setStatus(pending[0].sessionToken, 'active'), 'active');
      const status = await session.wait({ timeoutMs: 10000, intervalMs: 100 });
      assert.equal(String(status), 'active');
    });
    await check('logout -> closed', async () => {
      assert.equal(await session.logout(), true);
      assert.equal(String(await session.refresh()), 'closed');
    });
    await check('openRegistrationLink, pendingSignIns newest first, deny and cancel', async () => {
      await client.addUsers(['bob']);
      const link = await client.deviceRegistrationLink('bob', { displayName: 'bob@shop' });
      assert.equal(await emu.openRegistrationLink(link), 'bob');
      const first = await client.authenticateUser('bob');
      const second = await client.authenticateUser('alice');
      const pending = await emu.pendingSignIns();
      assert.deepEqual(pending.map((p) => p.user), ['alice', 'bob']);
      await emu.setStatus(pending[1].sessionToken, 'failed');
      assert.equal(String(await first.wait({ timeoutMs: 10000, intervalMs: 100 })), 'failed');
      await emu.setStatus(pending[0].sessionToken, 'cancelled');
      assert.equal(String(await second.wait({ timeoutMs: 10000, intervalMs: 100 })), 'cancelled');
      assert.deepEqual(await emu.pendingSignIns(), []);
    });
    await check('device activation (Project Insight) against the packaged emulator', async () => {
      const pi = new projectinsight.Client({ baseUrl: emu.projectInsightUrl });
      const pending = await pi.createDeviceActivation({ clientAgent: 'dist-test/1.0' });
      const code = await emu.activationCode(pending.url);
      const done = await pi.completeDeviceActivation(pending.id, code, { clientAgent: 'dist-test/1.0' });
      assert.ok(done.userId && done.deviceId);
      const projects = await pi.withApiToken(done.apiToken).get('project/active');
      assert.ok(projects);
    });
  } finally {
    await emu.close();
  }
  await check('emulator stopped by close()', async () => assert.equal(emu.running, false));
  await check('ESM: import { startEmulator } from "deviceauth/testing", import { activeconnect } from "deviceauth"', async () => {
    const testing = await import('deviceauth/testing');
    const main = await import('deviceauth');
    assert.equal(typeof testing.startEmulator, 'function');
    assert.equal(typeof main.activeconnect.Client, 'function');
    const other = await testing.startEmulator({ approveAfterMs: 100 });
    try {
      const c = new main.activeconnect.Client({ applicationId: other.applicationId, applicationSecret: other.applicationSecret, baseUrl: other.baseUrl });
      await c.addUsers(['erin']);
      await other.registerDevice('erin');
      const s = await c.authenticateUser('erin');
      assert.equal(String(await s.wait({ timeoutMs: 10000, intervalMs: 100 })), 'active');
    } finally {
      await other.close();
    }
  });
  return results.every(Boolean) ? 0 : 1;
}

main().then((code) => process.exit(code), (error) => {
  console.log(`FAIL node: flow crashed: ${error && error.stack}`);
  process.exit(1);
});
