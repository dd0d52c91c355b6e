/**
 * The daemon's lifecycle: the one place that ties the device (display + keypad), the OAuth
 * client and the token store together. The flow itself is the pure machine in
 * ./machine.ts; this file runs the work each state needs when it is entered, keeps the
 * timers, and turns results and key presses into events.
 */
import { EventEmitter } from 'node:events';
import { markStartup } from '../startup-trace.js';
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import type { KeypadContext, KeypadEvent, View } from '../device/types.js';
import { PinauthError, toPinauthError } from '../errors.js';
import { invalidateQuietly } from '../oauth/client.js';
import type { OAuthClientApi } from '../oauth/types.js';
import type { Account, PendingAuthorization } from '../store/types.js';
import { transition, type Event, type MachineSettings, type State, type StateName } from './machine.js';
import { pinMistakeLines, viewFor } from './screens.js';

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
  store: StoreLike;
  oauth: OAuthClientApi;
  device: DeviceLike;
  notifier?: NotifierLike;
  /** Exit (resolve `done`) once a token is stored: `login --console`, `demo --once`. */
  once?: boolean;
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
}

export interface DaemonEvents {
  state: [State];
  /** `once` mode finished: a token is stored. */
  done: [Account];
}

export class Daemon extends EventEmitter<DaemonEvents> {
  private cfg: Config;
  private readonly log: Logger;
  private readonly store: StoreLike;
  private oauth: OAuthClientApi;
  private readonly device: DeviceLike;
  private readonly notifier: NotifierLike | undefined;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly exitWhenAuthorized: boolean;

  private current: State = { name: 'starting' };
  private since = Date.now();
  /** Bumped on every state entry: results of work for an older state are dropped. */
  private generation = 0;
  private entered = '';
  private stateTimer: NodeJS.Timeout | undefined;
  private lastError: PinauthError | null = null;
  /** Store writes in flight: stop() lets them finish. */
  private readonly writes = new Set<Promise<unknown>>();
  private stopping: Promise<void> | null = null;
  /** The last frame sent to the display (settles when the device has it). */
  private rendering: Promise<void> = Promise.resolve();

  constructor(opts: DaemonOptions) {
    super();
    this.cfg = opts.config;
    this.log = opts.logger.child({ module: 'daemon' });
    this.store = opts.store;
    this.oauth = opts.oauth;
    this.device = opts.device;
    this.notifier = opts.notifier;
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.exitWhenAuthorized = opts.once ?? false;
    this.device.on('key', (ev: KeypadEvent) => this.onKey(ev));
    this.device.on('connected', () => this.render());
  }

  get state(): State {
    return this.current;
  }

  private get settings(): MachineSettings {
    const p = this.cfg.provider;
    const d = this.cfg.daemon;
    return {
      pinTries: d.pinTries,
      requestTokenTtlMs: p.requestTokenTtlSec * 1000,
      // Never verify more often than the provider allows.
      verifyIntervalMs: Math.max(d.verifyIntervalSec, p.minVerifyIntervalSec) * 1000,
      verifyOnStart: d.verifyOnStart,
      minVerifyIntervalMs: p.minVerifyIntervalSec * 1000,
      backoff: d.backoff,
      random: this.random,
    };
  }

  private get key(): [string, string] {
    return [this.cfg.provider.name, this.cfg.credentials.consumerKey];
  }

  async start(): Promise<void> {
    await this.device.start();
    markStartup('device connected');
    this.render();
    const kept = this.store.recoveredFrom;
    this.dispatch({
      type: 'loaded',
      account: this.store.account(...this.key),
      pending: this.store.pending(...this.key),
      now: this.now(),
      ...(kept ? { notice: new PinauthError('STORE_CORRUPT', `the token store was damaged and kept aside at ${kept}; authorize again`) } : {}),
    });
    this.notifier?.ready(this.statusLine());
    this.notifier?.startWatchdog();
  }

