// Types of the package `deviceauth` (hand-written, beside index.js). Plain declarations
// only (no const enum, no dependency on @types/node), so they compile under
// `verbatimModuleSyntax`, `isolatedModules` and `exactOptionalPropertyTypes`.

/** Every `code` an error of this package has, by name: `ErrorCode.NotStarted === 'NOT_STARTED'`. */
export declare const ErrorCode: {
  /** An argument was rejected before any request was sent. */
  readonly InvalidArgument: 'INVALID_ARGUMENT'
  /** The service does not know the application, user, session or activation. */
  readonly NotFound: 'NOT_FOUND'
  /** The service refused the credentials, signature, code or token. */
  readonly Unauthorized: 'UNAUTHORIZED'
  /** `authenticateUser` was answered without starting a sign-in; see `reason`. */
  readonly NotStarted: 'NOT_STARTED'
  /** A management call was refused by the service; see `reason`. */
  readonly Refused: 'REFUSED'
  /** Any other HTTP error status (also a redirect, which is never followed); see `status`. */
  readonly Http: 'HTTP'
  /** The service answered with something that does not follow the protocol. */
  readonly Protocol: 'PROTOCOL'
  /** A request, or a whole wait, ran past its time limit. */
  readonly Timeout: 'TIMEOUT'
  /** The caller's `AbortSignal` aborted the operation. */
  readonly Aborted: 'ABORTED'
  /** The request could not be delivered (connection refused, reset, TLS, DNS, ...). */
  readonly Transport: 'TRANSPORT'
  /** A defect caught at the package's boundary; the client stays usable. */
  readonly Internal: 'INTERNAL'
  /** The per-user sign-in limit was reached. */
  readonly RateLimited: 'RATE_LIMITED'
  /** A Project Insight token past its expiry, refused before sending. */
  readonly Expired: 'EXPIRED'
  /**
   * A monitor store failed; `reason` is its kind: `UNREACHABLE`, `UNAUTHORIZED`,
   * `SCHEMA_TOO_NEW`, `CORRUPT`, `LAGGED` or `BACKEND`.
   */
  readonly Store: 'STORE'
}
/** One of the `ErrorCode` values. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

/** The error every call throws or rejects with. Messages never hold a secret, token or code. */
export declare class DeviceAuthError extends Error {
  constructor(code: ErrorCode, message: string, status?: number, reason?: string)
  /** What went wrong, as one of the `ErrorCode` values. */
  code: ErrorCode
  /** The HTTP status of the answer behind the error, when there was one. */
  status?: number
  /** The service's machine-readable reason (`NO_MOBILE_DEVICE`, `WRONG_CODE`, ...), or a store's kind for `STORE`. */
  reason?: string
  /** For `RATE_LIMITED`: milliseconds until the user's window ends. */
  retryAfterMs?: number
}

export declare namespace activeconnect {
  /**
   * A session's status as the service spells it; any other string the service may send
   * later is possible too. `isInProgress`, `isAuthenticated` and `isEnded` classify it.
   */
  type Status =
    | 'pending'
    | 'identifying'
    | 'active'
    | 'walkaway'
    | 'timeout'
    | 'closed'
    | 'failed'
    | 'cancelled'
    | (string & {})

  /** `pending` or `identifying`: the user has not answered yet. */
  function isInProgress(status: Status): boolean
  /**
   * `active` or `walkaway`: the service session is authenticated. Whether an app keeps a
   * walked-away user signed in is its walkaway policy (the web adapters: `walkaway: 'sign_out'`
   * by default, or `'keep'`).
   */
  function isAuthenticated(status: Status): boolean

  /** The default budget of one status check inside a web request, in milliseconds (2000): `session.refresh({ timeoutMs: DEFAULT_CHECK_BUDGET_MS })`. */
  const DEFAULT_CHECK_BUDGET_MS: number
  /** The default budget of `client.health()`, in milliseconds (3000). */
  const DEFAULT_HEALTH_BUDGET_MS: number
  /** The user id `client.health()` asks about (`has_registered_mobile_device`); it is never added. */
  const HEALTH_PROBE_USER: string
  /** Over for good (`closed`, `timeout`, `failed`, `cancelled`, ...). */
  function isEnded(status: Status): boolean

