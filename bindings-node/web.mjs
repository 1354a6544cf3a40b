// ESM entry of `deviceauth/web`: the same objects as `require('deviceauth/web')`.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const web = require('./web.js');

export const {
  SignIns,
  createSignIns,
  Progress,
  Check,
  problem,
  sse,
  newUserId,
  waitScript,
  waitingHtml,
  registrationQr,
  optionsFromEnv,
  deriveSealKey,
  escapeHtml,
  PROGRESS_MESSAGES,
  CHECK_MESSAGES,
  DEFAULTS,
  SCRIPT_PATH,
} = web;
export default web;
