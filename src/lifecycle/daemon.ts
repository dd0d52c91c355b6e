/**
 * The daemon's lifecycle: the one place that ties the device (display + keypad), the OAuth
 * client and the token store together. Every decision is the pure machine's (./machine.ts):
 * this file carries out the effects `transition()` returns, keeps the one state timer, and
 * turns results, key presses and operator commands into events.
 */
import { EventEmitter } from 'node:events';
import { markStartup } from '../startup-trace.js';
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import type { KeypadContext, KeypadEvent, View } from '../device/types.js';
import { PinauthError, toPinauthError } from '../errors.js';
import { invalidateQuietly } from '../oauth/client.js';
import { isLoopbackHost } from '../oauth/url-policy.js';
import type { OAuthClientApi } from '../oauth/types.js';
import type { Account, PendingAuthorization } from '../store/types.js';
import { transition, type Effect, type Event, type MachineSettings, type State, type StateName, type StoreWrite } from './machine.js';
import { viewFor } from './screens.js';

/** What the daemon needs from the device layer (DeviceSession implements it). */
export interface DeviceLike extends EventEmitter {
  start(): Promise<void>;
  stop(): Promise<void>;
  show(view: View): Promise<void>;
  page(delta: number): Promise<void>;
  setKeypadContext(ctx: KeypadContext): void;
  readonly connected: boolean;
}

/** What the daemon needs from the token store (TokenStore implements it). */
export interface StoreLike {
  account(provider: string, consumerKey: string): Account | null;
  pending(provider: string, consumerKey: string): PendingAuthorization | null;
  saveAccount(a: Account): Promise<void>;
  markVerified(provider: string, consumerKey: string, at: Date): Promise<void>;
  removeAccount(provider: string, consumerKey: string): Promise<void>;
  savePending(p: PendingAuthorization): Promise<void>;
  clearPending(): Promise<void>;
  /** Where a damaged store file was kept aside at open, if it was. */
  readonly recoveredFrom?: string | null;
}

export interface NotifierLike {
  ready(status?: string): unknown;
  status(text: string): unknown;
  stopping(): Promise<void>;
  startWatchdog(): void;
  stopWatchdog(): void;
}

export interface DaemonOptions {
  config: Config;
  logger: Logger;
  /**
   * Take the instance lock and open the store. Called once the device is open (so that a
   * store that cannot be opened is explained on the display) and again until it works.
   */
  openStore: () => Promise<StoreLike>;
  oauth: OAuthClientApi;
  device: DeviceLike;
  notifier?: NotifierLike;
  /** Exit (resolve `done`) once a token is stored: `login --console`, `demo --once`. */
  once?: boolean;
  /** A person at a terminal runs the flow (`login --console`): see MachineSettings.attended. */
  attended?: boolean;
  now?: () => number;
  random?: () => number;
}

export interface DaemonStatus {
  state: StateName;
  since: string;
  provider: string;
  account: { userId: string; screenName: string; createdAt: string; verifiedAt: string | null } | null;
  pending: { authorizeUrl: string; expiresAt: string } | null;
  deviceConnected: boolean;
  lastError: { code: string; message: string } | null;
  retryAt: string | null;
  /** ok: the last write to the store went through. `unsaved`: held in memory until it does. */
  storage: { ok: boolean; error: { code: string; message: string } | null; unsaved: 'access token' | null; retryAt: string | null };
}

export interface DaemonEvents {
  state: [State];
  /** `once` mode finished: a token is stored. */
  done: [Account];
  /** Stopped by a failure no retry fixes (its screen is shown): exit with its code. */
  failed: [PinauthError];
}

/**
 * Why the daemon is in `state` and until when, for its "state ..." log line: the journal
 * (and a test) then has what the display showed, however briefly.
 */
