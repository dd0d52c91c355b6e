/**
 * The daemon's lifecycle as one state machine: every state, every event and every decision
 * is in `transition()` below, which returns the next state and the effects to carry out.
 * It is pure (no I/O, no timers, no clock): the daemon (./daemon.ts) only executes the
 * effects, in order, and feeds their results back in as events. No other code sets the
 * state.
 *
 *   state          entered when                          effects on entry (besides show)
 *   -------------  ------------------------------------  -----------------------------------
 *   starting       process start; `started` once the     open_store
 *                  device is open
 *   no_store       the store cannot be opened (a read-   timer (capped backoff), then open_store
 *                  only or broken disk): the reason is   again
 *                  on the display, the daemon stays up
 *   verifying      start with an account, verifyAt due,  verify
 *                  a new token stored
 *   authorized     token verified (or trusted at start)  timer verifyAt; exit when --once;
 *                                                         mark_verified after a verification
 *   requesting     no account, a code expired or given   request_token; remove_account when
 *                  up, a fresh code asked for, logout    the provider rejected the token or
 *                                                         at logout; clear_pending when a
 *                                                         still valid request token is given up
 *   awaiting_pin   a request token in hand (or resumed)  timer expiresAt; save_pending when new
 *   exchanging     a full PIN was typed                  exchange (the PIN comes in its event)
 *   saving         the provider issued the access token  save_account; after a failed write:
 *                                                         timer (capped backoff), then again
 *   waiting        a retryable failure                   timer until, then retry `then`
 *   confirm_reauth the keypad asked to re-authorize      (asks "#=yes *=no")
 *   quiet          quietAfterUnusedCodes codes in a row  nothing: no provider traffic until a
 *                  expired with no PIN typed             key is pressed ("Press # for a new code")
 *   stopped        SIGTERM/SIGINT, --once done, a store  nothing; an access token issued
 *                  no retry opens (another live daemon,  meanwhile is still saved; fail (exit
 *                  a refused state directory), or with   with the error's code) after a failure
 *                  a person at the terminal (`attended`):
 *                  an app the provider refuses, or the
 *                  input ended before a PIN was accepted
 *
 *   events: started, loaded, verified, verify_failed, requested, request_failed, pin, pin_invalid,
 *   exchanged, exchange_failed, stored, store_failed, timer, reloaded, fresh, keypress, reauth,
 *   confirm, logged_out, api_rejected, input_closed, stop (the Event type below says what each
 *   carries).
 *
 * `show` (draw the state's screen, set the keypad mode, tell systemd) comes first in the
 * effects of every state change (but the stop after `--once`, which keeps "Authorized as"),
 * and `timer` (the state's one timer; any earlier one is dropped on a state change) next when
 * the state has a deadline. `ready` (READY=1) follows the first state after `starting`.
 * The writes the flow waits on (save_account) and a refused save_pending come back as
 * stored / store_failed; the other writes are only logged when they fail.
 */
import { errnoOf, PinauthError } from '../errors.js';
import type { Account, PendingAuthorization } from '../store/types.js';
import { pinMistakeLines, type PinMistake } from './screens.js';

export type State =
  | { name: 'starting' }
  | { name: 'no_store'; error: PinauthError; attempt: number; retryAt: number }
  | { name: 'verifying'; account: Account; attempt?: number }
  | {
      name: 'authorized';
      account: Account;
      verifyAt: number;
      note?: string;
      /** Verifications that failed in a row (offline): the next retry backs off further. */
      attempt?: number;
    }
  | {
      name: 'requesting';
      reason?: PinauthError | 'fresh' | 'expired' | 'reauth';
      attempt?: number;
      /** Codes in a row that expired with nobody typing a PIN (see `quiet`). */
      unused?: number;
    }
  | {
      name: 'awaiting_pin';
      pending: PendingAuthorization;
      expiresAt: number;
      triesLeft: number;
      /** Why we are (back) here: shown above the URL. */
      notice?: PinauthError;
      /** This URL replaces one the person may have opened (expired, used up, lost). */
      newCode?: boolean;
      /** Codes before this one that expired unused, in a row. */
      unused?: number;
    }
  | { name: 'exchanging'; pending: PendingAuthorization; expiresAt: number; triesLeft: number }
  | {
      name: 'saving';
      /** Issued by the provider, not yet on disk: held here until the store takes it. */
      account: Account;
      /** The last failed write, and when the next one starts. */
      failure?: { error: PinauthError; attempt: number; retryAt: number };
    }
  | {
      name: 'waiting';
      error: PinauthError;
      until: number;
      attempt: number;
      /** What to retry when the wait is over. */
      then: RetryTarget;
      /** The provider cannot be reached yet (no route, no DNS): "No network yet", short retries. */
      offline?: true;
    }
  | { name: 'confirm_reauth'; account: Account }
  /** Nobody used the last codes: no provider traffic until a key is pressed. */
  | { name: 'quiet' }
  /** `error`: stopped by a failure no retry fixes (shown; the process exits with its code). */
  | { name: 'stopped'; error?: PinauthError };

