/**
 * The daemon's lifecycle as one state machine: every state, every event and every
 * transition is in `transition()` below. It is pure (no I/O, no timers): the daemon
 * (./daemon.ts) runs each state's work when it is entered and feeds the outcome back in as
 * an event. That keeps the flow readable in one place and testable without a provider.
 *
 *   state          entered when                     work the daemon does on entry
 *   -------------  -------------------------------  ---------------------------------------
 *   starting       process start                    load store, decide
 *   verifying      start/interval with an account   GET verify_credentials
 *   authorized     token stored (and verified)      show @name, schedule next verification
 *   requesting     no account / fresh code needed   POST request_token, store it as pending
 *   awaiting_pin   request token in hand            show URL + countdown, read the keypad
 *   exchanging     a full PIN was typed             POST access_token, store the account,
 *                                                    then verify it
 *   waiting        a retryable failure              countdown, then retry `then`
 *   confirm_reauth keypad asked to re-authorize     ask "#=yes *=no"
 *   stopped        SIGTERM/SIGINT, --once done      nothing more
 */
import type { PinauthError } from '../errors.js';
import type { Account, PendingAuthorization } from '../store/types.js';

export type State =
  | { name: 'starting' }
  | { name: 'verifying'; account: Account; attempt?: number }
  | {
      name: 'authorized';
      account: Account;
      verifyAt: number;
      note?: string;
      /** Verifications that failed in a row (offline): the next retry backs off further. */
      attempt?: number;
    }
  | { name: 'requesting'; reason?: PinauthError | 'fresh' | 'expired' | 'reauth'; attempt?: number }
  | {
      name: 'awaiting_pin';
      pending: PendingAuthorization;
      expiresAt: number;
      triesLeft: number;
      /** Why we are (back) here: shown above the URL. */
      notice?: PinauthError;
      /** This URL replaces one the person may have opened (expired, used up, lost). */
      newCode?: boolean;
    }
  | { name: 'exchanging'; pending: PendingAuthorization; expiresAt: number; triesLeft: number }
  | {
      name: 'waiting';
      error: PinauthError;
      until: number;
      attempt: number;
      /** What to retry when the wait is over. */
      then: RetryTarget;
    }
  | { name: 'confirm_reauth'; account: Account }
  | { name: 'stopped' };

/** What a `waiting` state goes back to. */
export type RetryTarget =
  | { name: 'requesting' }
  | { name: 'verifying'; account: Account }
  | { name: 'awaiting_pin'; pending: PendingAuthorization; expiresAt: number; triesLeft: number };

export type StateName = State['name'];

export type Event =
  | { type: 'loaded'; account: Account | null; pending: PendingAuthorization | null; now: number; notice?: PinauthError }
  | { type: 'verified'; account: Account; now: number }
  | { type: 'verify_failed'; error: PinauthError; now: number }
  | { type: 'requested'; pending: PendingAuthorization; now: number }
  | { type: 'request_failed'; error: PinauthError; now: number }
  | { type: 'pin'; pin: string }
  | { type: 'exchanged'; account: Account; now: number }
  | { type: 'exchange_failed'; error: PinauthError; now: number }
  | { type: 'expired' }
  | { type: 'timer'; now: number; /** Retry now, before `until` (a reloaded config). */ early?: boolean }
  | { type: 'fresh' }
  | { type: 'reauth' }
  | { type: 'confirm'; yes: boolean; now: number }
  | { type: 'logged_out' }
  /** An API call through the signing proxy got a 401 that says the token is dead. */
  | { type: 'api_rejected'; now: number }
  | { type: 'stop' };