  /** HTTP options of both clients. */
  interface HttpOptions {
    /** Time limit of one HTTP request in milliseconds (core default 10000). */
    timeoutMs?: number | undefined
    /** Allow plain `http://` to hosts other than loopback (default `false`). */
    allowInsecureHttp?: boolean | undefined
    /** Origins (`scheme://host:port`) besides the base URL's that the service's status and logout URLs may point at. */
    allowedOrigins?: string[] | undefined
    /** A PEM file of root certificates to trust too (e.g. the emulator's CA). */
    caFile?: string | undefined
  }

  /** Options of `new activeconnect.Client(options)`. */
  interface ClientOptions extends HttpOptions {
    applicationId: string
    /** Never shown by `util.inspect` or in error messages. */
    applicationSecret: string
    /**
     * The next secret, while the secret is being changed: a call the service refuses with
     * `applicationSecret` is sent once more signed with this one (a refused signature was not
     * acted on), and once accepted it is used first. See docs/operations.md. Never shown.
     */
    nextApplicationSecret?: string | undefined
    /** Default: `$ACTIVE_CONNECT_SERVER`, then `$IAMPASS_SERVER`, then the service. */
    baseUrl?: string | undefined
  }

  /** Which users `addUsers` created and which already existed. */
  interface AddedUsers {
    created: string[]
    existing: string[]
  }

  interface RegistrationLinkOptions {
    /** What the phone app shows for this account. */
    displayName?: string | undefined
  }

  interface RegistrationSmsOptions {
    displayName?: string | undefined
    /** The text of the SMS. */
    message?: string | undefined
  }

  interface AuthenticateOptions {
    /** Methods the user may use; leave out to let the service choose. */
    methods?: Array<'acceptance' | 'device' | 'facial'> | undefined
    /** Lifetime of the session once active, in seconds. */
    durationSeconds?: number | undefined
  }

  interface WaitOptions {
    /** The longest the whole wait may take, in milliseconds (core default 120000); then `TIMEOUT`. */
    timeoutMs?: number | undefined
    /** Time between two status polls in milliseconds (core default 2000). */
    intervalMs?: number | undefined
    /** Aborting it rejects the wait with `ABORTED` and stops the polling. */
    signal?: AbortSignal | undefined
  }

  interface RefreshOptions {
    /**
     * The most the check may take, in milliseconds: past it the refresh rejects with `TIMEOUT`
     * ("no status within N ms") whatever the retry policy, and the status stays as it was.
     * Left out: the request timeout and retry policy alone bound it.
     */
    timeoutMs?: number | undefined
    /** Aborting it rejects the refresh with `ABORTED`. */
    signal?: AbortSignal | undefined
  }

  /** Options of `client.health`. */
  interface HealthOptions {
    /** The most the check may take, in milliseconds (default `DEFAULT_HEALTH_BUDGET_MS`); then `TIMEOUT`. */
    timeoutMs?: number | undefined
  }

  /** A passed health check. */
  interface Health {
    /** How long the check took, in milliseconds. */
    latencyMs: number
    /** The origin checked, `scheme://host[:port]`. */
    origin: string
  }

  /** Options of `client.withAttemptLimit`. */
  interface AttemptLimitOptions {
    /** `'memory'`, `'sqlite:///path/to/file'`, `'postgresql://...'` or `'redis://...'`: every process on the store shares the count. */
    store: string
    /** Sign-in requests allowed per user and window (core default 5). */
    attempts?: number | undefined
    /** The window's length in milliseconds (core default 600000). */
    windowMs?: number | undefined
    /** The app's 32-byte seal key; may be left out (counting seals nothing). Never shown. */
    sealKey?: Uint8Array | undefined
  }

  interface WatchOptions {
    /** Time between two status polls in milliseconds (core default 5000). */
    intervalMs?: number | undefined
    /** Aborting it rejects the pending (or next) iteration with `ABORTED`. */
    signal?: AbortSignal | undefined
  }

  /** What `JSON.stringify(session)` gives. It holds the session secret: store it server side only. */
  interface SessionData {
    user: string
    session_token: string
    session_secret: string
    status_url: string
    logout_url: string
    status: Status
  }

