#!/usr/bin/env node
'use strict';
// `npx deviceauth-emulator [FLAGS]`: the local stand-in for both services deviceauth talks
// to (Activeconnect push sign-in, Project Insight device activation), for tests, demos and
// development without an account. The same program as the Rust binary, compiled into this
// package's native addon: `runEmulator(argv)` serves until it is stopped and returns the
// exit code (0 after `--help`/`--version`, 2 for bad flags, 1 when it cannot start).
// Flags: `npx deviceauth-emulator --help`.
//
// `runEmulator` blocks its thread, so it runs in a worker thread: the main thread stays
// free to answer Ctrl-C and SIGTERM, which stop the emulator at once (exit code 0). (Inside
// a Node process the emulator's own signal handling does not see those signals.)

const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');

if (isMainThread) {
  const stop = () => process.exit(0);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const worker = new Worker(__filename, { workerData: process.argv.slice(2) });
  worker.on('message', (code) => process.exit(typeof code === 'number' ? code : 0));
  worker.on('error', (error) => {
    process.stderr.write(`deviceauth-emulator: ${error && error.message}\n`);
    process.exit(1);
  });
} else {
  let native;
  try {
    native = require('../native.js');
  } catch (error) {
    throw new Error(`cannot load the native addon of deviceauth: ${error && error.message}`);
  }
  if (typeof native.runEmulator !== 'function') {
    throw new Error('this build of deviceauth has no emulator (runEmulator is missing from its addon)');
  }
  parentPort.postMessage(native.runEmulator(['deviceauth-emulator', ...workerData]));
}
