// ESM entry: the same objects as `require('deviceauth')`, with named exports.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const deviceauth = require('./index.js');

export const { activeconnect, projectinsight, qr, ErrorCode, DeviceAuthError, logs, telemetry } = deviceauth;
export default deviceauth;
