// Type-checks the Express, Passport and web layers' declarations (express.d.ts,
// passport.d.ts, web.d.ts) the way an app uses them; never run. No @types/express needed.
import { deviceAuth, newUserId, optionsFromEnv, problem, type DeviceAuthRouter, type FoundUser, type PageFrame, type RequestDeviceAuth } from 'deviceauth/express';
import { DeviceAuthStrategy, type VerifyDone } from 'deviceauth/passport';
import { SignIns, createSignIns, sse, waitingHtml, PROGRESS_MESSAGES, type Progress, type Check, type ProgressState, type SignInsOptions } from 'deviceauth/web';

interface AppUser {
  id: number;
  name: string;
  deviceauthId: string;
}
interface AppRequest {
  body: { username?: string };
  deviceauth?: RequestDeviceAuth<AppUser>;
}
const users = new Map<string, AppUser>();

const layout = (frame: PageFrame): string => `<main>${frame.body}</main>`;
const auth: DeviceAuthRouter = deviceAuth<AppRequest, AppUser>({
  ...optionsFromEnv(),
  store: 'sqlite:///tmp/sessions.db',
  secretKey: 'the session secret',
  walkaway: 'keep',
  failMode: 'closed',
  checkBudgetMs: 2000,
  attempts: 5,
  attemptWindowMs: 600_000,
  findUser: (req): FoundUser | null => {
    const user = users.get(req.body.username ?? '');
    return user ? { id: user.id, deviceauthId: user.deviceauthId } : null;
  },
  loadUser: async (id) => [...users.values()].find((u) => String(u.id) === id) ?? null,
  onSignIn: (req, user) => {
    const name: string = user.name;
    void name;
  },
  paths: { signIn: '/login' },
  afterSignIn: '/home',
  pages: { layout },
  cookie: { name: 'da', secure: 'auto' },
});
const ready: Promise<void> = auth.ready();
const handler: (req: any, res: any, next: (error?: unknown) => void) => unknown = auth.required;
const login: string = auth.paths.signIn;

const strategy = new DeviceAuthStrategy<AppUser>({ deviceauth: auth }, (deviceauthId: string, done: VerifyDone<AppUser>) => {
  done(null, [...users.values()].find((u) => u.deviceauthId === deviceauthId) ?? false);
});
const strategyName: string = strategy.name;

async function flow(options: SignInsOptions): Promise<void> {
  const signIns: SignIns = await createSignIns(options);
  const sealed: string = await signIns.start(newUserId());
  const progress: Progress = await signIns.progress(sealed);
  const state: ProgressState = progress.state;
  const keep: string | null = progress.sealed;
  const json: { state: ProgressState; done: boolean } = progress.toJSON();
  const text: string = sse(progress);
  for await (const chunk of signIns.stream(sealed, { onProgress: (p) => void p.sealed })) void chunk;
  const check: Check = await signIns.check(sealed);
  if (!check.signedIn && check.reason === 'remote_logout') void check.message;
  await signIns.signOut(sealed);
  const link: string = await signIns.registrationLink('u1', 'U One');
  const { status, message } = problem(new Error('x'));
  const html: string = waitingHtml({ eventsUrl: '/e', statusUrl: '/s', nextUrl: '/n', endedUrl: '/x', scriptUrl: '/w.js' });
  const pending: string = PROGRESS_MESSAGES.pending;
  void [state, keep, json, text, link, status, message, html, pending, new SignIns(options).settings.walkaway];
  await signIns.close();
}

void [ready, handler, login, strategyName, flow];