  /** A client for one Activeconnect application. Throws `INVALID_ARGUMENT` for bad options. */
  class Client {
    constructor(options: ClientOptions)
    get applicationId(): string
    get baseUrl(): string
    addUsers(users: string[]): Promise<AddedUsers>
    deleteUsers(users: string[]): Promise<void>
    deviceRegistrationLink(user: string, options?: RegistrationLinkOptions): Promise<string>
    hasRegisteredMobileDevice(user: string): Promise<boolean>
    /**
     * Checks that the service is reachable and accepts this application's credentials, with
     * one signed read-only request (`has_registered_mobile_device` for `HEALTH_PROBE_USER`,
     * never added): no user, push, SMS or session is made, and it is never retried. Rejects
     * `UNAUTHORIZED` naming the credential to check (secret or application id), `TRANSPORT`
     * naming the origin it could not reach, `TIMEOUT` past `timeoutMs`, `NOT_FOUND` when the
     * base URL does not lead to the service.
     */
    health(options?: HealthOptions): Promise<Health>
    lostUserMobileDevice(user: string): Promise<string>
    sendRegistrationSms(user: string, phoneNumber: string, options?: RegistrationSmsOptions): Promise<void>
    /** Pushes a sign-in to the user's phone; rejects `NOT_STARTED` (with `reason`) when refused. */
    authenticateUser(user: string, options?: AuthenticateOptions): Promise<Session>
    /**
     * A copy of this client (sharing its connections and settings) whose `authenticateUser`
     * allows each user `attempts` sign-in requests per `windowMs`, counted in `store`; one over
     * the limit rejects with `RATE_LIMITED` (`retryAfterMs`) and is not sent. Bad options reject
     * with `INVALID_ARGUMENT`, an unreachable store with `STORE`. This client is unchanged.
     */
    withAttemptLimit(options: AttemptLimitOptions): Promise<Client>
    /** A session from `JSON.stringify(session)` (the text or the parsed object); no request. */
    resume(data: string | SessionData): Session
    /** A session from `session.seal(key)`. */
    unseal(sealed: string, key: Uint8Array): Session
  }

  /** A sign-in session of one user (from `authenticateUser`, `resume` or `unseal`). */
  class Session {
    private constructor()
    /** The last status seen (no request). */
    get status(): Status
    get user(): string
    /** Identifies the session (`session_token` of its JSON). */
    get sessionToken(): string
    /** Polls the status once; with `timeoutMs`, gives up with `TIMEOUT` once it has passed. */
    refresh(options?: RefreshOptions): Promise<Status>
    /** Polls until the session is no longer in progress. */
    wait(options?: WaitOptions): Promise<Status>
    /** An async iterator of status changes; it ends after an ended status. */
    watch(options?: WatchOptions): StatusWatch
    /** Ends the session at the service: `true` when it closed it. */
    logout(): Promise<boolean>
    /** The session encrypted with `key` (32 bytes) into an opaque string. */
    seal(key: Uint8Array): string
    toJSON(): SessionData
  }

  /** What `session.watch()` returns. */
  class StatusWatch implements AsyncIterableIterator<Status, undefined> {
    private constructor()
    next(): Promise<IteratorResult<Status, undefined>>
    return(): Promise<IteratorResult<Status, undefined>>
    [Symbol.asyncIterator](): StatusWatch
  }

  /** Shard `index` (from 0) of `count`: the sessions whose `shardOf(token, count)` is `index`. */
  interface MonitorShard {
    index: number
    count: number
  }

  interface MonitorOptions {
    /** Time between two polls of one session in milliseconds (core default 5000). */
    intervalMs?: number | undefined
    /** The most polls in flight at once (core default 100). */
    maxInFlight?: number | undefined
    /** A session failing this long (milliseconds, core default 60000) is reported unreachable. */
    unreachableAfterMs?: number | undefined
    shard?: MonitorShard | undefined
  }

  interface MonitorEventsOptions {
    /** Aborting it rejects the pending (or next) iteration with `ABORTED`; the monitor goes on. */
    signal?: AbortSignal | undefined
  }