function whyIn(state: State): { reason?: string; retryAt?: string } {
  const at = (ms: number) => new Date(ms).toISOString();
  switch (state.name) {
    case 'waiting':
      return { reason: state.error.code, retryAt: at(state.until) };
    case 'no_store':
      return { reason: state.error.code, retryAt: at(state.retryAt) };
    case 'saving':
      return state.failure ? { reason: state.failure.error.code, retryAt: at(state.failure.retryAt) } : {};
    case 'requesting':
      return state.reason === undefined ? {} : { reason: typeof state.reason === 'object' ? state.reason.code : state.reason };
    case 'awaiting_pin':
      return state.notice ? { reason: state.notice.code } : {};
    case 'stopped':
      return state.error ? { reason: state.error.code } : {};
    default:
      return {};
  }
}

export class Daemon extends EventEmitter<DaemonEvents> {
  private cfg!: Config;
  /** The provider is on this machine (set with the config). */
  private providerOnLoopback = false;
  private readonly log: Logger;
  private readonly openStore: () => Promise<StoreLike>;
  /** null until the store is open. */
  private store: StoreLike | null = null;
  private oauth: OAuthClientApi;
  private device: DeviceLike;
  private readonly notifier: NotifierLike | undefined;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly exitWhenAuthorized: boolean;
  private readonly attended: boolean;
  /** The keypad's input ended for good (the console's stdin). */
  private inputClosed = false;

  private current: State = { name: 'starting' };
  /** The state whose screen is on the display (a stop after `--once` keeps "Authorized as"). */
  private shown: State = this.current;
  private since = Date.now();
  /** Digits typed so far, echoed on the PIN screen; cleared on every state change. */
  private entered = '';
  private stateTimer: NodeJS.Timeout | undefined;
  private lastError: PinauthError | null = null;
  /** The last store write that failed, until one succeeds. */
  private storeError: PinauthError | null = null;
  /** Exchanges and store writes in flight: stop() and logout() let them finish. */
  private readonly inFlight = new Set<Promise<unknown>>();
  private stopping: Promise<void> | null = null;
  /** The last frame sent to the display (settles when the device has it). */
  private rendering: Promise<void> = Promise.resolve();

  constructor(opts: DaemonOptions) {
    super();
    this.useConfig(opts.config);
    this.log = opts.logger.child({ module: 'daemon' });
    this.openStore = opts.openStore;
    this.oauth = opts.oauth;
    this.device = opts.device;
    this.notifier = opts.notifier;
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.exitWhenAuthorized = opts.once ?? false;
    this.attended = opts.attended ?? false;
    this.listenTo(this.device);
  }

  private readonly onKeyEvent = (ev: KeypadEvent): void => this.onKey(ev);
  private readonly onConnected = (): void => this.render();
  private readonly onInputClosed = (): void => {
    this.inputClosed = true;
    this.dispatch({ type: 'input_closed' });
  };

  private listenTo(device: DeviceLike): void {
    device.on('key', this.onKeyEvent);
    device.on('connected', this.onConnected);
    device.on('input_closed', this.onInputClosed);
  }

  private useConfig(config: Config): void {
    this.cfg = config;
    this.providerOnLoopback = isLoopbackHost(new URL(config.provider.requestTokenUrl).hostname);
  }

  get state(): State {
    return this.current;
  }

  private get settings(): MachineSettings {
    const p = this.cfg.provider;
    const d = this.cfg.daemon;
    return {
      pinTries: d.pinTries,
      pinDigits: p.pin.digits,
      requestTokenTtlMs: p.requestTokenTtlSec * 1000,
      // Never verify more often than the provider allows.
      verifyIntervalMs: Math.max(d.verifyIntervalSec, p.minVerifyIntervalSec) * 1000,
      verifyOnStart: d.verifyOnStart,
      minVerifyIntervalMs: p.minVerifyIntervalSec * 1000,
      backoff: d.backoff,
      once: this.exitWhenAuthorized,
      quietAfterUnusedCodes: d.quietAfterUnusedCodes,
      random: this.random,
      providerOnLoopback: this.providerOnLoopback,
      attended: this.attended,
      inputClosed: this.inputClosed,
    };
  }

