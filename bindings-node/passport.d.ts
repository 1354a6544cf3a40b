// Types of `deviceauth/passport`: a Passport 0.7 strategy for approved phone sign-ins.
// Structural (no dependency on @types/passport): `passport.use(new DeviceAuthStrategy(...))`.
import type { DeviceAuthRouter } from './express.js'
import type { SignIns } from './web.js'

export type VerifyDone<User = any> = (error: unknown, user?: User | false | null, info?: unknown) => void

export interface DeviceAuthStrategyOptions {
  /** The router of `deviceAuth()` (its flow, state and pages). */
  deviceauth?: DeviceAuthRouter | undefined
  /** Without the router: a flow; the pending sign-in is read from `req.session.deviceauth.p`. */
  signIns?: SignIns | undefined
  /** Default `'deviceauth'`. */
  name?: string | undefined
  /** `verify(req, deviceauthId, done)`. */
  passReqToCallback?: boolean | undefined
}

/** `verify(deviceauthId, done)`, or returning a Promise of the user (false or null: none). */
export type Verify<User = any> =
  | ((deviceauthId: string, done: VerifyDone<User>) => void | Promise<User | false | null | undefined>)
  | ((req: any, deviceauthId: string, done: VerifyDone<User>) => void | Promise<User | false | null | undefined>)

export declare class DeviceAuthStrategy<User = any> {
  constructor(options: DeviceAuthStrategyOptions, verify: Verify<User>)
  name: string
  get signIns(): SignIns
  /** Called by Passport. */
  authenticate(req: any, options?: Record<string, unknown>): void
}
export { DeviceAuthStrategy as Strategy }