  /** Set on the events of a `StoreMonitor`; `undefined` on those of an in-memory `Monitor`. */
  interface StoredEventFields {
    /** Stable across deliveries: events come at least once, so drop repeats by `id`. */
    id?: string | undefined
    /** The key the session was added under. */
    key?: string | undefined
    /** When the monitor saw the change. */
    at?: Date | undefined
  }

  /** A session's status changed. */
  interface MonitorChange extends StoredEventFields {
    type: 'changed'
    user: string
    sessionToken: string
    previous: Status
    status: Status
  }

  /** A session could not be polled; it is no longer watched. */
  interface MonitorUnreachable extends StoredEventFields {
    type: 'unreachable'
    user: string
    sessionToken: string
    error: DeviceAuthError
    /** From a store: the status before and the last one seen (the same unless polling failed after a change). */
    previous?: Status | undefined
    status?: Status | undefined
  }

  type MonitorEvent = MonitorChange | MonitorUnreachable

  /** An event of a `StoreMonitor`: `id`, `key` and `at` are always set. */
  type StoreMonitorEvent = MonitorEvent & { id: string; key: string; at: Date }

  /** Options of `Monitor.open`. */
  interface StoreMonitorOptions {
    /** `'memory'`, `'sqlite:///path/to/file'`, `'postgresql://user:password@host/db'` or `'redis://:password@host:port'`; `?namespace=NAME` shares one server between apps. */
    store: string
    /** 32 bytes sealing the sessions at rest, the same in every process of the app; required unless the store is `memory`. Never shown. */
    sealKey?: Uint8Array | undefined
    /** `false`: this process only adds sessions and reads statuses and events; other processes poll (default `true`). */
    polling?: boolean | undefined
    /** How long a claim on sessions lasts, in milliseconds: a monitor that dies holds its sessions this long at most (core default 60000). */
    leaseMs?: number | undefined
    /** The most sessions claimed at once (core default 100). */
    batch?: number | undefined
    /** Events held for a reader that falls behind, after which the store is not read until there is room (default 1000). */
    capacity?: number | undefined
    /** Time between two polls of one session in milliseconds (core default 5000). */
    intervalMs?: number | undefined
    /** The most polls in flight at once in this process (core default 100). */
    maxInFlight?: number | undefined
    /** A session failing this long (milliseconds, core default 60000) is reported unreachable. */
    unreachableAfterMs?: number | undefined
  }

  /** A session's last known status in a store (a read of the store, no call to the service). */
  interface StoredStatus {
    status: Status
    /** Whether monitors still poll it (`false` once ended, unreachable or unreadable). */
    watched: boolean
    /** Why it is no longer watched, when that was a failure. */
    error: string | null
    /** When a monitor (or `add`) last wrote it. */
    updatedAt: Date
  }

  /** Watches many signed-in sessions with one polling task. */
  class Monitor {
    /** An in-memory monitor; with a `store` option it throws `INVALID_ARGUMENT` (use `Monitor.open`). */
    constructor(client: Client, options?: MonitorOptions)
    /** A monitor on a store, opened (its schema made on first use) asynchronously. */
    static open(client: Client, options: StoreMonitorOptions): Promise<StoreMonitor>
    /** Watches a session (a `Session`, its JSON text or the parsed object); `false` if not taken. */
    add(session: Session | string | SessionData): boolean
    remove(sessionToken: string): boolean
    has(sessionToken: string): boolean
    get size(): number
    get closed(): boolean
    /** Stops the polling; `events()` iterations end once drained. */
    close(): void
    events(options?: MonitorEventsOptions): MonitorEvents
  }

  /** What `monitor.events()` returns. */
  class MonitorEvents implements AsyncIterableIterator<MonitorEvent, undefined> {
    private constructor()
    next(): Promise<IteratorResult<MonitorEvent, undefined>>
    return(): Promise<IteratorResult<MonitorEvent, undefined>>
    [Symbol.asyncIterator](): MonitorEvents
  }

