// Every public name of the package, used the way the README shows; checked with
// `tsc --noEmit --strict` (tsconfig.json beside this file). Never run.
import { activeconnect, projectinsight, qr, ErrorCode, DeviceAuthError, logs, telemetry, type LogRecord, type MetricsSnapshot } from 'deviceauth';

export async function signIn(): Promise<void> {
  const options: activeconnect.ClientOptions = {
    applicationId: 'APP_ID',
    applicationSecret: 'APP_SECRET',
    nextApplicationSecret: 'NEXT_APP_SECRET',
    baseUrl: 'http://127.0.0.1:8790',
    timeoutMs: 10_000,
  };
  const client: activeconnect.Client = new activeconnect.Client(options);
  const id: string = client.applicationId;
  const base: string = client.baseUrl;

  const added: activeconnect.AddedUsers = await client.addUsers(['u1', 'u2']);
  const created: string[] = added.created;
  const existing: string[] = added.existing;
  const none: void = await client.deleteUsers(['u2']);

  const linkOptions: activeconnect.RegistrationLinkOptions = { displayName: 'u1@shop' };
  const link: string = await client.deviceRegistrationLink('u1', linkOptions);
  const registered: boolean = await client.hasRegisteredMobileDevice('u1');
  const healthOptions: activeconnect.HealthOptions = { timeoutMs: activeconnect.DEFAULT_HEALTH_BUDGET_MS };
  const health: activeconnect.Health = await client.health(healthOptions);
  const latencyMs: number = health.latencyMs;
  const origin: string = (await client.health()).origin;
  const probe: string = activeconnect.HEALTH_PROBE_USER;
  const fresh: string = await client.lostUserMobileDevice('u1');
  const sms: activeconnect.RegistrationSmsOptions = { displayName: 'u1@shop', message: 'Welcome' };
  await client.sendRegistrationSms('u1', '+15550100', sms);
  await client.sendRegistrationSms('u1', '+15550100');

  const authOptions: activeconnect.AuthenticateOptions = { methods: ['acceptance', 'facial'], durationSeconds: 600 };
  let session: activeconnect.Session;
  try {
    session = await client.authenticateUser('u1', authOptions);
  } catch (e) {
    const error = e as DeviceAuthError;
    const code: string = error.code;
    const reason: string | undefined = error.reason;
    const status: number | undefined = error.status;
    if (code === ErrorCode.NotStarted) console.log(reason, status, error.message);
    return;
  }
  const status: string = session.status;
  const user: string = session.user;
  const refreshed: string = await session.refresh();
  const budget: number = activeconnect.DEFAULT_CHECK_BUDGET_MS;
  const refreshOptions: activeconnect.RefreshOptions = { timeoutMs: budget, signal: new AbortController().signal };
  const checked: activeconnect.Status = await session.refresh(refreshOptions);
  const limitOptions: activeconnect.AttemptLimitOptions = { store: 'memory', attempts: 5, windowMs: 600_000, sealKey: new Uint8Array(32) };
  const limited: activeconnect.Client = await client.withAttemptLimit(limitOptions);
  await client.withAttemptLimit({ store: 'sqlite:///tmp/attempts.db' });
  try {
    await limited.authenticateUser('u1');
  } catch (e) {
    const retryAfterMs: number | undefined = (e as DeviceAuthError).retryAfterMs;
    console.log(retryAfterMs, checked);
  }

  const controller = new AbortController();
  const waitOptions: activeconnect.WaitOptions = { timeoutMs: 120_000, intervalMs: 2_000, signal: controller.signal };
  const final: string = await session.wait(waitOptions);
  await session.wait();

  const watchOptions: activeconnect.WatchOptions = { intervalMs: 5_000, signal: controller.signal };
  const watch: activeconnect.StatusWatch = session.watch(watchOptions);
  for await (const next of watch) {
    const s: string = next;
    if (s === 'closed') break;
  }
  for await (const s of session.watch()) console.log(s.toUpperCase());
  const step: IteratorResult<string, undefined> = await watch.next();
  await watch.return();

  const closed: boolean = await session.logout();
  const data: activeconnect.SessionData = session.toJSON();
  const json: string = JSON.stringify(session);
  const again: activeconnect.Session = client.resume(json);
  const fromObject: activeconnect.Session = client.resume(data);
  const secret: string = data.session_secret;
  console.log(id, base, created, existing, none, link, registered, fresh, status, user, refreshed, final, step, closed);
  console.log(again.status, fromObject.user, data.session_token, data.status_url, data.logout_url, data.user, data.status, secret);
}