  private get key(): [string, string] {
    return [this.cfg.provider.name, this.cfg.credentials.consumerKey];
  }

  /** Open the device, then the store; resolves once the first state after `starting` is entered. */
  async start(): Promise<void> {
    await this.device.start();
    markStartup('device connected');
    const left = new Promise((resolve) => this.once('state', resolve));
    this.dispatch({ type: 'started' });
    await left;
  }

  /** Stop accepting input, let exchanges and store writes finish, close the device. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.notifier?.stopWatchdog();
      const told = this.notifier?.stopping();
      this.dispatch({ type: 'stop' });
      await this.settle();
      // Let "pinauthd stopped" reach the display rather than leave a URL with a frozen
      // countdown on it (bounded: a display that does not answer must not hold the stop).
      await Promise.race([this.rendering, new Promise((r) => setTimeout(r, 300).unref())]);
      await this.device.stop().catch((e: unknown) => this.log.warn({ err: toPinauthError(e).toLog() }, 'device stop failed'));
      await told;
    })();
    return this.stopping;
  }

  /**
   * SIGHUP: a new, already validated config, its OAuth client, and a new device when the
   * display or keypad settings changed (the old one is closed first: it may be the same port).
   */
  async reload(config: Config, oauth: OAuthClientApi, device?: DeviceLike): Promise<void> {
    this.useConfig(config);
    this.oauth = oauth;
    if (device && this.stopping === null) {
      const old = this.device;
      old.off('key', this.onKeyEvent);
      old.off('connected', this.onConnected);
      old.off('input_closed', this.onInputClosed);
      await old.stop().catch((e: unknown) => this.log.warn({ err: toPinauthError(e).toLog() }, 'device stop failed'));
      this.device = device;
      this.listenTo(device);
      await device.start();
      device.setKeypadContext(this.keypadContext(this.current));
      this.render();
    }
    this.log.info({ device: device !== undefined }, 'config reloaded');
    this.dispatch({ type: 'reloaded', now: this.now() });
  }

  /** `pinauthd reauth`: start the PIN flow now; the old token stays until a new one is stored. */
  reauth(): void {
    this.dispatch({ type: 'reauth', confirmed: true });
  }

  /**
   * `pinauthd logout` while running: invalidate at the provider where it can, remove the
   * account from the store, and start the PIN flow again.
   */
  async logout(): Promise<{ removed: boolean; invalidated: boolean }> {
    // An exchange in flight may be about to store a token: let it land first, so that the
    // logout removes what is really stored and nothing is stored after it.
    await this.settle();
    const account = this.store?.account(...this.key);
    if (!account) return { removed: false, invalidated: false };
    const invalidated = await invalidateQuietly(this.oauth, account, this.log);
    this.dispatch({ type: 'logged_out' });
    await this.settle();
    if (this.store?.account(...this.key)) {
      throw this.storeError ?? new PinauthError('STORE_IO', 'the account could not be removed from the token store');
    }
    this.log.info({ screenName: account.screenName, invalidated }, 'logged out');
    return { removed: true, invalidated };
  }

  /**
   * What the signing proxy signs with: the account while the daemon holds a token it trusts
   * (authorized, verifying it, or asking whether to re-authorize), else why not. The secrets
   * stay in this process.
   */
  apiAccount(): { account: Account; clockOffsetMs: number } | { reason: string } {
    const s = this.current;
    if (s.name === 'authorized' || s.name === 'verifying' || s.name === 'confirm_reauth') return { account: s.account, clockOffsetMs: this.oauth.clockOffsetMs };
    switch (s.name) {
      case 'starting':
        return { reason: 'pinauthd is starting; try again in a moment.' };
      case 'stopped':
        return { reason: 'pinauthd is stopping.' };
      case 'waiting':
        return { reason: `This device is not authorized: pinauthd is retrying after an error (${s.error.code}); see pinauthd status.` };
      case 'no_store':
        return { reason: `pinauthd cannot open its token store (${s.error.code}); see its log. It retries by itself.` };
      default:
        return { reason: 'This device is not authorized: someone has to open the URL on its display and type the PIN.' };
    }
  }

