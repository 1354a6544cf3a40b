// Calls per second of a signed `hasRegisteredMobileDevice` through the addon, beside a
// plain `fetch` loop sending the same request unsigned to the same emulator endpoint
// (answered 401: it measures the transport floor), with 1 and 100 calls in flight.
// Prints a table; it is a benchmark, not a test.
//
//   node bench/calls.mjs [seconds per measurement, default 3]
//
// Uses the addon as built (`npm run build`: release) and the emulator from
// $DEVICEAUTH_EMULATOR, else target/release/deviceauth-emulator, else target/debug/.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const { activeconnect } = createRequire(import.meta.url)('..');
const seconds = Number(process.argv[2] ?? 3);
const rounds = 5;

const emulatorPath =
  process.env.DEVICEAUTH_EMULATOR ??
  [path.join(repo, 'target', 'release', 'deviceauth-emulator'), path.join(repo, 'target', 'debug', 'deviceauth-emulator')].find(
    (candidate) => existsSync(candidate),
  );
if (!emulatorPath) {
  console.error('no emulator: run `cargo build --release -p deviceauth-emulator` first');
  process.exit(1);
}

function startEmulator() {
  const child = spawn(emulatorPath, ['--listen', '127.0.0.1:0', '--quiet'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    const lines = createInterface({ input: child.stdout });
    let url;
    lines.on('line', (line) => {
      url ??= /^deviceauth-emulator listening on (\S+)$/.exec(line)?.[1];
      const app = /^application_id=(\S+) application_secret=(\S+)$/.exec(line);
      if (url && app) {
        lines.removeAllListeners('line');
        child.stdout.resume();
        resolve({ url, appId: app[1], appSecret: app[2], child });
      }
    });
  });
}

/** Runs `call` with `inFlight` concurrent loops for `ms`; returns completed calls per second. */
async function measure(call, inFlight, ms) {
  let done = 0;
  let failed = null;
  const deadline = performance.now() + ms;
  const loop = async () => {
    while (performance.now() < deadline) {
      try {
        await call();
        done += 1;
      } catch (error) {
        failed = error;
        return;
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, loop));
  if (failed) throw failed;
  return done / ((performance.now() - started) / 1000);
}

const emulator = await startEmulator();
try {
  const control = (p, init) => fetch(emulator.url + p, init).then((r) => r.json());
  const app = await control('/_emulator/apps', { method: 'POST' });
  const client = new activeconnect.Client({
    applicationId: app.application_id,
    applicationSecret: app.application_secret,
    baseUrl: emulator.url,
  });
  const user = 'bench-user';
  await client.addUsers([user]);
  await control(`/_emulator/apps/${app.application_id}/users/${user}/device`, { method: 'POST' });
  if ((await client.hasRegisteredMobileDevice(user)) !== true) throw new Error('setup failed');

  const endpoint = `${emulator.url}/management/has_registered_mobile_device/${app.application_id}/${user}`;
  const signed = async () => {
    if ((await client.hasRegisteredMobileDevice(user)) !== true) throw new Error('unexpected answer');
  };
  const plain = async () => {
    const response = await fetch(endpoint, { headers: { accept: 'application/json' } });
    await response.arrayBuffer();
    if (response.status !== 401) throw new Error(`unexpected HTTP ${response.status}`);
  };

  const rows = [];
  for (const inFlight of [1, 100]) {
    await measure(signed, inFlight, 500); // warm up connections and caches
    await measure(plain, inFlight, 500);
    const addon = await measure(signed, inFlight, seconds * 1000);
    const floor = await measure(plain, inFlight, seconds * 1000);
    rows.push({ inFlight, addon, floor, ratio: addon / floor });
  }

  const emulatorKind = emulatorPath.includes(`${path.sep}release${path.sep}`) ? 'release' : 'debug';
  console.log(`deviceauth (Node addon, release) vs plain fetch, ${seconds} s per cell, node ${process.version}`);
  console.log(`emulator: ${emulatorPath} (${emulatorKind} build), ${emulator.url}\n`);
  const line = (cells) => console.log(cells.map((c, i) => String(c).padStart(i ? 24 : 9)).join(' | '));
  line(['in flight', 'signed addon calls/s', 'plain fetch calls/s', 'addon / fetch']);
  line(['-'.repeat(9), '-'.repeat(24), '-'.repeat(24), '-'.repeat(24)]);
  for (const r of rows) line([r.inFlight, r.addon.toFixed(0), r.floor.toFixed(0), `${r.ratio.toFixed(2)}x`]);
  // The binding against the core alone, in this process and under the same load: the core's
  // own calls/s on the addon's runtime (no JavaScript), interleaved with the addon's.
  const native = createRequire(import.meta.url)('../native.js');
  const raw = new native.AcClient({ applicationId: app.application_id, applicationSecret: app.application_secret, baseUrl: emulator.url, http: {} });
  console.log(`\nbinding vs core alone in this process (${rounds} interleaved rounds, ${seconds} s per side):`);
  for (const inFlight of [1, 100]) {
    let node = 0;
    let core = 0;
    for (let round = 0; round < rounds; round += 1) {
      node += await measure(signed, inFlight, (seconds * 1000) / rounds);
      core += await raw.__coreCallsPerSecond(user, inFlight, (seconds * 1000) / rounds);
    }
    console.log(`  ${inFlight} in flight: node ${(node / rounds).toFixed(0)}/s, core ${(core / rounds).toFixed(0)}/s, node/core ${(node / core).toFixed(2)}x`);
  }
  const times = [];
  for (let end = performance.now() + seconds * 1000; performance.now() < end; ) {
    const started = performance.now();
    await signed();
    times.push((performance.now() - started) * 1000);
  }
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(0);
  console.log(`  one call at a time: p50 ${at(0.5)} us, p99 ${at(0.99)} us (${times.length} calls)`);
  console.log(
    '\nThe fetch requests are unsigned: the emulator answers them 401 without checking a' +
      '\nsignature, so that column is the transport floor (HTTP/1.1 to the same endpoint),' +
      '\nnot the same work. The addon column includes HMAC signing here and the' +
      "\nemulator's signature check and nonce bookkeeping. Target: >= 0.8x.",
  );
} finally {
  emulator.child.kill('SIGTERM');
}
