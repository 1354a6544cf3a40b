// Types of `deviceauth/web`: the framework-agnostic web sign-in flow (the same contract as
// Python's `deviceauth.web`). Plain declarations, no dependency on @types/node.
import type { activeconnect } from './index.js'

/** What one progress check of a pending sign-in can find. */
export type ProgressState = 'pending' | 'identifying' | 'approved' | 'refused' | 'timeout' | 'ended' | 'unavailable'

/** Why a signed-in user is (or would be) signed out; `null` while all is well. */
export type CheckReason = 'remote_logout' | 'walkaway' | 'ended' | 'unavailable'

/** `'sign_out'` (default): a walked-away phone signs the user out; `'keep'`: only an ended session does. */
export type WalkawayPolicy = 'sign_out' | 'keep'

/** `'closed'` (default): a status that cannot be known signs the user out; `'open'`: keeps them in, with a warning. */
export type FailMode = 'closed' | 'open'

/** Where the flow logs (default: `console`, prefixed `deviceauth.web`). Never a token, key or sealed value. */
export interface WebLogger {
  warn(message: string): void
  info?(message: string): void
  error?(message: string): void
}

/** Options of `SignIns` (and of the adapters). Durations in milliseconds. */
export interface SignInsOptions {
  /** DEVICEAUTH_APPLICATION_ID (required unless `client`). */
  applicationId?: string | undefined
  /** DEVICEAUTH_APPLICATION_SECRET (required unless `client`). Never shown. */
  applicationSecret?: string | undefined
  /** DEVICEAUTH_BASE_URL; default `$ACTIVE_CONNECT_SERVER`, then the service. */
  baseUrl?: string | undefined
  /** DEVICEAUTH_CA_FILE: a PEM file of root certificates to trust too. */
  caFile?: string | undefined
  /** Time limit of one HTTP request (core default 10000). */
  timeoutMs?: number | undefined
  allowInsecureHttp?: boolean | undefined
  allowedOrigins?: string[] | undefined
  /** An existing client instead of the options above. */
  client?: activeconnect.Client | undefined
  /** DEVICEAUTH_STORE: `'memory'` (default), `'sqlite:///path'`, `'postgresql://...'`, `'redis://...'`; `null`: no store (one refresh per check). */
  store?: string | null | false | undefined
  /** DEVICEAUTH_SEAL_KEY: 64 hex digits or 32 bytes; seals sessions and store rows. */
  sealKey?: string | Uint8Array | undefined
  /** Without `sealKey`: the seal key is HMAC-SHA256(secretKey, "deviceauth seal key v1"). */
  secretKey?: string | Uint8Array | undefined
  /** DEVICEAUTH_WALKAWAY (default `'sign_out'`). */
  walkaway?: WalkawayPolicy | undefined
  /** DEVICEAUTH_FAIL_MODE (default `'closed'`). */
  failMode?: FailMode | undefined
  /** DEVICEAUTH_CHECK_BUDGET: the most a status check may take in a request (default 2000). */
  checkBudgetMs?: number | undefined
  /** DEVICEAUTH_ATTEMPTS: sign-in requests per user and window (default 5; 0: no limit). */
  attempts?: number | undefined
  /** DEVICEAUTH_ATTEMPT_WINDOW (default 600000). */
  attemptWindowMs?: number | undefined
  /** DEVICEAUTH_MONITOR: this process polls the store's sessions (default `true`). */
  monitor?: boolean | undefined
  /** How often the monitors poll one signed-in session (core default 5000). */
  monitorIntervalMs?: number | undefined
  logger?: WebLogger | undefined
}

/** The settings in effect (no secret, no key; a store URL's password masked). */
export interface WebSettings {
  store: string | null
  walkaway: WalkawayPolicy
  failMode: FailMode
  checkBudgetMs: number
  attempts: number
  attemptWindowMs: number
  monitor: boolean
}

/** The JSON of a Progress: never the sealed session or a token. */
export interface ProgressJson {
  state: ProgressState
  status: activeconnect.Status | null
  message: string
  done: boolean
}

/** What one progress check of a pending sign-in found. */
export declare class Progress {
  constructor(state: ProgressState, status?: activeconnect.Status | null, sealed?: string | null)
  readonly state: ProgressState
  /** The service status, or `null` (unavailable). */
  readonly status: activeconnect.Status | null
  /** A sentence for the user (`PROGRESS_MESSAGES[state]`). */
  readonly message: string
  /** `state` is not pending, identifying or unavailable. */
  readonly done: boolean
  /** The sealed session to keep (store it again after each check); `null` once done and not approved. Not in JSON. */
  get sealed(): string | null
  toJSON(): ProgressJson
}

/** The JSON of a Check. */
export interface CheckJson {
  signedIn: boolean
  status: activeconnect.Status | null
  reason: CheckReason | null
  message: string | null
}