  /** The proxy saw a 401 that says the token is dead: the machine decides what to do. */
  apiRejected(): void {
    this.dispatch({ type: 'api_rejected', now: this.now() });
  }

  status(): DaemonStatus {
    const s = this.current;
    const unsaved = s.name === 'saving' ? s.account : null;
    const account = unsaved ?? this.store?.account(...this.key) ?? null;
    const pending = s.name === 'awaiting_pin' || s.name === 'exchanging' ? s : null;
    const failure = s.name === 'saving' ? s.failure : s.name === 'no_store' ? { error: s.error, retryAt: s.retryAt } : undefined;
    const storeError = failure?.error ?? this.storeError;
    return {
      state: s.name,
      since: new Date(this.since).toISOString(),
      provider: this.cfg.provider.name,
      account: account
        ? { userId: account.userId, screenName: account.screenName, createdAt: account.createdAt, verifiedAt: account.verifiedAt }
        : null,
      pending: pending ? { authorizeUrl: pending.pending.authorizeUrl, expiresAt: new Date(pending.expiresAt).toISOString() } : null,
      deviceConnected: this.device.connected,
      lastError: this.lastError ? { code: this.lastError.code, message: this.lastError.message } : null,
      retryAt: s.name === 'waiting' ? new Date(s.until).toISOString() : null,
      storage: {
        ok: storeError === null,
        error: storeError ? { code: storeError.code, message: storeError.message } : null,
        unsaved: s.name === 'saving' && failure ? 'access token' : null,
        retryAt: failure ? new Date(failure.retryAt).toISOString() : null,
      },
    };
  }

  // ---------------------------------------------------------------------------------------

  private dispatch(event: Event): void {
    const prev = this.current;
    const { state: next, effects } = transition(prev, event, this.settings);
    if (next !== prev) {
      this.current = next;
      if (next.name !== prev.name) {
        this.since = this.now();
        this.log.info({ from: prev.name, to: next.name, event: event.type, ...whyIn(next) }, `state ${next.name}`);
      }
      clearTimeout(this.stateTimer);
      this.stateTimer = undefined;
      this.entered = '';
    }
    for (const effect of effects) this.execute(effect);
    if (next !== prev) this.emit('state', next);
  }

  /** Carry out one effect; results come back through dispatch(). */
  private execute(effect: Effect): void {
    switch (effect.kind) {
      case 'show':
        this.shown = this.current;
        this.device.setKeypadContext(this.keypadContext(this.current));
        this.render();
        this.notifier?.status(this.statusLine());
        return;
      case 'timer':
        this.timer(effect.at);
        return;
      case 'ready':
        this.notifier?.ready(this.statusLine());
        this.notifier?.startWatchdog();
        return;
      case 'open_store':
        void this.open();
        return;
      case 'verify':
        void this.verify(effect.account);
        return;
      case 'request_token':
        void this.requestToken();
        return;
      case 'exchange':
        // Tracked: a SIGTERM while the PIN is out waits for the reply (up to the stop
        // deadline), so a token the provider issued is stored, not lost.
        this.track(this.exchange(effect.pending, effect.pin));
        return;
      case 'save_account':
        this.write((st) => st.saveAccount(effect.account), 'store the access token', 'account', () =>
          this.log.info({ userId: effect.account.userId, screenName: effect.account.screenName }, 'authorized'),
        );
        return;
      case 'save_pending':
        this.write((st) => st.savePending(effect.pending), 'store the pending authorization', 'pending');
        return;
      case 'mark_verified':
        this.write((st) => st.markVerified(effect.account.provider, effect.account.consumerKey, new Date(effect.account.verifiedAt ?? this.now())), 'record the verification');
        return;
      case 'clear_pending':
        this.write((st) => st.clearPending(), 'clear the pending authorization');
        return;
      case 'remove_account':
        this.write((st) => st.removeAccount(...this.key), 'remove the account');
        return;
      case 'exit':
        // Let the person see "Authorized as @name" before the port closes.
        void this.rendering.then(() => this.emit('done', effect.account));
        return;
      case 'fail':
        void this.rendering.then(() => this.emit('failed', effect.error));
        return;
    }
  }

