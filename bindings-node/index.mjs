// ESM entry: the same native module as `require('deviceauth')`, with named exports.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const binding = require('./index.js');

export const { activeconnect, projectinsight, qr, ErrorCode } = binding;
export default binding;
