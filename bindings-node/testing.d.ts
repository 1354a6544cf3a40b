// Types of `deviceauth/testing`: the emulator that ships inside the package, for tests of
// your own app. See testing.js for the whole story.

/** Options of `startEmulator()`. */
export interface EmulatorOptions {
  /** The phone approves every sign-in request by itself after this many milliseconds
   * (`--approve-after`). Default: nothing happens until the test acts (`setStatus`). */
  approveAfterMs?: number;
  /** The application to serve. Default: a random id and secret. */
  application?: { id: string; secret: string };
  /** Serve HTTPS with a CA generated at start; `emu.caFile` is its PEM (the client's `caFile`). */
  tls?: boolean;
  /** More command-line flags (`npx deviceauth-emulator --help`). */
  args?: string[];
  /** Another program to run instead of the packaged one (also: env DEVICEAUTH_EMULATOR). */
  command?: string[];
  /** Extra environment variables of the child process. */
  env?: Record<string, string>;
  /** How long to wait for the emulator's start lines. Default 30000. */
  startTimeoutMs?: number;
}

/** A sign-in request as the user's phone sees it. */
export interface SignIn {
  sessionToken: string;
  user: string;
  /** 'pending' | 'identifying' while it waits on the phone; later 'active', 'failed', ... */
  status: string;
  /** When the app asked for it (the emulator's clock). */
  createdAt: Date | null;
}

/** A status (or phone action) `setStatus` accepts. */
export type EmulatorStatus =
  | 'identifying' | 'active' | 'walkaway' | 'closed' | 'failed' | 'cancelled' | 'timeout'
  | 'approve' | 'deny' | 'cancel' | 'return' | 'remote-logout' | 'expire'
  | (string & {});

/** A running emulator and its user's side. */
export declare class Emulator {
  private constructor();
  /** Activeconnect base URL, e.g. `http://127.0.0.1:41234` (the client's `baseUrl`). */
  readonly baseUrl: string;
  /** Project Insight base URL: `baseUrl + '/api'`. */
  readonly projectInsightUrl: string;
  readonly applicationId: string;
  readonly applicationSecret: string;
  /** With `tls: true`: path of the CA certificate (PEM) to trust; else null. */
  readonly caFile: string | null;
  /** The emulator's stdout lines so far. */
  readonly output: string[];
  /** The last lines of its stderr (one line per request). */
  readonly log: string[];
  readonly running: boolean;
  /** Registers the user's phone, as if they opened their registration link and pressed Register. */
  registerDevice(userId: string): Promise<void>;
  /** Registers the phone from the registration link the app displayed; resolves to its user id. */
  openRegistrationLink(url: string): Promise<string>;
  /** Sign-in requests waiting on a phone, NEWEST FIRST (the phone page's order). */
  pendingSignIns(userId?: string): Promise<SignIn[]>;
  /** Every sign-in request, newest first. */
  signIns(userId?: string | null, options?: { pending?: boolean }): Promise<SignIn[]>;
  /** The newest waiting sign-in request, waiting up to `timeoutMs` (default 10000) for one. */
  waitForSignIn(userId?: string | null, options?: { timeoutMs?: number }): Promise<SignIn>;
  /** Moves a session to `status` as the phone would; resolves to the new status. */
  setStatus(sessionToken: string, status: EmulatorStatus): Promise<string>;
  /** The activation code a person reads after signing in on the activation page (id or URL). */
  activationCode(activation: string): Promise<string>;
  /** Any other control call under `/_emulator/`; resolves to the parsed JSON answer. */
  request(method: string, path: string, body?: unknown): Promise<unknown>;
  /** Stops the emulator. Safe to call twice. */
  close(): Promise<void>;
  toJSON(): { baseUrl: string; projectInsightUrl: string; applicationId: string };
}

/** The emulator did not start, stopped, or refused a control call. */
export declare class EmulatorError extends Error {
  /** HTTP status of a refused control call (404 unknown id, 409 not allowed now). */
  status?: number;
}

/** Starts the packaged emulator on a free loopback port; resolves once it serves. */
export declare function startEmulator(options?: EmulatorOptions): Promise<Emulator>;
