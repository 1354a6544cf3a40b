// Types of `deviceauth/express`. Structural (no dependency on @types/express): the router is
// a request handler `app.use()` takes, and the callbacks get the request type you name
// (`deviceAuth<Request, User>({...})`), `any` by default.
import type { Check, SignIns, SignInsOptions } from './web.js'

export * from './web.js'

/** The app's user as the sign-in form names it: its id in the app and its service user id. */
export interface FoundUser {
  id: string | number
  /** The user id the sign-in service knows (e.g. from `newUserId()`, stored with the user). */
  deviceauthId: string
  displayName?: string | undefined
}

/** The router's paths (relative to where it is mounted; mount it at the app's root). */
export interface DeviceAuthPaths {
  /** GET: the default sign-in form; POST: starts a sign-in (`findUser(req)`). Default `/signin`. */
  signIn: string
  /** GET: the waiting page. Default `/signin/wait`. */
  wait: string
  /** GET: Server-Sent Events of the pending sign-in. Default `/signin/events`. */
  events: string
  /** GET: the pending sign-in's progress as JSON. Default `/signin/status`. */
  status: string
  /** GET: finishes an approved sign-in (the waiting page goes there). Default `/signin/done`. */
  done: string
  /** GET `?state=refused|timeout|ended`: why a sign-in ended. Default `/signin/ended`. */
  ended: string
  /** POST: signs out (also the phone session). Default `/signout`. */
  signOut: string
  /** GET: the phone registration page with its QR code. Default `/register`. */
  register: string
  /** GET: the waiting page's script. Default `/deviceauth-wait.js`. */
  script: string
}

/** What every page function gets. */
export interface PageContext<Req = any, User = any> {
  req: Req
  res: any
  /** The signed-in user, or null. */
  user: User | null
  /** A one-time message (signed out elsewhere, signed out, unknown user, a problem). */
  message: string | null
  title?: string
  /** The router's URLs. */
  paths: DeviceAuthPaths
  /** The page frame: `layout({ ...ctx, title, body, head })`. */
  layout: (frame: PageFrame) => string
  [key: string]: unknown
}

export interface PageFrame {
  title?: string | undefined
  /** HTML inside `<main>`. */
  body: string
  /** HTML at the end of `<head>`. */
  head?: string | undefined
  message?: string | null | undefined
  [key: string]: unknown
}

/** Page functions: each returns the whole HTML page. Override any (or only `layout`). */
export interface DeviceAuthPages {
  layout: (frame: PageFrame) => string
  /** `ctx.action`, `ctx.username`. */
  signIn: (ctx: PageContext) => string
  /** `ctx.snippet` (the waiting div and script tag), `ctx.doneUrl`. */
  waiting: (ctx: PageContext) => string
  /** `ctx.state` (`refused`, `timeout`, `ended`), `ctx.endedMessage`, `ctx.signInUrl`. */
  ended: (ctx: PageContext) => string
  /** `ctx.link`, `ctx.svg` (QR code), `ctx.registered`, `ctx.signInUrl`. */
  register: (ctx: PageContext) => string
  /** `ctx.status`, `ctx.code`, `ctx.message`. */
  problem: (ctx: PageContext) => string
}

export interface CookieOptions {
  /** Default `deviceauth`. */
  name?: string | undefined
  /** `'auto'` (default: when `req.secure`), `true` or `false`. */
  secure?: boolean | 'auto' | undefined
  /** Default `/`. */
  path?: string | undefined
}

/** Options of `deviceAuth()`: the flow's (`SignInsOptions`, or `signIns`) and the glue. */
export interface DeviceAuthOptions<Req = any, User = any> extends SignInsOptions {
  /** An existing flow instead of the flow options. */
  signIns?: SignIns | undefined
  /** The user the sign-in form names (`req.body.username`, ...), or null: unknown user (404). */
  findUser(req: Req): FoundUser | null | undefined | Promise<FoundUser | null | undefined>
  /** The signed-in user from its app id, for `res.locals.user` (default `{ id }`); null signs out. */
  loadUser?(id: string, req: Req): User | null | undefined | Promise<User | null | undefined>
  /** After a sign-in (not with `passport`). */
  onSignIn?(req: Req, user: User): void | Promise<void>
  /** The passport instance: sign-ins finish through `passport.authenticate('deviceauth')`. */
  passport?: { authenticate(name: string, options?: object): (req: any, res: any, next: (error?: unknown) => void) => unknown } | undefined
  paths?: Partial<DeviceAuthPaths> | undefined
  /** Where a finished sign-in goes (default `/`). */
  afterSignIn?: string | undefined
  /** Where sign-out goes (default `/`). */
  afterSignOut?: string | undefined
  pages?: Partial<DeviceAuthPages> | undefined
  /** The state cookie without express-session. */
  cookie?: CookieOptions | undefined
  /** `'auto'` (default): express-session's `req.session` when there is one, else the cookie. */
  session?: 'auto' | 'cookie' | 'express-session' | undefined
}

/** `req.deviceauth`, set on every request by the router's first layer. */
export interface RequestDeviceAuth<User = any> {
  signIns: SignIns
  /** Signed in with the phone, and the session still checks out. */
  signedIn: boolean
  /** The signed-in user (`loadUser`'s, or `req.user` with Passport), or null. */
  user: User | null
  /** This request's check of the phone session, or null when nobody was signed in. */
  check: Check | null
  /** A one-time message to show (also `res.locals.deviceauthMessage`). */
  message: string | null
  /** Signs out here and logs the phone session out. */
  signOut(): Promise<void>
  /** Lets this browser register a phone for `user` (e.g. right after sign-up): the registration page's URL. */
  register(user: FoundUser): string
  paths: DeviceAuthPaths
}

type Handler = (req: any, res: any, next: (error?: unknown) => void) => unknown

/** The Router: mount it with `app.use(router)`. */
export interface DeviceAuthRouter extends Handler {
  readonly signIns: SignIns
  /** The per-request check alone (the router runs it first anyway). */
  readonly check: Handler
  /** Only signed-in users pass (else 401 JSON, or the sign-in page). */
  readonly required: Handler
  readonly paths: Readonly<DeviceAuthPaths>
  /** Opens the store now (else at the first request). */
  ready(): Promise<void>
  /** Stops this process's monitor (at shutdown). */
  close(): Promise<void>
}

/** The Express 5 Router of phone sign-in. Throws INVALID_ARGUMENT for bad options. */
export declare function deviceAuth<Req = any, User = any>(options: DeviceAuthOptions<Req, User>): DeviceAuthRouter

export declare const DEFAULT_PATHS: Readonly<DeviceAuthPaths>
export declare const DEFAULT_PAGES: Readonly<DeviceAuthPages>
export declare const MESSAGES: Readonly<{
  unknownUser: string
  noPendingSignIn: string
  signedOut: string
  signInRequired: string
  registrationRequired: string
  noSession: string
}>

declare global {
  namespace Express {
    interface Request {
      /** Set by the `deviceauth/express` router. */
      deviceauth?: RequestDeviceAuth
    }
  }
}