  /** A monitor on a store (from `Monitor.open`): any process adds, every monitor on the store polls, any process reads. */
  class StoreMonitor {
    private constructor()
    /** Stores a session under `key` (default: its session token); `false` when the key is taken. */
    add(session: Session | string | SessionData, key?: string): Promise<boolean>
    /** Deletes the session under `key`; `false` when there was none. */
    remove(key: string): Promise<boolean>
    /** The last known status under `key`, or `null`. */
    status(key: string): Promise<StoredStatus | null>
    /** `'memory'`, `'sqlite'`, `'postgres'` or `'redis'`. */
    get store(): string
    /** Whether this process polls. */
    get polling(): boolean
    get closed(): boolean
    /** Stops this process's polling (hands its claims back at once) and ends `events()` iterations. */
    close(): Promise<void>
    /** Every monitor's changes on this store, at least once each (drop repeats by `id`). */
    events(options?: MonitorEventsOptions): StoreMonitorEvents
  }

  /** What `storeMonitor.events()` returns. */
  interface StoreMonitorEvents extends AsyncIterableIterator<StoreMonitorEvent, undefined> {
    next(): Promise<IteratorResult<StoreMonitorEvent, undefined>>
    return(): Promise<IteratorResult<StoreMonitorEvent, undefined>>
    [Symbol.asyncIterator](): StoreMonitorEvents
  }

  /** The shard (from 0) of a session token among `count` shards, the same in every language. */
  function shardOf(sessionToken: string, count: number): number
}

export declare namespace projectinsight {
  interface ClientOptions extends activeconnect.HttpOptions {
    /** The workspace API, e.g. `https://acme.projectinsight.net/api`. */
    baseUrl: string
  }

  /** The program asking for a token. */
  interface DeviceInfo {
    clientAgent: string
    platform?: string | undefined
    device?: string | undefined
    ipAddress?: string | undefined
    hostName?: string | undefined
  }

  interface CompleteOptions {
    /** The same client agent as in `createDeviceActivation`. */
    clientAgent: string
    /** Lifetime of the API token in minutes. */
    timeoutMinutes?: number | undefined
  }

  interface PendingActivation {
    id: string
    url: string
    expiresAt: Date
  }

  /** What `JSON.stringify(activation)` gives: everything but the API token. */
  interface DeviceActivationJson {
    deviceId: string
    userId: string
    expiresAt: Date
  }

  interface CompleteAndStoreOptions extends CompleteOptions {
    /** Whose token it is (default `'default'`). */
    account?: string | undefined
  }

  interface AccountOptions {
    /** Whose token it is (default `'default'`). */
    account?: string | undefined
  }

  interface ApiTokenOptions {
    /** When the token expires: from 30 s before then, calls reject with `EXPIRED` without sending. */
    expiresAt?: Date | undefined
  }

  interface TokenStoreOptions {
    /** The token file (default: the OS keyring if the addon has one and it answers, else `TokenStore.defaultPath()`). */
    path?: string | undefined
  }

  /** The account a token is stored under when none is named: `'default'`. */
  const DEFAULT_ACCOUNT: 'default'

  class Client {
    constructor(options: ClientOptions)
    get baseUrl(): string
    createDeviceActivation(device: DeviceInfo): Promise<PendingActivation>
    completeDeviceActivation(activationId: string, code: string, options: CompleteOptions): Promise<DeviceActivation>
    withApiToken(apiToken: string, options?: ApiTokenOptions): ApiClient
    /** `completeDeviceActivation`, then saves the token in `store`, replacing the account's previous one. */
    completeAndStore(store: TokenStore, activationId: string, code: string, options: CompleteAndStoreOptions): Promise<StoredToken>
    /** A client with the stored token; throws `EXPIRED` if it expired, `STORE` (reason `NOT_STORED`) if none. Sends nothing. */
    storedApiClient(store: TokenStore, options?: AccountOptions): ApiClient
    /** A new activation with the stored token's client agent; `completeAndStore` replaces the token. */
    reactivate(store: TokenStore, options?: AccountOptions): Promise<PendingActivation>
  }

  /** What `JSON.stringify(token)` gives: everything but the API token. */
  interface StoredTokenJson {
    baseUrl: string
    account: string
    deviceId: string
    userId: string
    clientAgent: string
    expiresAt: Date
  }