/** What a `waiting` state goes back to. */
export type RetryTarget =
  | { name: 'requesting'; unused?: number }
  | { name: 'verifying'; account: Account }
  | { name: 'awaiting_pin'; pending: PendingAuthorization; expiresAt: number; triesLeft: number };

export type StateName = State['name'];

export type Event =
  /** The device is open: time to open the store. */
  | { type: 'started' }
  /** The store is open: what it holds for this provider and consumer key. */
  | { type: 'loaded'; account: Account | null; pending: PendingAuthorization | null; now: number; notice?: PinauthError }
  /** `account` as verified: verifiedAt set, the screen name as the provider has it now. */
  | { type: 'verified'; account: Account; now: number }
  | { type: 'verify_failed'; error: PinauthError; now: number }
  | { type: 'requested'; pending: PendingAuthorization; now: number }
  | { type: 'request_failed'; error: PinauthError; now: number }
  | { type: 'pin'; pin: string }
  /** The keypad refused an entry (too short, not digits). */
  | { type: 'pin_invalid'; reason: string; mistake: PinMistake }
  | { type: 'exchanged'; account: Account; now: number }
  | { type: 'exchange_failed'; error: PinauthError; now: number }
  /** A store write whose outcome the flow waits on is durable (`save_account`). */
  | { type: 'stored'; what: StoreWrite }
  /** A store write failed, or (`open`) the store could not be opened. */
  | { type: 'store_failed'; what: StoreWrite | 'open'; error: PinauthError; now: number }
  | { type: 'timer'; now: number }
  /** A new config (SIGHUP): a wait is cut short. */
  | { type: 'reloaded'; now: number }
  | { type: 'fresh' }
  /** A key that means nothing in the state (a page key, '#' on an empty entry): wakes `quiet`. */
  | { type: 'keypress' }
  /** From the keypad (asks first), or confirmed by the operator (`pinauthd reauth`). */
  | { type: 'reauth'; confirmed?: boolean }
  | { type: 'confirm'; yes: boolean; now: number }
  | { type: 'logged_out' }
  /** An API call through the signing proxy got a 401 that says the token is dead. */
  | { type: 'api_rejected'; now: number }
  /** The keypad's input ended for good (the console's stdin); `inputClosed` is set from now on. */
  | { type: 'input_closed' }
  | { type: 'stop' };

export type StoreWrite = 'account' | 'pending';

export type Effect =
  /** Draw the state's screen, set the keypad's mode for it, tell systemd (STATUS=). */
  | { kind: 'show' }
  /** The state's one timer: a `timer` event at `at`. */
  | { kind: 'timer'; at: number }
  /** Start-up is done: tell systemd (READY=1) and start the watchdog. */
  | { kind: 'ready' }
  /** Take the instance lock and open the store -> loaded | store_failed (open) */
  | { kind: 'open_store' }
  /** -> verified | verify_failed */
  | { kind: 'verify'; account: Account }
  /** -> requested | request_failed */
  | { kind: 'request_token' }
  /** -> exchanged | exchange_failed */
  | { kind: 'exchange'; pending: PendingAuthorization; pin: string }
  /** -> stored | store_failed; clears the pending request of the same key. */
  | { kind: 'save_account'; account: Account }
  /** -> store_failed only (the flow does not wait for it). */
  | { kind: 'save_pending'; pending: PendingAuthorization }
  /** The writes below are logged when they fail; the flow does not wait for them. */
  | { kind: 'mark_verified'; account: Account }
  | { kind: 'clear_pending' }
  | { kind: 'remove_account' }
  /** `--once`: the token is stored, exit. */
  | { kind: 'exit'; account: Account }
  /** A failure no retry fixes: stop and exit with its code. */
  | { kind: 'fail'; error: PinauthError };

