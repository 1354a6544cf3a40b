// The package loads by name: CommonJS `require('deviceauth')` and ESM
// `import { activeconnect, projectinsight } from 'deviceauth'` (through the exports map).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bindingDir } from './helpers.mjs';

describe('module formats', () => {
  let project;
  before(() => {
    // A consuming project whose node_modules/deviceauth is the package folder, as
    // `npm install <path>/bindings-node` links it.
    project = fs.mkdtempSync(path.join(os.tmpdir(), 'deviceauth-consumer-'));
    fs.mkdirSync(path.join(project, 'node_modules'));
    fs.symlinkSync(bindingDir, path.join(project, 'node_modules', 'deviceauth'), 'dir');
  });
  after(() => fs.rmSync(project, { recursive: true, force: true }));

  const run = (file, source) => {
    fs.writeFileSync(path.join(project, file), source);
    return JSON.parse(execFileSync(process.execPath, [file], { cwd: project, encoding: 'utf8' }));
  };

  it('require("deviceauth") gives both namespaces', () => {
    const out = run(
      'cjs.cjs',
      `const d = require('deviceauth');
       const c = new d.activeconnect.Client({ applicationId: 'A', applicationSecret: 's', baseUrl: 'http://127.0.0.1:9' });
       console.log(JSON.stringify({
         keys: Object.keys(d).filter((k) => !k.startsWith('__')).sort(),
         ac: Object.keys(d.activeconnect).sort(),
         pi: Object.keys(d.projectinsight).sort(),
         id: c.applicationId,
         resolved: require.resolve('deviceauth'),
       }));`,
    );
    assert.deepEqual(out.keys, ['DeviceAuthError', 'ErrorCode', 'activeconnect', 'logs', 'projectinsight', 'qr', 'telemetry']);
    assert.deepEqual(out.ac, [
      'Client', 'DEFAULT_CHECK_BUDGET_MS', 'DEFAULT_HEALTH_BUDGET_MS', 'HEALTH_PROBE_USER', 'Monitor', 'MonitorEvents', 'Session',
      'StatusWatch', 'StoreMonitor', 'isAuthenticated', 'isEnded', 'isInProgress', 'shardOf',
    ]);
    assert.deepEqual(out.pi, ['ApiClient', 'Client', 'DEFAULT_ACCOUNT', 'DeviceActivation', 'StoredToken', 'TokenStore']);
    assert.equal(out.id, 'A');
    assert.equal(path.basename(out.resolved), 'index.js');
  });

  it('import { activeconnect, projectinsight } from "deviceauth" gives the same objects', () => {
    const out = run(
      'esm.mjs',
      `import { activeconnect, projectinsight, qr, ErrorCode } from 'deviceauth';
       import deviceauth from 'deviceauth';
       import { createRequire } from 'node:module';
       const cjs = createRequire(import.meta.url)('deviceauth');
       const pi = new projectinsight.Client({ baseUrl: 'http://127.0.0.1:9/api' });
       console.log(JSON.stringify({
         same: activeconnect === cjs.activeconnect && projectinsight === cjs.projectinsight && qr === cjs.qr && deviceauth === cjs,
         code: ErrorCode.Aborted,
         base: pi.baseUrl,
         resolved: import.meta.resolve('deviceauth'),
       }));`,
    );
    assert.equal(out.same, true);
    assert.equal(out.code, 'ABORTED');
    assert.equal(out.base, 'http://127.0.0.1:9/api/');
    assert.ok(out.resolved.endsWith('/index.mjs'), out.resolved);
  });
});