export async function monitorMany(client: activeconnect.Client, stored: string[], session: activeconnect.Session): Promise<void> {
  const shard: activeconnect.MonitorShard = { index: activeconnect.shardOf('token', 4), count: 4 };
  const options: activeconnect.MonitorOptions = { intervalMs: 5_000, maxInFlight: 100, unreachableAfterMs: 60_000, shard };
  const monitor: activeconnect.Monitor = new activeconnect.Monitor(client, options);
  new activeconnect.Monitor(client).close();
  for (const json of stored) monitor.add(json);
  const added: boolean = monitor.add(session) || monitor.add(session.toJSON());
  const removed: boolean = monitor.remove('token');
  const watched: boolean = monitor.has('token');
  const size: number = monitor.size;
  const isClosed: boolean = monitor.closed;
  const eventsOptions: activeconnect.MonitorEventsOptions = { signal: AbortSignal.timeout(60_000) };
  const events: activeconnect.MonitorEvents = monitor.events(eventsOptions);
  for await (const event of events) {
    const e: activeconnect.MonitorEvent = event;
    const token: string = e.sessionToken;
    const user: string = e.user;
    if (e.type === 'changed') {
      const change: activeconnect.MonitorChange = e;
      console.log(token, user, change.previous, change.status);
    } else {
      const lost: activeconnect.MonitorUnreachable = e;
      const code: string = lost.error.code;
      const status: number | undefined = lost.error.status;
      console.log(lost.error.message, code, status);
    }
  }
  for await (const event of monitor.events()) if (event.type === 'changed' && event.status === 'closed') break;
  const next: IteratorResult<activeconnect.MonitorEvent, undefined> = await events.next();
  await events.return();
  monitor.close();
  console.log(added, removed, watched, size, isClosed, next);
}

export async function monitorOnAStore(client: activeconnect.Client, session: activeconnect.Session, sealKey: Uint8Array): Promise<void> {
  const options: activeconnect.StoreMonitorOptions = {
    store: 'redis://:password@127.0.0.1:6379/0?namespace=shop',
    sealKey,
    polling: false,
    leaseMs: 60_000,
    batch: 100,
    capacity: 1000,
    intervalMs: 5_000,
    maxInFlight: 100,
    unreachableAfterMs: 60_000,
  };
  const monitor: activeconnect.StoreMonitor = await activeconnect.Monitor.open(client, options);
  const memory = await activeconnect.Monitor.open(client, { store: 'memory' });
  const added: boolean = (await monitor.add(session, 'signin-1')) || (await monitor.add(session.toJSON())) || (await memory.add('{}'));
  const stored: activeconnect.StoredStatus | null = await monitor.status('signin-1');
  if (stored !== null) {
    const status: activeconnect.Status = stored.status;
    const watched: boolean = stored.watched;
    const error: string | null = stored.error;
    const updatedAt: Date = stored.updatedAt;
    console.log(status, watched, error, updatedAt.toISOString());
  }
  const removed: boolean = await monitor.remove('signin-1');
  const kind: string = monitor.store;
  const polling: boolean = monitor.polling;
  const seen = new Set<string>();
  const events: activeconnect.StoreMonitorEvents = monitor.events({ signal: AbortSignal.timeout(60_000) });
  for await (const event of events) {
    const e: activeconnect.StoreMonitorEvent = event;
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    const key: string = e.key;
    const at: Date = e.at;
    if (e.type === 'changed') console.log(key, at, e.previous, e.status);
    else if (e.error.code === ErrorCode.Store) console.log(key, e.error.reason);
  }
  for await (const event of new activeconnect.Monitor(client).events()) {
    const id: string | undefined = event.id;
    const key: string | undefined = event.key;
    const at: Date | undefined = event.at;
    console.log(id, key, at);
  }
  await monitor.close();
  await memory.close();
  const closed: boolean = monitor.closed;
  console.log(added, removed, kind, polling, closed);
}