export interface Step {
  state: State;
  effects: Effect[];
}

export interface MachineSettings {
  pinTries: number;
  pinDigits: number;
  requestTokenTtlMs: number;
  verifyIntervalMs: number;
  verifyOnStart: boolean;
  /** The provider's floor between two verifications (0 when not given). */
  minVerifyIntervalMs?: number;
  backoff: { initialMs: number; maxMs: number };
  /** Exit once a token is stored (`login --console`, `demo --once`). */
  once: boolean;
  /** After this many codes in a row expire unused, stop fetching (`quiet`); 0: never. */
  quietAfterUnusedCodes: number;
  /** 0..1, injectable so tests are deterministic. */
  random: () => number;
  /** The provider is on this machine: a refused connection is then not a missing network. */
  providerOnLoopback?: boolean;
  /**
   * A person at a terminal runs the flow and waits for its end (`login --console`): a failure
   * that only a person can fix ends the run with its error, instead of the daemon's slow
   * retry for a fix and a reload.
   */
  attended: boolean;
  /** The keypad's input has ended for good (after `input_closed`): nobody can type any more. */
  inputClosed?: boolean;
}

/**
 * Capped exponential backoff with full jitter ("retry in" never drops below half the step,
 * so the countdown is meaningful), and the provider's Retry-After wins when it is longer.
 */
export function backoffMs(attempt: number, s: MachineSettings, retryAfterMs?: number): number {
  const step = Math.min(s.backoff.maxMs, s.backoff.initialMs * 2 ** Math.min(attempt, 30));
  const jittered = Math.round(step / 2 + (s.random() * step) / 2);
  return Math.max(jittered, Math.min(retryAfterMs ?? 0, 24 * 3600_000));
}

/** Errors that no retry fixes without a person changing something (config, app settings). */
const NEEDS_A_PERSON = new Set(['OAUTH_BAD_CONSUMER', 'OAUTH_CALLBACK_SETTINGS', 'OAUTH_INSECURE', 'OAUTH_REJECTED']);

/**
 * Store failures at open that no retry fixes: another live daemon holds the state directory
 * (exit 7), or the store refuses the directory by its own checks (another user's link or
 * directory, a shared one: STORE_PERMISSIONS with no OS error behind it; exit 6). A read-only
 * or missing disk, an I/O error or an OS permission error (a mount not there yet) is retried.
 */
function storeRefusedForGood(e: PinauthError): boolean {
  return e.code === 'STORE_LOCKED' || (e.code === 'STORE_PERMISSIONS' && errnoOf(e) === undefined);
}

/** Exchange failures after which the request token is still good: the person types the PIN again. */
const KEEPS_REQUEST_TOKEN = new Set(['OAUTH_NETWORK', 'OAUTH_TIMESTAMP']);

const SHOW: Effect = { kind: 'show' };
const CLEAR_PENDING: Effect = { kind: 'clear_pending' };
const REQUEST_TOKEN: Effect = { kind: 'request_token' };

/** Enter `state`: show it, arm its timer, then the work. */
function enter(state: State, s: MachineSettings, ...work: Effect[]): Step {
  const at = deadline(state, s);
  return { state, effects: [SHOW, ...(at === null ? [] : [{ kind: 'timer' as const, at }]), ...work] };
}

/** When the state's timer fires, or null when it has none. */
function deadline(state: State, s: MachineSettings): number | null {
  switch (state.name) {
    case 'authorized':
      return s.once ? null : state.verifyAt;
    case 'awaiting_pin':
      return state.expiresAt;
    case 'waiting':
      return state.until;
    case 'saving':
      return state.failure?.retryAt ?? null;
    case 'no_store':
      return state.retryAt;
    default:
      return null;
  }
}

/** The work that entering a state starts. */
function workOf(state: State, s: MachineSettings): Effect[] {
  switch (state.name) {
    case 'verifying':
      return [{ kind: 'verify', account: state.account }];
    case 'requesting':
      return [REQUEST_TOKEN];
    case 'authorized':
      return s.once ? [{ kind: 'exit', account: state.account }] : [];
    default:
      return [];
  }
}

/**
 * Enter `state` with its own work, after `before` (store writes that must come first), unless
 * the run must end instead (endOfRun): then `before` is still carried out.
 */