  /** Stop accepting input, let store writes finish, close the device. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.notifier?.stopWatchdog();
      const told = this.notifier?.stopping();
      // `--once` done: "Authorized as @name" is the last thing the person should see.
      this.keepScreen = this.exitWhenAuthorized && this.current.name === 'authorized';
      this.dispatch({ type: 'stop' });
      await Promise.allSettled([...this.writes]);
      // Let "pinauthd stopped" reach the display rather than leave a URL with a frozen
      // countdown on it (bounded: a display that does not answer must not hold the stop).
      await Promise.race([this.rendering, new Promise((r) => setTimeout(r, 300).unref())]);
      await this.device.stop().catch((e: unknown) => this.log.warn({ err: toPinauthError(e).toLog() }, 'device stop failed'));
      await told;
    })();
    return this.stopping;
  }

  /** SIGHUP: a new, already validated config. The device and store keep running. */
  reload(config: Config, oauth: OAuthClientApi): void {
    this.cfg = config;
    this.oauth = oauth;
    this.log.info('config reloaded');
    // Retry now; with the real time, so that a request token still valid is kept.
    if (this.current.name === 'waiting') this.dispatch({ type: 'timer', now: this.now(), early: true });
  }

  /** `pinauthd reauth`: start the PIN flow now; the old token stays until a new one is stored. */
  reauth(): void {
    if (this.current.name === 'authorized') this.dispatch({ type: 'reauth' });
    if (this.current.name === 'confirm_reauth') this.dispatch({ type: 'confirm', yes: true, now: this.now() });
  }

