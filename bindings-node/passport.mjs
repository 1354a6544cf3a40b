// ESM entry of `deviceauth/passport`: the same objects as `require('deviceauth/passport')`.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const passport = require('./passport.js');

export const { DeviceAuthStrategy, Strategy } = passport;
export default passport;