function go(state: State, s: MachineSettings, ...before: Effect[]): Step {
  const end = endOfRun(state, s);
  if (end) return fail(end, ...before);
  return enter(state, s, ...before, ...workOf(state, s));
}

/** Stop for a failure no retry fixes: shown, then the process exits with its code. */
function fail(error: PinauthError, ...before: Effect[]): Step {
  return { state: { name: 'stopped', error }, effects: [SHOW, ...before, { kind: 'fail', error }] };
}

/** States that wait for someone at the keypad, or lead only there (a code fetched for a PIN). */
function waitsForInput(state: State): boolean {
  switch (state.name) {
    case 'requesting':
    case 'awaiting_pin':
    case 'quiet':
    case 'confirm_reauth':
      return true;
    case 'waiting':
      return state.then.name !== 'verifying';
    default:
      return false;
  }
}

function inputClosedError(): PinauthError {
  return new PinauthError('INPUT_CLOSED', 'input closed before a PIN was accepted; nothing stored');
}

/**
 * Why entering `state` would leave someone waiting for nothing, so the run ends instead: the
 * input has ended and the state wants a key, or (attended) the state waits for a fix that
 * only a person can make.
 */
function endOfRun(state: State, s: MachineSettings): PinauthError | null {
  if (s.inputClosed && waitsForInput(state)) return inputClosedError();
  if (s.attended && state.name === 'waiting' && NEEDS_A_PERSON.has(state.error.code)) return state.error;
  return null;
}

function stay(state: State): Step {
  return { state, effects: [] };
}

/** System errors that say this machine has no way to the provider yet: no route, no DNS. */
const NO_WAY_THERE = new Set(['ENETUNREACH', 'EHOSTUNREACH', 'EADDRNOTAVAIL', 'ENETDOWN', 'EAI_AGAIN', 'ENOTFOUND', 'EAI_FAIL', 'EAI_NONAME']);

/**
 * Whether a failed call says the network is not up (yet): at boot the unit does not wait for
 * network-online.target, so this is what the first requests meet on a Pi whose Wi-Fi is still
 * joining. A refused connection counts too, unless the provider is on this machine (then the
 * provider is down, not the network).
 */
function isOffline(error: PinauthError, s: MachineSettings): boolean {
  if (error.code !== 'OAUTH_NETWORK') return false;
  const errno = errnoOf(error);
  return errno !== undefined && (NO_WAY_THERE.has(errno) || (errno === 'ECONNREFUSED' && !s.providerOnLoopback));
}

/**
 * While offline, retries stay this close together: nothing reaches the provider then (the call
 * fails before a connection exists), and the code should follow soon after the network comes up.
 */
export const OFFLINE_RETRY_MAX_MS = 10_000;

function wait(error: PinauthError, attempt: number, then: RetryTarget, now: number, s: MachineSettings): State {
  if (isOffline(error, s)) {
    const step = backoffMs(attempt, { ...s, backoff: { ...s.backoff, maxMs: Math.min(s.backoff.maxMs, OFFLINE_RETRY_MAX_MS) } });
    return { name: 'waiting', error, attempt: attempt + 1, then, until: now + step, offline: true };
  }
  // A misconfigured app is retried at the slowest pace: a SIGHUP with a fixed config or a
  // changed app setting at the provider then recovers without a restart.
  const a = NEEDS_A_PERSON.has(error.code) ? 30 : attempt;
  return { name: 'waiting', error, attempt: attempt + 1, then, until: now + backoffMs(a, s, error.retryAfterMs) };
}

/** How many retries in a row led here (backoff grows with it). */
function attemptOf(state: State): number {
  if (state.name === 'waiting') return state.attempt;
  if (state.name === 'requesting' || state.name === 'verifying') return state.attempt ?? 0;
  return 0;
}

/**
 * Whether a fresh request token replaces a URL the person may already have opened: after an
 * expiry or an exchange that used it up, not on a first code, a re-authorization or a fresh
 * code the person asked for (they know), and not after a revoked token or a reset store.
 */
function replacesShownUrl(reason: Extract<State, { name: 'requesting' }>['reason']): boolean {
  if (reason === 'expired') return true;
  return typeof reason === 'object' && reason.code !== 'OAUTH_TOKEN_REJECTED' && reason.code !== 'STORE_CORRUPT';
}