  /**
   * `pinauthd logout` while running: invalidate at the provider where it can, remove the
   * account from the store, and start the PIN flow again.
   */
  async logout(): Promise<{ removed: boolean; invalidated: boolean }> {
    // An exchange in flight may be about to store a token: let it land first, so that the
    // logout removes what is really stored and nothing is stored after it.
    await Promise.allSettled([...this.writes]);
    const account = this.store.account(...this.key);
    if (!account) return { removed: false, invalidated: false };
    const invalidated = await invalidateQuietly(this.oauth, account, this.log);
    await this.write(this.store.removeAccount(...this.key));
    this.log.info({ screenName: account.screenName, invalidated }, 'logged out');
    this.dispatch({ type: 'logged_out' });
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
    const account = this.store.account(...this.key);
    const pending = s.name === 'awaiting_pin' || s.name === 'exchanging' ? s : null;
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
    };
  }

  // ---------------------------------------------------------------------------------------

  private dispatch(event: Event): void {
    const prev = this.current;
    const next = transition(prev, event, this.settings);
    if (next === prev) return;
    this.current = next;
    this.generation++;
    if (next.name !== prev.name) {
      this.since = this.now();
      this.log.info({ from: prev.name, to: next.name, event: event.type }, `state ${next.name}`);
    }
    this.clearTimers();
    this.entered = '';
    this.device.setKeypadContext(this.keypadContext(next));
    this.render();
    this.notifier?.status(this.statusLine());
    this.emit('state', next);
    this.enter(next);
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

  /** The work of a state, run once when it is entered. */
  private enter(s: State): void {
    const gen = this.generation;
    const current = () => gen === this.generation;
    switch (s.name) {
      case 'verifying':
        void this.run(async () => {
          const identity = await this.oauth.verify({ token: s.account.token, secret: s.account.tokenSecret });
          const at = new Date(this.now());
          await this.write(this.store.markVerified(s.account.provider, s.account.consumerKey, at));
          const account = { ...s.account, verifiedAt: at.toISOString(), ...(identity?.screenName ? { screenName: identity.screenName } : {}) };
          if (current()) this.dispatch({ type: 'verified', account, now: this.now() });
        }, (error) => current() && this.dispatch({ type: 'verify_failed', error, now: this.now() }));
        return;

      case 'authorized':
        if (this.exitWhenAuthorized && this.stopping === null) {
          // Let the person see "Authorized as @name" before the port closes.
          void this.rendering.then(() => this.emit('done', s.account));
          return;
        }
        this.schedule(s.verifyAt);
        return;

      case 'requesting':
        if (typeof s.reason === 'object' && s.reason.code === 'OAUTH_TOKEN_REJECTED') {
          // The provider says the stored token is dead (revoked by the user): forget it.
          void this.write(this.store.removeAccount(...this.key));
        }
        void this.run(async () => {
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
          if (!current()) return;
          this.dispatch({ type: 'requested', pending, now: this.now() });
          // Stored while it is shown (a reboot in the middle of the flow then keeps the URL),
          // not before: the person should not wait for an SD card's fsync. A store that
          // cannot take it costs only that.
          void this.write(this.store.savePending(pending)).catch((e: unknown) =>
            this.log.warn({ err: toPinauthError(e).toLog() }, 'could not store the pending authorization; after a restart the PIN flow starts over'),
          );
        }, (error) => current() && this.dispatch({ type: 'request_failed', error, now: this.now() }));
        return;

      case 'awaiting_pin':
        this.timer(s.expiresAt, () => this.dispatch({ type: 'expired' }));
        return;

      case 'exchanging': {
        const pin = this.pendingPin;
        this.pendingPin = '';
        // Tracked like a store write: a SIGTERM while the PIN is out waits for the reply (up
        // to the stop deadline), so a token the provider issued is stored, not lost.
        void this.write(this.run(async () => {
          const at = await this.oauth.exchange({ token: s.pending.token, secret: s.pending.tokenSecret }, pin);
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
          // Persist even if we are stopping: a token the provider issued must not be lost.
          await this.write(this.store.saveAccount(account));
          this.log.info({ userId: account.userId, screenName: account.screenName }, 'authorized');
          if (current()) this.dispatch({ type: 'exchanged', account, now: this.now() });
        }, (error) => {
          if (error.code !== 'OAUTH_WRONG_PIN' && error.code !== 'OAUTH_NETWORK' && error.code !== 'OAUTH_RATE_LIMITED' && error.code !== 'OAUTH_TIMESTAMP') {
            // The request token is used up or unusable: do not offer it again after a restart.
            void this.write(this.store.clearPending());
          }
          if (current()) this.dispatch({ type: 'exchange_failed', error, now: this.now() });
        }));
        return;
      }

      case 'waiting':
        this.lastError = s.error;
        this.timer(s.until, () => this.dispatch({ type: 'timer', now: this.now() }));
        return;

      default:
        return;
    }
  }

  private pendingPin = '';

  private onKey(ev: KeypadEvent): void {
    const s = this.current;
    switch (ev.type) {
      case 'entry':
        if (s.name === 'awaiting_pin') {
          this.entered = ev.entered;
          this.render();
        }
        return;
      case 'pin':
        if (s.name === 'awaiting_pin') {
          this.pendingPin = ev.pin;
          this.dispatch({ type: 'pin', pin: ev.pin });
        }
        return;
      case 'invalid':
        if (s.name === 'awaiting_pin') {
          this.log.info({ reason: ev.reason }, 'keypad entry rejected');
          this.current = { ...s, newCode: false, notice: new PinauthError('PIN_FORMAT', ev.reason, { short: pinMistakeLines(ev.mistake, this.cfg.provider.pin.digits) }) };
          this.entered = '';
          this.render();
        }
        return;
      case 'page':
        void this.device.page(ev.delta).catch(() => undefined);
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

  private run(work: () => Promise<void>, onError: (e: PinauthError) => void): Promise<void> {
    return work().catch((e: unknown) => {
      const err = toPinauthError(e);
      this.lastError = err;
      const level = err.code === 'INTERNAL' ? 'error' : 'warn';
      this.log[level]({ err: err.toLog(), state: this.current.name }, err.message);
      onError(err);
    });
  }

  private write<T>(p: Promise<T>): Promise<T> {
    this.writes.add(p);
    const done = () => this.writes.delete(p);
    p.then(done, done);
    return p;
  }

  private keepScreen = false;

  private render(): void {
    if (this.keepScreen) return;
    const view = viewFor(this.current, { pinDigits: this.cfg.provider.pin.digits, entered: this.entered });
    this.rendering = this.device.show(view).catch((e: unknown) => this.log.debug({ err: toPinauthError(e).toLog() }, 'display write failed'));
  }

  private statusLine(): string {
    const s = this.current;
    if (s.name === 'authorized') return `authorized as @${s.account.screenName}`;
    if (s.name === 'awaiting_pin') return 'waiting for PIN';
    if (s.name === 'waiting') return `retrying: ${s.error.code}`;
    return s.name;
  }

  private timer(at: number, fn: () => void): void {
    // setTimeout holds at most ~24.8 days; a longer wait re-arms itself.
    const ms = Math.min(Math.max(0, at - this.now()), 2 ** 31 - 1);
    this.stateTimer = setTimeout(() => (this.now() >= at ? fn() : this.timer(at, fn)), ms);
  }

  private schedule(at: number): void {
    this.timer(at, () => this.dispatch({ type: 'timer', now: this.now() }));
  }

  private clearTimers(): void {
    clearTimeout(this.stateTimer);
    this.stateTimer = undefined;
  }
}