  /** A stored API token; `apiToken` is hidden from `util.inspect`, keys and JSON. */
  class StoredToken {
    private constructor()
    get apiToken(): string
    get baseUrl(): string
    get account(): string
    get deviceId(): string
    get userId(): string
    get clientAgent(): string
    get expiresAt(): Date
    /** Whether the token has expired by now. */
    get expired(): boolean
    toJSON(): StoredTokenJson
  }

  /** Where API tokens are kept between runs: the OS keyring or a file with mode 0600. */
  class TokenStore {
    constructor(options?: TokenStoreOptions)
    /** `$XDG_CONFIG_HOME/deviceauth/projectinsight-tokens.json` (or under `~/.config`). */
    static defaultPath(): string
    /** The file's path, or `OS keyring`. */
    get location(): string
    load(baseUrl: string, options?: AccountOptions): Promise<StoredToken | null>
    save(token: StoredToken): Promise<void>
    /** Whether there was a token to delete. */
    delete(baseUrl: string, options?: AccountOptions): Promise<boolean>
  }

  /** A completed activation; `apiToken` is hidden from `util.inspect`, keys and JSON. */
  class DeviceActivation {
    private constructor()
    get apiToken(): string
    get deviceId(): string
    get userId(): string
    get expiresAt(): Date
    toJSON(): DeviceActivationJson
  }

  class ApiClient {
    private constructor()
    get baseUrl(): string
    /** When the token expires, if the client knows. */
    get expiresAt(): Date | null
    /** The parsed JSON answer (`null` for an empty body). */
    get(path: string): Promise<any>
    post(path: string, body?: unknown): Promise<any>
  }
}

export declare namespace qr {
  function svg(text: string): string
  function terminal(text: string): string
}

export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace'

/** A log record of the core. */
export interface LogRecord {
  level: LogLevel
  /** The Rust module, e.g. `deviceauth::transport`. */
  target: string
  message: string
}

/** The core's log records as `'log'` events (an EventEmitter), collected while a listener is attached. */
export interface Logs {
  /** The lowest level delivered (default `'info'`). */
  level: LogLevel
  on(event: 'log', listener: (record: LogRecord) => void): this
  once(event: 'log', listener: (record: LogRecord) => void): this
  off(event: 'log', listener: (record: LogRecord) => void): this
  addListener(event: 'log', listener: (record: LogRecord) => void): this
  removeListener(event: 'log', listener: (record: LogRecord) => void): this
}
export declare const logs: Logs

/** One counter series of the metrics snapshot. */
export interface CounterPoint {
  /** e.g. `deviceauth.calls`. */
  name: string
  /** The series' labels, e.g. `{ service, endpoint, outcome }`. */
  attributes: Record<string, string>
  value: number
}

/** One gauge series (`deviceauth.monitor.sessions`). */
export interface GaugePoint {
  name: string
  attributes: Record<string, string>
  value: number
}

/** One histogram series (`deviceauth.call.duration`, in `ms`). */
export interface HistogramPoint {
  name: string
  unit: string
  attributes: Record<string, string>
  count: number
  sum: number
  /** Bucket upper bounds. */
  bounds: number[]
  /** Values per bucket: one per bound, then one above the last bound. */
  bucket_counts: number[]
}

/** The value of every instrument at one moment. */
export interface MetricsSnapshot {
  counters: CounterPoint[]
  gauges: GaugePoint[]
  histograms: HistogramPoint[]
}

/** Tracing and metrics (see the README's "Tracing and metrics"). */
export declare namespace telemetry {
  /** The process-wide counters, gauge and histogram now. */
  function metrics(): MetricsSnapshot
  /**
   * Turns each finished service call into a span of `tracerProvider` (an `@opentelemetry/api`
   * `TracerProvider`; default: the global one) and a value of the `deviceauth.call.duration`
   * histogram, and the counters and gauge into observable instruments of `meterProvider`
   * (default: the global one). Throws when `@opentelemetry/api` is not installed.
   */
  function enableOpenTelemetry(options?: {
    tracerProvider?: { getTracer(name: string, version?: string): unknown }
    meterProvider?: { getMeter(name: string, version?: string): unknown }
  }): void
  /** Stops making spans and histogram values (the default). */
  function disableOpenTelemetry(): void
}
