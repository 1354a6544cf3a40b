// ESM entry of `deviceauth/express`: the same objects as `require('deviceauth/express')`.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const express = require('./express.js');

export const {
  deviceAuth,
  DEFAULT_PATHS,
  DEFAULT_PAGES,
  MESSAGES,
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
} = express;
export default express;