export interface MachineSettings {
  pinTries: number;
  requestTokenTtlMs: number;
  verifyIntervalMs: number;
  verifyOnStart: boolean;
  /** The provider's floor between two verifications (0 when not given). */
  minVerifyIntervalMs?: number;
  backoff: { initialMs: number; maxMs: number };
  /** 0..1, injectable so tests are deterministic. */
  random: () => number;
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

/** Whether waiting out this error is pointless until a person changes something. */
export function needsAPerson(error: PinauthError): boolean {
  return NEEDS_A_PERSON.has(error.code);
}

function wait(error: PinauthError, attempt: number, then: RetryTarget, now: number, s: MachineSettings): State {
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
  if (pending) {
    const expiresAt = Date.parse(pending.issuedAt) + s.requestTokenTtlMs;
    if (expiresAt - now > 30_000) return { name: 'awaiting_pin', pending, expiresAt, triesLeft: s.pinTries };
  }
  return { name: 'requesting', ...(pending ? { reason: 'expired' as const } : {}) };
}

export function transition(state: State, event: Event, s: MachineSettings): State {
  if (event.type === 'stop') return { name: 'stopped' };
  if (state.name === 'stopped') return state;
  if (event.type === 'logged_out') return { name: 'requesting' };

  switch (state.name) {
    case 'starting':
      if (event.type === 'loaded') {
        if (event.account) {
          return s.verifyOnStart
            ? { name: 'verifying', account: event.account }
            : { name: 'authorized', account: event.account, verifyAt: event.now + s.verifyIntervalMs };
        }
        const next = pendingOrRequest(event.pending, event.now, s);
        return event.notice && next.name === 'requesting' ? { name: 'requesting', reason: event.notice } : next;
      }
      return state;

    case 'verifying':
      if (event.type === 'verified') return { name: 'authorized', account: event.account, verifyAt: event.now + s.verifyIntervalMs };
      if (event.type === 'verify_failed') {
        if (event.error.code === 'OAUTH_TOKEN_REJECTED') return { name: 'requesting', reason: event.error };
        // Offline or provider trouble does not make a stored token bad: stay authorized
        // and try the verification again later.
        return {
          name: 'authorized',
          account: state.account,
          verifyAt: event.now + backoffMs(attemptOf(state), s, event.error.retryAfterMs),
          note: event.error.short.join(' '),
          attempt: attemptOf(state) + 1,
        };
      }
      return state;

    case 'authorized':
      if (event.type === 'timer' && event.now >= state.verifyAt) {
        return { name: 'verifying', account: state.account, ...(state.attempt ? { attempt: state.attempt } : {}) };
      }
      if (event.type === 'reauth') return { name: 'confirm_reauth', account: state.account };
      // Not taken on the API's word alone (an endpoint may refuse for other reasons): verify
      // the token now, which drops it and asks for a new PIN if it is really dead. At most
      // once per minVerifyInterval, so a client repeating a refused call cannot hammer the
      // verify endpoint.
      if (event.type === 'api_rejected') {
        const verifiedAt = state.account.verifiedAt === null ? 0 : Date.parse(state.account.verifiedAt);
        return event.now - verifiedAt >= (s.minVerifyIntervalMs ?? 0) ? { name: 'verifying', account: state.account } : state;
      }
      return state;

    case 'confirm_reauth':
      if (event.type === 'confirm') {
        return event.yes ? { name: 'requesting', reason: 'reauth' } : { name: 'authorized', account: state.account, verifyAt: event.now + s.verifyIntervalMs };
      }
      return state;

    case 'requesting':
      if (event.type === 'requested') {
        // Why the person has to authorize (again) stays on the URL screen: the "Getting a
        // code" screen that said it may be up for only a few ms (or be skipped by the display).
        const why = typeof state.reason === 'object' ? { notice: state.reason } : {};
        const renewed = replacesShownUrl(state.reason) ? { newCode: true } : {};
        return { name: 'awaiting_pin', pending: event.pending, expiresAt: event.now + s.requestTokenTtlMs, triesLeft: s.pinTries, ...why, ...renewed };
      }
      if (event.type === 'request_failed') return wait(event.error, attemptOf(state), { name: 'requesting' }, event.now, s);
      return state;

    case 'awaiting_pin':
      if (event.type === 'pin') return { name: 'exchanging', pending: state.pending, expiresAt: state.expiresAt, triesLeft: state.triesLeft };
      if (event.type === 'expired') return { name: 'requesting', reason: 'expired' };
      if (event.type === 'fresh') return { name: 'requesting', reason: 'fresh' };
      return state;

    case 'exchanging':
      // A new token is verified at once: it proves the token works and records when.
      if (event.type === 'exchanged') return { name: 'verifying', account: event.account };
      if (event.type === 'exchange_failed') {
        const e = event.error;
        const same = { pending: state.pending, expiresAt: state.expiresAt };
        switch (e.code) {
          case 'OAUTH_WRONG_PIN':
            return state.triesLeft > 1
              ? { name: 'awaiting_pin', ...same, triesLeft: state.triesLeft - 1, notice: e }
              : { name: 'requesting', reason: e };
          // The provider never got (or never processed) the PIN: the request token is
          // still good, the person types the PIN again.
          case 'OAUTH_NETWORK':
          case 'OAUTH_TIMESTAMP':
            return { name: 'awaiting_pin', ...same, triesLeft: state.triesLeft, notice: e };
          case 'OAUTH_RATE_LIMITED':
            return wait(e, 0, { name: 'awaiting_pin', ...same, triesLeft: state.triesLeft }, event.now, s);
          // Everything else may have used the PIN up (a PIN works once): start again
          // with a fresh request token rather than retrying blindly.
          default:
            return NEEDS_A_PERSON.has(e.code) ? wait(e, 0, { name: 'requesting' }, event.now, s) : { name: 'requesting', reason: e };
        }
      }
      return state;

    case 'waiting':
      if (event.type === 'timer' && (event.now >= state.until || event.early)) {
        const t = state.then;
        if (t.name === 'awaiting_pin') {
          return t.expiresAt - event.now < 30_000 ? { name: 'requesting', reason: 'expired' } : { ...t, notice: state.error };
        }
        return { ...t, attempt: state.attempt };
      }
      if (event.type === 'fresh' && state.then.name !== 'verifying') return { name: 'requesting', reason: 'fresh' };
      return state;
  }
}