  private async open(): Promise<void> {
    let store: StoreLike;
    try {
      store = await this.openStore();
    } catch (e) {
      const error = toPinauthError(e);
      this.storeError = error;
      this.lastError = error;
      this.log.error({ err: error.toLog() }, 'cannot open the token store (the display says why)');
      this.dispatch({ type: 'store_failed', what: 'open', error, now: this.now() });
      return;
    }
    this.store = store;
    this.storeError = null;
    markStartup('token store open');
    const kept = store.recoveredFrom;
    this.dispatch({
      type: 'loaded',
      account: store.account(...this.key),
      pending: store.pending(...this.key),
      now: this.now(),
      ...(kept ? { notice: new PinauthError('STORE_CORRUPT', `the token store was damaged and kept aside at ${kept}; authorize again`) } : {}),
    });
  }

  private verify(account: Account): Promise<void> {
    return this.run(async () => {
      const identity = await this.oauth.verify({ token: account.token, secret: account.tokenSecret });
      const now = this.now();
      const verified = { ...account, verifiedAt: new Date(now).toISOString(), ...(identity?.screenName ? { screenName: identity.screenName } : {}) };
      this.dispatch({ type: 'verified', account: verified, now });
    }, (error) => this.dispatch({ type: 'verify_failed', error, now: this.now() }));
  }

  private requestToken(): Promise<void> {
    return this.run(async () => {
      const rt = await this.oauth.requestToken();
      const pending: PendingAuthorization = {
        provider: this.cfg.provider.name,
        consumerKey: this.cfg.credentials.consumerKey,
        token: rt.token,
        tokenSecret: rt.secret,
        authorizeUrl: rt.authorizeUrl,
        // The daemon's own clock: after a restart the machine compares it with the local
        // clock (rt.issuedAt is in the provider's time when a skew was corrected).
        issuedAt: new Date(this.now()).toISOString(),
      };
      this.dispatch({ type: 'requested', pending, now: this.now() });
    }, (error) => this.dispatch({ type: 'request_failed', error, now: this.now() }));
  }

  private exchange(pending: PendingAuthorization, pin: string): Promise<void> {
    return this.run(async () => {
      const at = await this.oauth.exchange({ token: pending.token, secret: pending.tokenSecret }, pin);
      const account: Account = {
        provider: this.cfg.provider.name,
        consumerKey: this.cfg.credentials.consumerKey,
        userId: at.userId,
        screenName: at.screenName,
        token: at.token,
        tokenSecret: at.secret,
        createdAt: new Date(this.now()).toISOString(),
        verifiedAt: null,
        ...(Object.keys(at.extra).length ? { extra: at.extra } : {}),
      };
      this.dispatch({ type: 'exchanged', account, now: this.now() });
    }, (error) => this.dispatch({ type: 'exchange_failed', error, now: this.now() }));
  }