/** Resume a stored request token if it is still valid, else fetch a fresh one. */
function pendingOrRequest(pending: PendingAuthorization | null, now: number, s: MachineSettings): State {
  if (!pending) return { name: 'requesting' };
  const expiresAt = Date.parse(pending.issuedAt) + s.requestTokenTtlMs;
  if (expiresAt - now <= 30_000) return { name: 'requesting', reason: 'expired' };
  // The wrong PINs typed before the restart still count (pinTries may have been lowered since).
  const triesLeft = s.pinTries - (pending.wrongPins ?? 0);
  if (triesLeft < 1) return { name: 'requesting', reason: new PinauthError('OAUTH_WRONG_PIN', 'the stored request token has no PIN tries left') };
  return { name: 'awaiting_pin', pending, expiresAt, triesLeft };
}

/** Does `state` hold a request token that the store would offer again after a restart? */
function holdsRequestToken(state: State): boolean {
  return state.name === 'awaiting_pin' || state.name === 'exchanging' || (state.name === 'waiting' && state.then.name === 'awaiting_pin');
}

/**
 * Give up the request token `state` holds for a fresh one. A token given up while still
 * valid is cleared from the store, or a restart would offer it again (with fresh tries).
 */
function newCode(state: State, reason: PinauthError | 'fresh', s: MachineSettings): Step {
  return go({ name: 'requesting', reason }, s, ...(holdsRequestToken(state) ? [CLEAR_PENDING] : []));
}