/** What the check of a signed-in user's session found. */
export declare class Check {
  constructor(signedIn: boolean, status?: activeconnect.Status | null, reason?: CheckReason | null, sealed?: string | null)
  readonly signedIn: boolean
  readonly status: activeconnect.Status | null
  /** Why the user is signed out; `null` while signed in (also when fail mode open kept them in). */
  readonly reason: CheckReason | null
  /** `CHECK_MESSAGES[reason]` when signed out, else `null`. */
  readonly message: string | null
  /** The sealed session to keep (changed in no-store mode when the status did); `null` when signed out. */
  get sealed(): string | null
  toJSON(): CheckJson
}

export interface StreamOptions {
  /** Stops the stream (e.g. when the client went away). */
  signal?: AbortSignal | undefined
  /** Sees every check: store `progress.sealed` here when the framework can. */
  onProgress?: ((progress: Progress) => void | Promise<void>) | undefined
}

/** The web sign-in flow of one app: a client with the attempt limit and a monitor on the store. */
export declare class SignIns {
  /** Checks the options at once (INVALID_ARGUMENT naming the option); opens on first use. */
  constructor(options: SignInsOptions)
  /** A SignIns whose client and monitor are open. */
  static open(options: SignInsOptions): Promise<SignIns>
  /** Opens the attempt limit and the monitor (once; again after a failure). */
  ready(): Promise<void>
  get settings(): WebSettings
  get client(): activeconnect.Client
  get monitor(): activeconnect.StoreMonitor | null
  /** The 32-byte seal key (a copy). */
  get sealKey(): Uint8Array
  get log(): Required<WebLogger>
  /** Pushes a sign-in to the user's phone: the sealed pending session. Rejects with a DeviceAuthError (see `problem`). */
  start(userId: string): Promise<string>
  /** ONE status check within the budget; approved sessions are added to the store. Never rejects. */
  progress(sealed: string): Promise<Progress>
  /** Server-Sent Events text chunks: now, on each change (checks once a second), keep-alives; ends when done or after 180 s. */
  stream(sealed: string, options?: StreamOptions): AsyncGenerator<string, void, undefined>
  /** The per-request check of a signed-in user (a store read, or one refresh without a store). Never rejects. */
  check(sealed: string): Promise<Check>
  /** Logs the service session out and removes it from the store, within the budget. Never rejects. */
  signOut(sealed: string): Promise<void>
  /** The service user id of a sealed session (no call); `null` when it is not a session of this app. */
  userOf(sealed: string): string | null
  /** The phone registration link (the user is added to the service first when new). */
  registrationLink(userId: string, displayName?: string): Promise<string>
  isRegistered(userId: string): Promise<boolean>
  /** Stops this process's monitor. */
  close(): Promise<void>
}

/** `await createSignIns(options)`: `SignIns.open(options)`. */
export declare function createSignIns(options: SignInsOptions): Promise<SignIns>

/** An error's HTTP status and user message (`retryAfter`: seconds, for 429). */
export interface Problem {
  status: number
  message: string
  retryAfter?: number
}
export declare function problem(error: unknown): Problem

/** `event: progress` and the progress JSON, as one SSE message. */
export declare function sse(progress: Progress | ProgressJson): string
/** A random service user id (24 characters, base64url). */
export declare function newUserId(): string
/** The text of `deviceauth-wait.js`, the waiting page's script. */
export declare function waitScript(): string

export interface WaitingHtmlOptions {
  eventsUrl: string
  statusUrl: string
  nextUrl: string
  endedUrl: string
  scriptUrl: string
  message?: string | undefined
}
/** The waiting page snippet: `<div id="deviceauth-wait" ...>` and the script tag. */
export declare function waitingHtml(options: WaitingHtmlOptions): string
/** A registration link as a QR code `<svg>`. */
export declare function registrationQr(link: string): string
/** The options set by `DEVICEAUTH_*` settings (default `process.env`); bad values throw INVALID_ARGUMENT naming the setting. */
export declare function optionsFromEnv(env?: Record<string, string | undefined> | ((name: string) => string | undefined)): SignInsOptions
/** HMAC-SHA256(secretKey, "deviceauth seal key v1"). */
export declare function deriveSealKey(secretKey: string | Uint8Array): Uint8Array
export declare function escapeHtml(value: unknown): string

export declare const PROGRESS_MESSAGES: Readonly<Record<ProgressState, string>>
export declare const CHECK_MESSAGES: Readonly<Record<CheckReason, string>>
export declare const DEFAULTS: Readonly<{
  walkaway: 'sign_out'
  failMode: 'closed'
  checkBudgetMs: number
  attempts: number
  attemptWindowMs: number
  store: string
  monitor: boolean
}>
/** Path of `web/deviceauth-wait.js` in the package. */
export declare const SCRIPT_PATH: string
