// The Node cell of the cross-language benchmark (bench/interleave.py).
//
//   node node_cell.mjs URL APP_ID APP_SECRET USER
//
// Prints `ready`, then answers each line `seq SECONDS` (one call in flight) or
// `c100 SECONDS` (100 in flight) with one JSON line: calls, seconds, each call's latency in us.
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';

const { activeconnect } = createRequire(import.meta.url)(process.env.DEVICEAUTH_NODE_PACKAGE ?? '../../bindings-node');
const [url, applicationId, applicationSecret, user] = process.argv.slice(2);
const client = new activeconnect.Client({ applicationId, applicationSecret, baseUrl: url });
if ((await client.hasRegisteredMobileDevice(user)) !== true) throw new Error('setup failed');
console.log('ready');

async function run(inFlight, ms) {
  const latencies = [];
  const deadline = performance.now() + ms;
  const loop = async () => {
    while (performance.now() < deadline) {
      const t = performance.now();
      if ((await client.hasRegisteredMobileDevice(user)) !== true) throw new Error('wrong answer');
      latencies.push(Math.round((performance.now() - t) * 1000));
    }
  };
  await Promise.all(Array.from({ length: inFlight }, loop));
  return latencies;
}

for await (const line of createInterface({ input: process.stdin })) {
  const [mode, seconds] = line.trim().split(/\s+/);
  if (!seconds) continue;
  const started = performance.now();
  const latencies = await run(mode === 'c100' ? 100 : 1, Number(seconds) * 1000);
  const elapsed = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ calls: latencies.length, seconds: elapsed, lat_us: latencies }));
}