export function transition(state: State, event: Event, s: MachineSettings): Step {
  if (state.name === 'stopped') {
    // A PIN that was out when the stop came: the token the provider issued is saved.
    if (event.type === 'exchanged') return { state, effects: [{ kind: 'save_account', account: event.account }] };
    return stay(state);
  }
  if (event.type === 'stop') {
    // `--once` done: "Authorized as @name" is the last thing the person should see.
    const keepScreen = s.once && state.name === 'authorized';
    // A token still only in memory gets one more write before the process ends.
    const last: Effect[] = state.name === 'saving' && state.failure ? [{ kind: 'save_account', account: state.account }] : [];
    return { state: { name: 'stopped' }, effects: [...(keepScreen ? [] : [SHOW]), ...last] };
  }
  if (event.type === 'logged_out') {
    // The operator's `pinauthd logout` (the token is invalidated at the provider already).
    const remove: Effect = { kind: 'remove_account' };
    if (state.name === 'requesting') return { state, effects: [remove] };
    return go({ name: 'requesting' }, s, remove, ...(holdsRequestToken(state) ? [CLEAR_PENDING] : []));
  }
  if (event.type === 'input_closed') {
    // Nobody can type any more: a state that waits for a key ends the run now; a PIN already
    // out (exchanging, saving, verifying) still goes through, and go() ends the run should
    // the flow come back to a state that wants a key (a wrong PIN).
    return waitsForInput(state) ? fail(inputClosedError()) : stay(state);
  }

  switch (state.name) {
    case 'starting':
    case 'no_store':
      if (event.type === 'started' && state.name === 'starting') return { state, effects: [SHOW, { kind: 'open_store' }] };
      if (event.type === 'store_failed' && event.what === 'open') {
        if (storeRefusedForGood(event.error)) return fail(event.error);
        // Shown, not exited on: a restart loop would show nothing. Retried until it opens.
        const attempt = state.name === 'no_store' ? state.attempt + 1 : 1;
        const first = state.name === 'starting';
        const step = enter({ name: 'no_store', error: event.error, attempt, retryAt: event.now + backoffMs(attempt - 1, s) }, s);
        // READY=1 once: the daemon is up, showing why it cannot go on.
        return first ? { state: step.state, effects: [...step.effects, { kind: 'ready' }] } : step;
      }
      if (state.name === 'no_store' && ((event.type === 'timer' && event.now >= state.retryAt) || event.type === 'reloaded')) {
        return { state, effects: [{ kind: 'open_store' }] };
      }
      if (event.type === 'loaded') {
        let next: State;
        if (event.account) {
          next = s.verifyOnStart
            ? { name: 'verifying', account: event.account }
            : { name: 'authorized', account: event.account, verifyAt: event.now + s.verifyIntervalMs };
        } else {
          next = pendingOrRequest(event.pending, event.now, s);
          if (event.notice && next.name === 'requesting') next = { name: 'requesting', reason: event.notice };
        }
        const step = go(next, s);
        return state.name === 'starting' ? { state: step.state, effects: [...step.effects, { kind: 'ready' }] } : step;
      }
      return stay(state);

    case 'verifying':
      // The operator's `pinauthd reauth` is not lost to a verification in flight.
      if (event.type === 'reauth' && event.confirmed) return go({ name: 'requesting', reason: 'reauth' }, s);
      if (event.type === 'verified' && event.account.token === state.account.token) {
        return go({ name: 'authorized', account: event.account, verifyAt: event.now + s.verifyIntervalMs }, s, {
          kind: 'mark_verified',
          account: event.account,
        });
      }
      if (event.type === 'verify_failed') {
        if (event.error.code === 'OAUTH_TOKEN_REJECTED') {
          // The provider says the stored token is dead (revoked by the user): forget it.
          return go({ name: 'requesting', reason: event.error }, s, { kind: 'remove_account' });
        }
        // Offline or provider trouble does not make a stored token bad: stay authorized
        // and try the verification again later.
        return go(
          {
            name: 'authorized',
            account: state.account,
            verifyAt: event.now + backoffMs(attemptOf(state), s, event.error.retryAfterMs),
            note: event.error.short.join(' '),
            attempt: attemptOf(state) + 1,
          },
          s,
        );
      }
      return stay(state);

    case 'authorized':
      if (event.type === 'timer' && event.now >= state.verifyAt) {
        return go({ name: 'verifying', account: state.account, ...(state.attempt ? { attempt: state.attempt } : {}) }, s);
      }
      if (event.type === 'reauth') {
        return event.confirmed ? go({ name: 'requesting', reason: 'reauth' }, s) : go({ name: 'confirm_reauth', account: state.account }, s);
      }
      // Not taken on the API's word alone (an endpoint may refuse for other reasons): verify
      // the token now, which drops it and asks for a new PIN if it is really dead. At most
      // once per minVerifyInterval, so a client repeating a refused call cannot hammer the
      // verify endpoint.
      if (event.type === 'api_rejected') {
        const verifiedAt = state.account.verifiedAt === null ? 0 : Date.parse(state.account.verifiedAt);
        return event.now - verifiedAt >= (s.minVerifyIntervalMs ?? 0) ? go({ name: 'verifying', account: state.account }, s) : stay(state);
      }
      return stay(state);

    case 'confirm_reauth':
      if (event.type === 'confirm') {
        return event.yes
          ? go({ name: 'requesting', reason: 'reauth' }, s)
          : go({ name: 'authorized', account: state.account, verifyAt: event.now + s.verifyIntervalMs }, s);
      }
      if (event.type === 'reauth' && event.confirmed) return go({ name: 'requesting', reason: 'reauth' }, s);
      return stay(state);

    case 'requesting':
      if (event.type === 'requested') {
        // Why the person has to authorize (again) stays on the URL screen: the "Getting a
        // code" screen that said it may be up for only a few ms (or be skipped by the display).
        const why = typeof state.reason === 'object' ? { notice: state.reason } : {};
        const renewed = replacesShownUrl(state.reason) ? { newCode: true } : {};
        const unused = state.unused ? { unused: state.unused } : {};
        const next: State = { name: 'awaiting_pin', pending: event.pending, expiresAt: event.now + s.requestTokenTtlMs, triesLeft: s.pinTries, ...why, ...renewed, ...unused };
        // Stored while it is shown (a reboot in the middle of the flow then keeps the URL),
        // not before: the person should not wait for an SD card's fsync.
        return enter(next, s, { kind: 'save_pending', pending: event.pending });
      }
      if (event.type === 'request_failed') {
        const then = state.unused ? { name: 'requesting' as const, unused: state.unused } : { name: 'requesting' as const };
        return go(wait(event.error, attemptOf(state), then, event.now, s), s);
      }
      return stay(state);

    case 'awaiting_pin':
      if (event.type === 'pin') {
        const next: State = { name: 'exchanging', pending: state.pending, expiresAt: state.expiresAt, triesLeft: state.triesLeft };
        return enter(next, s, { kind: 'exchange', pending: state.pending, pin: event.pin });
      }
      if (event.type === 'pin_invalid') {
        const notice = new PinauthError('PIN_FORMAT', event.reason, { short: pinMistakeLines(event.mistake, s.pinDigits) });
        return enter({ ...state, newCode: false, notice }, s);
      }
      // The timer is the code's expiry. An expired token is not offered after a restart
      // anyway, so it stays in the store until the next one replaces it.
      if (event.type === 'timer' && event.now >= state.expiresAt) {
        // An unattended board does not fetch codes for nobody all day (request_token is
        // rate-limited): after a few unused ones it waits for a key (RFC 8628 3.1's advice).
        const unused = (state.unused ?? 0) + 1;
        if (s.quietAfterUnusedCodes > 0 && unused >= s.quietAfterUnusedCodes) return go({ name: 'quiet' }, s);
        return go({ name: 'requesting', reason: 'expired', unused }, s);
      }
      if (event.type === 'fresh') return newCode(state, 'fresh', s);
      if (event.type === 'store_failed' && event.what === 'pending' && !state.notice && !state.newCode) {
        // The URL works; the person is told it will not survive a restart (a notice already
        // there says more to the person, and the log has this).
        return enter({ ...state, notice: event.error }, s);
      }
      return stay(state);

    case 'exchanging':
      if (event.type === 'exchanged') return enter({ name: 'saving', account: event.account }, s, { kind: 'save_account', account: event.account });
      if (event.type === 'exchange_failed') {
        const e = event.error;
        const same = { pending: state.pending, expiresAt: state.expiresAt };
        if (e.code === 'OAUTH_WRONG_PIN') {
          if (state.triesLeft <= 1) return newCode(state, e, s);
          // Stored with the count, or a restart would offer this code with fresh tries.
          const counted = { ...state.pending, wrongPins: (state.pending.wrongPins ?? 0) + 1 };
          const next: State = { name: 'awaiting_pin', pending: counted, expiresAt: state.expiresAt, triesLeft: state.triesLeft - 1, notice: e };
          return go(next, s, { kind: 'save_pending', pending: counted });
        }
        // The provider never got (or never processed) the PIN: the request token is
        // still good, the person types the PIN again.
        if (KEEPS_REQUEST_TOKEN.has(e.code)) return go({ name: 'awaiting_pin', ...same, triesLeft: state.triesLeft, notice: e }, s);
        if (e.code === 'OAUTH_RATE_LIMITED') return go(wait(e, 0, { name: 'awaiting_pin', ...same, triesLeft: state.triesLeft }, event.now, s), s);
        // Everything else may have used the PIN up (a PIN works once): start again with a
        // fresh request token rather than retrying blindly.
        if (NEEDS_A_PERSON.has(e.code)) return go(wait(e, 0, { name: 'requesting' }, event.now, s), s, CLEAR_PENDING);
        return newCode(state, e, s);
      }
      return stay(state);

    case 'saving':
      // A new token is verified at once: it proves the token works and records when.
      if (event.type === 'stored' && event.what === 'account') return go({ name: 'verifying', account: state.account }, s);
      if (event.type === 'store_failed' && event.what === 'account') {
        // The token is kept here and written again, with capped backoff, until the disk
        // takes it: it is never dropped (the PIN that made it is used up).
        const attempt = (state.failure?.attempt ?? 0) + 1;
        return enter({ ...state, failure: { error: event.error, attempt, retryAt: event.now + backoffMs(attempt - 1, s) } }, s);
      }
      if (event.type === 'timer' && state.failure && event.now >= state.failure.retryAt) {
        return { state, effects: [{ kind: 'save_account', account: state.account }] };
      }
      if (event.type === 'reloaded' && state.failure) return { state, effects: [{ kind: 'save_account', account: state.account }] };
      return stay(state);

    case 'quiet':
      if (event.type === 'keypress' || event.type === 'fresh') return go({ name: 'requesting', reason: 'fresh' }, s);
      return stay(state);

    case 'waiting': {
      const retryNow = (event.type === 'timer' && event.now >= state.until) || event.type === 'reloaded';
      if (retryNow) {
        const t = state.then;
        if (t.name === 'awaiting_pin') {
          return t.expiresAt - event.now < 30_000 ? go({ name: 'requesting', reason: 'expired' }, s) : go({ ...t, notice: state.error }, s);
        }
        return go({ ...t, attempt: state.attempt }, s);
      }
      if (event.type === 'fresh' && state.then.name !== 'verifying') return newCode(state, 'fresh', s);
      return stay(state);
    }
  }
}
