// ESM entry of `deviceauth/testing`: the same module as `require('deviceauth/testing')`.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const testing = require('./testing.js');

export const { startEmulator, Emulator, EmulatorError } = testing;
export default testing;