  /**
   * A store write: tracked (stop() waits for it), logged when it fails, and for the writes
   * the machine waits on (`what`), its outcome fed back as an event.
   */
  private write(job: (store: StoreLike) => Promise<void>, action: string, what?: StoreWrite, onStored?: () => void): void {
    // The machine writes only after `loaded`, so the store is open here.
    const p = this.store ? job(this.store) : Promise.reject(new PinauthError('INTERNAL', 'the token store is not open'));
    this.track(
      p.then(
        () => {
          this.storeError = null;
          onStored?.();
          if (what) this.dispatch({ type: 'stored', what });
        },
        (e: unknown) => {
          const error = toPinauthError(e);
          this.storeError = error;
          this.lastError = error;
          const level = what === 'account' ? 'error' : 'warn';
          const outcome =
            what === 'account'
              ? 'the access token is kept in memory and written again until the store takes it'
              : what === 'pending'
                ? 'after a restart the PIN flow starts over'
                : 'carrying on';
          this.log[level]({ err: error.toLog() }, `could not ${action}; ${outcome}`);
          if (what) this.dispatch({ type: 'store_failed', what, error, now: this.now() });
        },
      ),
    );
  }

  private onKey(ev: KeypadEvent): void {
    switch (ev.type) {
      case 'entry':
        if (this.current.name === 'awaiting_pin') {
          this.entered = ev.entered;
          this.render();
        }
        return;
      case 'pin':
        this.dispatch({ type: 'pin', pin: ev.pin });
        return;
      case 'invalid':
        this.log.info({ reason: ev.reason }, 'keypad entry rejected');
        this.dispatch({ type: 'pin_invalid', reason: ev.reason, mistake: ev.mistake });
        return;
      case 'page':
        void this.device.page(ev.delta).catch(() => undefined);
        this.dispatch({ type: 'keypress' });
        return;
      case 'fresh':
        this.dispatch({ type: 'fresh' });
        return;
      case 'reauth':
        this.dispatch({ type: 'reauth' });
        return;
      case 'confirm':
        this.dispatch({ type: 'confirm', yes: ev.yes, now: this.now() });
        return;
    }
  }

  private keypadContext(s: State): KeypadContext {
    switch (s.name) {
      case 'awaiting_pin':
        return { kind: 'pin', digits: this.cfg.provider.pin.digits };
      case 'authorized':
        return { kind: 'authorized' };
      case 'confirm_reauth':
        return { kind: 'confirm' };
      default:
        return { kind: 'idle' };
    }
  }

  private run(work: () => Promise<void>, onError: (e: PinauthError) => void): Promise<void> {
    return work().catch((e: unknown) => {
      const err = toPinauthError(e);
      this.lastError = err;
      const level = err.code === 'INTERNAL' ? 'error' : 'warn';
      this.log[level]({ err: err.toLog(), state: this.current.name }, err.message);
      onError(err);
    });
  }

  private track(p: Promise<unknown>): void {
    this.inFlight.add(p);
    const done = () => this.inFlight.delete(p);
    p.then(done, done);
  }

  /** Resolves when nothing tracked is in flight, including work that finishing work started. */
  private async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private render(): void {
    const view = viewFor(this.shown, { pinDigits: this.cfg.provider.pin.digits, entered: this.entered });
    this.rendering = this.device.show(view).catch((e: unknown) => this.log.debug({ err: toPinauthError(e).toLog() }, 'display write failed'));
  }

  private statusLine(): string {
    const s = this.current;
    if (s.name === 'authorized') return `authorized as @${s.account.screenName}`;
    if (s.name === 'awaiting_pin') return 'waiting for PIN';
    if (s.name === 'waiting') return s.offline ? 'waiting for network' : `retrying: ${s.error.code}`;
    if (s.name === 'quiet') return 'quiet: no code until a key is pressed';
    if (s.name === 'saving' && s.failure) return `cannot store the access token (${s.failure.error.code}); kept in memory, retrying`;
    return s.name;
  }

  private timer(at: number): void {
    // setTimeout holds at most ~24.8 days; a longer wait re-arms itself.
    const ms = Math.min(Math.max(0, at - this.now()), 2 ** 31 - 1);
    this.stateTimer = setTimeout(() => (this.now() >= at ? this.dispatch({ type: 'timer', now: this.now() }) : this.timer(at)), ms);
  }
}