export async function activate(): Promise<unknown> {
  const options: projectinsight.ClientOptions = { baseUrl: 'http://127.0.0.1:8790/api', timeoutMs: 10_000 };
  const pi: projectinsight.Client = new projectinsight.Client(options);
  const base: string = pi.baseUrl;
  const device: projectinsight.DeviceInfo = {
    clientAgent: 'my-cli/1.0',
    platform: 'Linux',
    device: 'Computer',
    ipAddress: '10.0.0.1',
    hostName: 'box',
  };
  const pending: projectinsight.PendingActivation = await pi.createDeviceActivation(device);
  const pendingId: string = pending.id;
  const url: string = pending.url;
  const expires: Date = pending.expiresAt;
  const complete: projectinsight.CompleteOptions = { clientAgent: 'my-cli/1.0', timeoutMinutes: 60 };
  const done: projectinsight.DeviceActivation = await pi.completeDeviceActivation(pendingId, '123456', complete);
  const token: string = done.apiToken;
  const deviceId: string = done.deviceId;
  const userId: string = done.userId;
  const tokenExpires: Date = done.expiresAt;
  const safe: projectinsight.DeviceActivationJson = done.toJSON();
  const api: projectinsight.ApiClient = pi.withApiToken(token);
  const apiBase: string = api.baseUrl;
  const projects: Array<{ Name: string }> = await api.get('project/active');
  const posted = await api.post('some/endpoint', { any: 'json' });
  await api.post('some/endpoint');
  const store = new projectinsight.TokenStore({ path: projectinsight.TokenStore.defaultPath() });
  const where: string = new projectinsight.TokenStore().location;
  const stored: projectinsight.StoredToken = await pi.completeAndStore(store, pendingId, '123456', { ...complete, account: 'me' });
  const found: projectinsight.StoredToken | null = await store.load(pi.baseUrl, { account: projectinsight.DEFAULT_ACCOUNT });
  if (found !== null && !found.expired) await store.save(found);
  const deleted: boolean = await store.delete(stored.baseUrl, { account: stored.account });
  const again: projectinsight.PendingActivation = await pi.reactivate(store, { account: 'me' });
  const known: projectinsight.ApiClient = pi.storedApiClient(store);
  const until: Date | null = known.expiresAt;
  const timed: projectinsight.ApiClient = pi.withApiToken(token, { expiresAt: stored.expiresAt });
  const storedJson: projectinsight.StoredTokenJson = stored.toJSON();
  console.log(where, deleted, again.id, until, timed.baseUrl, storedJson.clientAgent);
  const codes: ErrorCode[] = [
    ErrorCode.InvalidArgument, ErrorCode.NotFound, ErrorCode.Unauthorized, ErrorCode.NotStarted, ErrorCode.Refused,
    ErrorCode.Http, ErrorCode.Protocol, ErrorCode.Timeout, ErrorCode.Aborted, ErrorCode.Transport,
  ];
  console.log(base, url, expires.getTime(), deviceId, userId, tokenExpires.toISOString(), safe.expiresAt, apiBase, projects[0]?.Name, codes);
  return posted;
}

export function sealAndOpen(client: activeconnect.Client, session: activeconnect.Session, key: Uint8Array): activeconnect.Session {
  const sealed: string = session.seal(key);
  const insecure = new projectinsight.Client({ baseUrl: 'http://10.0.0.2/api', allowInsecureHttp: true });
  void insecure;
  return client.unseal(sealed, key);
}

export function drawCodes(url: string): string {
  const svg: string = qr.svg(url);
  const terminal: string = qr.terminal(url);
  return svg + terminal;
}

export async function newNames(client: activeconnect.Client, session: activeconnect.Session): Promise<void> {
  try {
    await session.refresh();
  } catch (error) {
    if (error instanceof DeviceAuthError) {
      const code: ErrorCode = error.code;
      if (code === ErrorCode.Internal || code === 'RATE_LIMITED' || code === ErrorCode.Expired) console.log(error.status, error.reason);
    }
  }
  const status: activeconnect.Status = session.status;
  const flags: boolean[] = [activeconnect.isAuthenticated(status), activeconnect.isInProgress('pending'), activeconnect.isEnded('closed')];
  const token: string = session.sessionToken;
  logs.level = 'debug';
  const listener = (record: LogRecord): void => console.log(record.level, record.target, record.message);
  logs.on('log', listener).off('log', listener);
  const secure = new activeconnect.Client({
    applicationId: 'a',
    applicationSecret: 's',
    baseUrl: 'https://127.0.0.1:8799',
    allowedOrigins: ['https://status.example'],
    caFile: '/tmp/ca.pem',
    timeoutMs: undefined,
  });
  const pi = new projectinsight.Client({ baseUrl: 'https://127.0.0.1:8799/api', caFile: '/tmp/ca.pem' });
  const made = new DeviceAuthError(ErrorCode.Http, 'HTTP 503', 503);
  console.log(flags, token, secure.baseUrl, pi.baseUrl, made instanceof Error, client.applicationId);
}

// @ts-expect-error: codes are a fixed set
const wrongCode: ErrorCode = 'NOPE';
void wrongCode;
// @ts-expect-error: options are required
new activeconnect.Client();
// @ts-expect-error: unknown methods are refused
void new projectinsight.Client({ baseUrl: 'x' }).completeDeviceActivation('id', 'code', { clientAgent: 'a' }).then((d) => d.token);
// @ts-expect-error: methods are a fixed set
void new activeconnect.Client({ applicationId: 'a', applicationSecret: 's' }).authenticateUser('u', { methods: ['retina'] });
// @ts-expect-error: a Monitor needs a client
new activeconnect.Monitor();
// @ts-expect-error: a shard has an index and a count
new activeconnect.Monitor(new activeconnect.Client({ applicationId: 'a', applicationSecret: 's' }), { shard: { index: 1 } });
const snapshot: MetricsSnapshot = telemetry.metrics();
const calls: number = snapshot.counters.filter((c) => c.name === 'deviceauth.calls').reduce((n, c) => n + c.value, 0);
const buckets: number[] = snapshot.histograms.map((h) => h.bucket_counts.length);
telemetry.enableOpenTelemetry();
telemetry.enableOpenTelemetry({ tracerProvider: { getTracer: (name: string) => ({ name }) } });
telemetry.disableOpenTelemetry();
void [calls, buckets];
// @ts-expect-error: the tracer provider is an object with getTracer
telemetry.enableOpenTelemetry({ tracerProvider: 5 });
