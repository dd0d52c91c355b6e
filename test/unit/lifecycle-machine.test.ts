import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffMs, OFFLINE_RETRY_MAX_MS, transition, type Effect, type Event, type MachineSettings, type State, type Step } from '../../src/lifecycle/machine.js';
import { PinauthError, type ErrorCode } from '../../src/errors.js';
import type { Account, PendingAuthorization } from '../../src/store/types.js';
import { DEFAULT_MACHINE_SETTINGS } from '../helpers/machine-settings.js';

const s: MachineSettings = DEFAULT_MACHINE_SETTINGS;
const NOW = Date.parse('2026-11-29T12:00:00Z');
const account: Account = {
  provider: 'twitter',
  consumerKey: 'ck',
  userId: '6253282',
  screenName: 'twitterapi',
  token: 't',
  tokenSecret: 'ts',
  createdAt: '2026-11-01T00:00:00Z',
  verifiedAt: null,
};
const pending = (issuedAt: number): PendingAuthorization => ({
  provider: 'twitter',
  consumerKey: 'ck',
  token: 'rt',
  tokenSecret: 'rts',
  authorizeUrl: 'https://api.x.com/oauth/authorize?oauth_token=rt',
  issuedAt: new Date(issuedAt).toISOString(),
});
const err = (code: ErrorCode, retryAfterMs?: number) => new PinauthError(code, code, retryAfterMs === undefined ? {} : { retryAfterMs });
const awaiting = (triesLeft = 3): State => ({ name: 'awaiting_pin', pending: pending(NOW), expiresAt: NOW + 900_000, triesLeft });
const exchanging = (triesLeft = 3): State => ({ name: 'exchanging', pending: pending(NOW), expiresAt: NOW + 900_000, triesLeft });

const SHOW: Effect = { kind: 'show' };
const timer = (at: number): Effect => ({ kind: 'timer', at });
const next = (st: State, ev: Event, settings: MachineSettings = s): State => transition(st, ev, settings).state;
/** Feed events one after the other; the last step. */
function run(st: State, events: Event[], settings: MachineSettings = s): Step {
  let step: Step = { state: st, effects: [] };
  for (const ev of events) step = transition(step.state, ev, settings);
  return step;
}

describe('start', () => {
  it('verifies a stored account first', () => {
    assert.deepEqual(transition({ name: 'starting' }, { type: 'loaded', account, pending: null, now: NOW }, s), {
      state: { name: 'verifying', account },
      effects: [SHOW, { kind: 'verify', account }, { kind: 'ready' }],
    });
  });
  it('trusts a stored account without verification when verifyOnStart is off', () => {
    const step = transition({ name: 'starting' }, { type: 'loaded', account, pending: null, now: NOW }, { ...s, verifyOnStart: false });
    assert.deepEqual(step, {
      state: { name: 'authorized', account, verifyAt: NOW + s.verifyIntervalMs },
      effects: [SHOW, timer(NOW + s.verifyIntervalMs), { kind: 'ready' }],
    });
  });
  it('resumes a pending request token that is still valid, with the same URL, and does not store it again', () => {
    const p = pending(NOW - 60_000);
    const step = transition({ name: 'starting' }, { type: 'loaded', account: null, pending: p, now: NOW }, s);
    assert.deepEqual(step, {
      state: { name: 'awaiting_pin', pending: p, expiresAt: NOW - 60_000 + 900_000, triesLeft: 3 },
      effects: [SHOW, timer(NOW - 60_000 + 900_000), { kind: 'ready' }],
    });
  });
  it('resumes a pending request token with the tries its stored wrong PINs left (none left: a fresh code)', () => {
    const p = { ...pending(NOW - 60_000), wrongPins: 2 };
    assert.deepEqual(next({ name: 'starting' }, { type: 'loaded', account: null, pending: p, now: NOW }), {
      name: 'awaiting_pin',
      pending: p,
      expiresAt: NOW - 60_000 + 900_000,
      triesLeft: 1,
    });
    const usedUp = next({ name: 'starting' }, { type: 'loaded', account: null, pending: p, now: NOW }, { ...s, pinTries: 2 });
    assert.equal(usedUp.name, 'requesting');
    assert.equal(usedUp.name === 'requesting' && typeof usedUp.reason === 'object' && usedUp.reason.code, 'OAUTH_WRONG_PIN');
  });
  it('fetches a fresh request token when the stored one expired', () => {
    const step = transition({ name: 'starting' }, { type: 'loaded', account: null, pending: pending(NOW - 900_000), now: NOW }, s);
    assert.deepEqual(step, { state: { name: 'requesting', reason: 'expired' }, effects: [SHOW, { kind: 'request_token' }, { kind: 'ready' }] });
  });
  it('fetches a request token with nothing stored', () => {
    assert.deepEqual(transition({ name: 'starting' }, { type: 'loaded', account: null, pending: null, now: NOW }, s), {
      state: { name: 'requesting' },
      effects: [SHOW, { kind: 'request_token' }, { kind: 'ready' }],
    });
  });
});

describe('verification', () => {
  it('a verified token is authorized, its verification recorded, the next one scheduled', () => {
    const verified = { ...account, verifiedAt: new Date(NOW).toISOString(), screenName: 'renamed' };
    assert.deepEqual(transition({ name: 'verifying', account }, { type: 'verified', account: verified, now: NOW }, s), {
      state: { name: 'authorized', account: verified, verifyAt: NOW + s.verifyIntervalMs },
      effects: [SHOW, timer(NOW + s.verifyIntervalMs), { kind: 'mark_verified', account: verified }],
    });
  });
  it('a verification of another token (a stale reply) changes nothing', () => {
    const st: State = { name: 'verifying', account };
    assert.deepEqual(transition(st, { type: 'verified', account: { ...account, token: 'other' }, now: NOW }, s), { state: st, effects: [] });
  });
  it('a rejected token is removed from the store and the PIN flow starts', () => {
    const error = err('OAUTH_TOKEN_REJECTED');
    assert.deepEqual(transition({ name: 'verifying', account }, { type: 'verify_failed', error, now: NOW }, s), {
      state: { name: 'requesting', reason: error },
      effects: [SHOW, { kind: 'remove_account' }, { kind: 'request_token' }],
    });
  });
  it('a network failure keeps the account and verifies again later', () => {
    const step = transition({ name: 'verifying', account }, { type: 'verify_failed', error: err('OAUTH_NETWORK'), now: NOW }, s);
    assert.deepEqual(step, {
      state: { name: 'authorized', account, verifyAt: NOW + 750, note: 'Network error retrying', attempt: 1 },
      effects: [SHOW, timer(NOW + 750)],
    });
  });
  it('verifications that keep failing (offline) back off further each time, and a success resets that', () => {
    let st: State = { name: 'verifying', account };
    const delays: number[] = [];
    let now = NOW;
    for (let i = 0; i < 5; i++) {
      st = next(st, { type: 'verify_failed', error: err('OAUTH_NETWORK'), now });
      assert.equal(st.name, 'authorized');
      if (st.name !== 'authorized') return;
      delays.push(st.verifyAt - now);
      now = st.verifyAt;
      const step = transition(st, { type: 'timer', now }, s);
      assert.deepEqual(step.effects, [SHOW, { kind: 'verify', account }]);
      st = step.state;
      assert.equal(st.name, 'verifying');
    }
    assert.deepEqual(delays, [750, 1500, 3000, 6000, 12_000]);
    const ok = next(st, { type: 'verified', account, now });
    assert.equal(ok.name === 'authorized' && ok.verifyAt - now, s.verifyIntervalMs);
    assert.deepEqual(next(ok, { type: 'timer', now: now + s.verifyIntervalMs }), { name: 'verifying', account });
  });
  it('verifies again when the interval is over, not before', () => {
    const st: State = { name: 'authorized', account, verifyAt: NOW + 1000 };
    assert.deepEqual(transition(st, { type: 'timer', now: NOW }, s), { state: st, effects: [] });
    assert.equal(next(st, { type: 'timer', now: NOW + 1000 }).name, 'verifying');
  });
});

describe('PIN exchange', () => {
  it('the PIN travels in its event to the exchange, and is not kept in the state', () => {
    const st = awaiting();
    assert.deepEqual(transition(st, { type: 'pin', pin: '1234567' }, s), {
      state: exchanging(),
      effects: [SHOW, { kind: 'exchange', pending: pending(NOW), pin: '1234567' }],
    });
  });
  it('an issued token is saved first, verified once the store has it, then authorized', () => {
    const saving = transition(exchanging(), { type: 'exchanged', account, now: NOW }, s);
    assert.deepEqual(saving, { state: { name: 'saving', account }, effects: [SHOW, { kind: 'save_account', account }] });
    assert.deepEqual(transition(saving.state, { type: 'stored', what: 'account' }, s), {
      state: { name: 'verifying', account },
      effects: [SHOW, { kind: 'verify', account }],
    });
  });
  it('a wrong PIN gives another try with the same URL, and the store counts it (a restart keeps the count)', () => {
    const e = err('OAUTH_WRONG_PIN');
    const once = { ...pending(NOW), wrongPins: 1 };
    const first = transition(exchanging(3), { type: 'exchange_failed', error: e, now: NOW }, s);
    assert.deepEqual(first, {
      state: { ...awaiting(2), pending: once, notice: e },
      effects: [SHOW, timer(NOW + 900_000), { kind: 'save_pending', pending: once }],
    });
    const twice = { ...pending(NOW), wrongPins: 2 };
    const second = run(first.state, [{ type: 'pin', pin: '1234567' }, { type: 'exchange_failed', error: e, now: NOW }]);
    assert.deepEqual(second.effects.at(-1), { kind: 'save_pending', pending: twice });
  });
  it('after pinTries wrong PINs the request token is given up and cleared from the store (not resumed after a restart)', () => {
    const e = err('OAUTH_WRONG_PIN');
    assert.deepEqual(transition(exchanging(1), { type: 'exchange_failed', error: e, now: NOW }, s), {
      state: { name: 'requesting', reason: e },
      effects: [SHOW, { kind: 'clear_pending' }, { kind: 'request_token' }],
    });
  });
  it('an expired request token, a lost reply or a provider failure clear the request token and fetch a fresh one (a PIN works once)', () => {
    for (const code of ['OAUTH_REQUEST_TOKEN_INVALID', 'OAUTH_REPLY_LOST', 'OAUTH_PROVIDER_DOWN', 'OAUTH_TIMEOUT', 'OAUTH_MALFORMED_REPLY', 'INTERNAL'] as const) {
      const e = err(code);
      assert.deepEqual(
        transition(exchanging(), { type: 'exchange_failed', error: e, now: NOW }, s),
        { state: { name: 'requesting', reason: e }, effects: [SHOW, { kind: 'clear_pending' }, { kind: 'request_token' }] },
        code,
      );
    }
  });
  it('a connection refused before sending, or a clock the provider refused, keep the request token and its tries', () => {
    for (const code of ['OAUTH_NETWORK', 'OAUTH_TIMESTAMP'] as const) {
      const e = err(code);
      assert.deepEqual(transition(exchanging(2), { type: 'exchange_failed', error: e, now: NOW }, s), {
        state: { ...awaiting(2), notice: e },
        effects: [SHOW, timer(NOW + 900_000)],
      });
    }
  });
  it('rate limiting waits for Retry-After, then asks for the PIN again; nothing is cleared', () => {
    const step = transition(exchanging(), { type: 'exchange_failed', error: err('OAUTH_RATE_LIMITED', 60_000), now: NOW }, s);
    assert.equal(step.state.name, 'waiting');
    assert.ok(step.state.name === 'waiting' && step.state.until === NOW + 60_000);
    assert.deepEqual(step.effects, [SHOW, timer(NOW + 60_000)]);
    const back = transition(step.state, { type: 'timer', now: NOW + 60_000 }, s);
    assert.equal(back.state.name, 'awaiting_pin');
    assert.deepEqual(back.effects, [SHOW, timer(NOW + 900_000)]);
  });
  it('a rate limit that outlasts the code fetches a fresh one', () => {
    const step = run(exchanging(), [
      { type: 'exchange_failed', error: err('OAUTH_RATE_LIMITED', 880_000), now: NOW },
      { type: 'timer', now: NOW + 880_000 },
    ]);
    assert.deepEqual(step, { state: { name: 'requesting', reason: 'expired' }, effects: [SHOW, { kind: 'request_token' }] });
  });
  it('a misconfigured app at the exchange clears the request token and waits at the slowest pace', () => {
    const step = transition(exchanging(), { type: 'exchange_failed', error: err('OAUTH_BAD_CONSUMER'), now: NOW }, s);
    assert.ok(step.state.name === 'waiting' && step.state.then.name === 'requesting');
    const until = step.state.name === 'waiting' ? step.state.until : 0;
    assert.ok(until - NOW >= s.backoff.maxMs / 2);
    assert.deepEqual(step.effects, [SHOW, timer(until), { kind: 'clear_pending' }]);
  });
  it('the code expiring while waiting for a PIN fetches a fresh one (the expired token needs no clearing)', () => {
    assert.deepEqual(transition(awaiting(), { type: 'timer', now: NOW + 899_999 }, s), { state: awaiting(), effects: [] });
    assert.deepEqual(transition(awaiting(), { type: 'timer', now: NOW + 900_000 }, s), {
      state: { name: 'requesting', reason: 'expired', unused: 1 },
      effects: [SHOW, { kind: 'request_token' }],
    });
  });
  it('a keypad request for a fresh code clears the one still valid and fetches one', () => {
    assert.deepEqual(transition(awaiting(), { type: 'fresh' }, s), {
      state: { name: 'requesting', reason: 'fresh' },
      effects: [SHOW, { kind: 'clear_pending' }, { kind: 'request_token' }],
    });
  });
  it('a refused keypad entry is shown above the URL; the code and its timer stay', () => {
    const step = transition(awaiting(), { type: 'pin_invalid', reason: 'too short', mistake: 'length' }, s);
    assert.equal(step.state.name === 'awaiting_pin' && step.state.notice?.code, 'PIN_FORMAT');
    assert.deepEqual(step.state.name === 'awaiting_pin' && step.state.notice?.short, ['PIN: 7 digits', 'type it again']);
    assert.deepEqual(step.effects, [SHOW, timer(NOW + 900_000)]);
  });
  it('a new request token is shown, then stored, and its expiry timed', () => {
    const p = pending(NOW);
    assert.deepEqual(transition({ name: 'requesting' }, { type: 'requested', pending: p, now: NOW }, s), {
      state: awaiting(),
      effects: [SHOW, timer(NOW + 900_000), { kind: 'save_pending', pending: p }],
    });
  });
});

describe('an unattended board stays quiet', () => {
  /** Let `n` codes expire with nobody typing; the step after the last expiry. */
  function expireCodes(n: number, settings = s, from: State = { name: 'requesting' }): Step {
    let step: Step = { state: from, effects: [] };
    let now = NOW;
    for (let i = 0; i < n; i++) {
      step = transition(step.state, { type: 'requested', pending: pending(now), now }, settings);
      now += settings.requestTokenTtlMs;
      step = transition(step.state, { type: 'timer', now }, settings);
    }
    return step;
  }
  it('the codes before the limit are followed by a new one, counted', () => {
    assert.deepEqual(expireCodes(2), { state: { name: 'requesting', reason: 'expired', unused: 2 }, effects: [SHOW, { kind: 'request_token' }] });
  });
  it('after quietAfterUnusedCodes unused codes: no request, no timer, "Press #"; a key fetches one', () => {
    const quiet = expireCodes(3);
    assert.deepEqual(quiet, { state: { name: 'quiet' }, effects: [SHOW] });
    for (const ev of [{ type: 'timer', now: NOW + 10 * 900_000 }, { type: 'reloaded', now: NOW }, { type: 'pin', pin: '1234567' }] as Event[]) {
      assert.deepEqual(transition(quiet.state, ev, s), { state: quiet.state, effects: [] }, ev.type);
    }
    const woken = { state: { name: 'requesting', reason: 'fresh' }, effects: [SHOW, { kind: 'request_token' }] };
    assert.deepEqual(transition(quiet.state, { type: 'keypress' }, s), woken);
    assert.deepEqual(transition(quiet.state, { type: 'fresh' }, s), woken);
  });
  it('a PIN typed (even a wrong one) starts the count again', () => {
    let st = expireCodes(2).state;
    st = next(st, { type: 'requested', pending: pending(NOW), now: NOW });
    st = next(st, { type: 'pin', pin: '1234567' });
    st = next(st, { type: 'exchange_failed', error: err('OAUTH_WRONG_PIN'), now: NOW });
    assert.equal(st.name === 'awaiting_pin' && st.unused, undefined);
    assert.deepEqual(next(st, { type: 'timer', now: NOW + 900_000 }), { name: 'requesting', reason: 'expired', unused: 1 });
  });
  it('a failed request in between does not reset the count', () => {
    let st: State = { name: 'requesting', reason: 'expired', unused: 2 };
    st = next(st, { type: 'request_failed', error: err('OAUTH_NETWORK'), now: NOW });
    st = next(st, { type: 'timer', now: NOW + 1000 });
    assert.deepEqual(st, { name: 'requesting', attempt: 1, unused: 2 });
    assert.deepEqual(expireCodes(1, s, st).state, { name: 'quiet' });
  });
  it('quietAfterUnusedCodes 0: codes are fetched forever', () => {
    assert.equal(expireCodes(50, { ...s, quietAfterUnusedCodes: 0 }).state.name, 'requesting');
  });
});

describe('storage failures', () => {
  const full = new PinauthError('STORE_IO', 'cannot write (ENOSPC)');
  it('an access token the store refuses is kept and written again with capped backoff until the store takes it', () => {
    let st: State = { name: 'saving', account };
    const waits: number[] = [];
    let now = NOW;
    for (let i = 0; i < 12; i++) {
      const failed = transition(st, { type: 'store_failed', what: 'account', error: full, now }, s);
      st = failed.state;
      assert.ok(st.name === 'saving' && st.failure);
      if (st.name !== 'saving' || !st.failure) return;
      assert.equal(st.account, account, 'the token is never dropped');
      assert.deepEqual(failed.effects, [SHOW, timer(st.failure.retryAt)]);
      waits.push(st.failure.retryAt - now);
      now = st.failure.retryAt;
      assert.deepEqual(transition(st, { type: 'timer', now }, s), { state: st, effects: [{ kind: 'save_account', account }] });
    }
    for (let i = 1; i < waits.length; i++) assert.ok(waits[i]! >= waits[i - 1]!, `wait ${i} grows`);
    assert.equal(waits.at(-1), s.backoff.maxMs * 0.75);
    assert.deepEqual(next(st, { type: 'stored', what: 'account' }), { name: 'verifying', account });
  });
  it('a reload writes again at once; a stop writes once more', () => {
    const st = next({ name: 'saving', account }, { type: 'store_failed', what: 'account', error: full, now: NOW });
    assert.deepEqual(transition(st, { type: 'reloaded', now: NOW }, s), { state: st, effects: [{ kind: 'save_account', account }] });
    assert.deepEqual(transition(st, { type: 'stop' }, s), { state: { name: 'stopped' }, effects: [SHOW, { kind: 'save_account', account }] });
  });
  it('a pending request the store refuses: the URL stays, with the reason above it', () => {
    const step = transition(awaiting(), { type: 'store_failed', what: 'pending', error: full, now: NOW }, s);
    assert.deepEqual(step, { state: { ...awaiting(), notice: full }, effects: [SHOW, timer(NOW + 900_000)] });
    assert.deepEqual(transition(step.state, { type: 'store_failed', what: 'pending', error: full, now: NOW }, s), { state: step.state, effects: [] });
  });
});

describe('a store that cannot be opened (read-only or broken disk)', () => {
  const osError = (code: string) => Object.assign(new Error(code), { code });
  const ro = new PinauthError('STORE_PERMISSIONS', 'cannot create the lock file (EROFS)', { cause: osError('EROFS') });
  it('the device is open first, then the store', () => {
    assert.deepEqual(transition({ name: 'starting' }, { type: 'started' }, s), { state: { name: 'starting' }, effects: [SHOW, { kind: 'open_store' }] });
  });
  it('the reason is shown, systemd told the daemon is up, and the store opened again with capped backoff', () => {
    const first = transition({ name: 'starting' }, { type: 'store_failed', what: 'open', error: ro, now: NOW }, s);
    assert.deepEqual(first, {
      state: { name: 'no_store', error: ro, attempt: 1, retryAt: NOW + 750 },
      effects: [SHOW, timer(NOW + 750), { kind: 'ready' }],
    });
    assert.deepEqual(transition(first.state, { type: 'timer', now: NOW + 749 }, s), { state: first.state, effects: [] });
    assert.deepEqual(transition(first.state, { type: 'timer', now: NOW + 750 }, s), { state: first.state, effects: [{ kind: 'open_store' }] });
    assert.deepEqual(transition(first.state, { type: 'reloaded', now: NOW }, s), { state: first.state, effects: [{ kind: 'open_store' }] });
    const second = transition(first.state, { type: 'store_failed', what: 'open', error: ro, now: NOW + 750 }, s);
    assert.deepEqual(second, {
      state: { name: 'no_store', error: ro, attempt: 2, retryAt: NOW + 750 + 1500 },
      effects: [SHOW, timer(NOW + 750 + 1500)],
    });
  });
  it('a disk that is not there yet (EACCES on a missing mount, EIO) is retried too', () => {
    for (const error of [
      new PinauthError('STORE_PERMISSIONS', 'cannot create the state directory /var/lib/pinauthd (EACCES)', { cause: osError('EACCES') }),
      new PinauthError('STORE_IO', 'cannot read /var/lib/pinauthd/tokens.json (EIO)', { cause: osError('EIO') }),
    ]) {
      assert.equal(next({ name: 'starting' }, { type: 'store_failed', what: 'open', error, now: NOW }).name, 'no_store', error.message);
    }
  });
  it('a state directory the store refuses, or another live daemon: shown, then exit with its code (no retry fixes it)', () => {
    const refused = new PinauthError('STORE_PERMISSIONS', "the state directory /home/u/state goes through the symbolic link /home/u/state, owned by uid 65534 (not root or this user): refusing to follow it");
    const locked = new PinauthError('STORE_LOCKED', 'another pinauthd (pid 42) is running with state directory /var/lib/pinauthd');
    for (const from of [{ name: 'starting' }, { name: 'no_store', error: ro, attempt: 2, retryAt: NOW }] as State[]) {
      for (const error of [refused, locked]) {
        assert.deepEqual(transition(from, { type: 'store_failed', what: 'open', error, now: NOW }, s), {
          state: { name: 'stopped', error },
          effects: [SHOW, { kind: 'fail', error }],
        });
      }
    }
    assert.deepEqual([refused, locked].map((e) => e.exitCode), [6, 7]);
  });
  it('once it opens, the flow starts as at a normal start (READY=1 was sent already)', () => {
    const st: State = { name: 'no_store', error: ro, attempt: 3, retryAt: NOW };
    assert.deepEqual(transition(st, { type: 'loaded', account: null, pending: null, now: NOW }, s), {
      state: { name: 'requesting' },
      effects: [SHOW, { kind: 'request_token' }],
    });
  });
});

describe('failures and backoff', () => {
  it('a failed request waits with growing, capped backoff', () => {
    let st: State = { name: 'requesting' };
    const waits: number[] = [];
    for (let i = 0; i < 12; i++) {
      const step = transition(st, { type: 'request_failed', error: err('OAUTH_PROVIDER_DOWN'), now: NOW }, s);
      st = step.state;
      assert.equal(st.name, 'waiting');
      if (st.name !== 'waiting') return;
      assert.deepEqual(step.effects, [SHOW, timer(st.until)]);
      waits.push(st.until - NOW);
      const retry = transition(st, { type: 'timer', now: st.until }, s);
      assert.deepEqual(retry.effects, [SHOW, { kind: 'request_token' }]);
      st = retry.state;
      assert.equal(st.name, 'requesting');
    }
    for (let i = 1; i < waits.length; i++) assert.ok(waits[i]! >= waits[i - 1]!, `wait ${i} grows`);
    assert.ok(waits.at(-1)! <= s.backoff.maxMs);
    assert.ok(waits[0]! >= 500 && waits[0]! <= 1000);
  });
  it('no network yet (no route, no DNS, a refused remote host): "No network yet", retried at most OFFLINE_RETRY_MAX_MS apart', () => {
    const net = (code: string) => new PinauthError('OAUTH_NETWORK', `Network error (${code})`, { cause: Object.assign(new Error(code), { code }) });
    for (const code of ['ENETUNREACH', 'EHOSTUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNREFUSED']) {
      let st: State = { name: 'requesting' };
      for (let i = 0; i < 12; i++) {
        st = next(st, { type: 'request_failed', error: net(code), now: NOW });
        assert.equal(st.name === 'waiting' && st.offline, true, code);
        assert.ok(st.name === 'waiting' && st.until - NOW <= OFFLINE_RETRY_MAX_MS, `${code}: retry ${i} within ${OFFLINE_RETRY_MAX_MS} ms`);
        st = next(st, { type: 'timer', now: NOW + OFFLINE_RETRY_MAX_MS });
        assert.equal(st.name, 'requesting');
      }
    }
    // Refused by a provider on this machine: that provider is down, the network is not.
    const refused = next({ name: 'requesting' }, { type: 'request_failed', error: net('ECONNREFUSED'), now: NOW }, { ...s, providerOnLoopback: true });
    assert.equal(refused.name === 'waiting' && refused.offline, undefined);
    // A reset or a timeout may have reached the provider: not a missing network.
    for (const e of [net('ECONNRESET'), err('OAUTH_TIMEOUT'), err('OAUTH_NETWORK')]) {
      const st = next({ name: 'requesting' }, { type: 'request_failed', error: e, now: NOW });
      assert.equal(st.name === 'waiting' && st.offline, undefined, e.message);
    }
  });
  it('a reload retries at once', () => {
    const st = next({ name: 'requesting' }, { type: 'request_failed', error: err('OAUTH_PROVIDER_DOWN'), now: NOW });
    assert.deepEqual(transition(st, { type: 'reloaded', now: NOW }, s), { state: { name: 'requesting', attempt: 1 }, effects: [SHOW, { kind: 'request_token' }] });
  });
  it('a fresh-code request while waiting to fetch one fetches now; while rate-limited at the exchange it clears the held code', () => {
    const st = next({ name: 'requesting' }, { type: 'request_failed', error: err('OAUTH_PROVIDER_DOWN'), now: NOW });
    assert.deepEqual(transition(st, { type: 'fresh' }, s).effects, [SHOW, { kind: 'request_token' }]);
    const limited = next(exchanging(), { type: 'exchange_failed', error: err('OAUTH_RATE_LIMITED', 60_000), now: NOW });
    assert.deepEqual(transition(limited, { type: 'fresh' }, s).effects, [SHOW, { kind: 'clear_pending' }, { kind: 'request_token' }]);
  });
  it('Retry-After wins when longer than the backoff step', () => {
    assert.equal(backoffMs(0, s, 120_000), 120_000);
    assert.ok(backoffMs(0, s, 10) < 1001);
  });
  it('jitter stays within half a step to a full step', () => {
    assert.equal(backoffMs(3, { ...s, random: () => 0 }), 4000);
    assert.equal(backoffMs(3, { ...s, random: () => 1 }), 8000);
  });
  it('a misconfigured app retries at the slowest pace', () => {
    const st = next({ name: 'requesting' }, { type: 'request_failed', error: err('OAUTH_CALLBACK_SETTINGS'), now: NOW });
    assert.ok(st.name === 'waiting' && st.until - NOW >= s.backoff.maxMs / 2);
  });
});

describe('re-authorization, logout and stop', () => {
  const auth: State = { name: 'authorized', account, verifyAt: NOW + 1000 };
  it('the keypad asks for confirmation; yes starts the PIN flow, no stays authorized', () => {
    const ask = transition(auth, { type: 'reauth' }, s);
    assert.deepEqual(ask, { state: { name: 'confirm_reauth', account }, effects: [SHOW] });
    assert.deepEqual(transition(ask.state, { type: 'confirm', yes: true, now: NOW }, s), {
      state: { name: 'requesting', reason: 'reauth' },
      effects: [SHOW, { kind: 'request_token' }],
    });
    assert.deepEqual(transition(ask.state, { type: 'confirm', yes: false, now: NOW }, s), {
      state: { name: 'authorized', account, verifyAt: NOW + s.verifyIntervalMs },
      effects: [SHOW, timer(NOW + s.verifyIntervalMs)],
    });
  });
  it('`pinauthd reauth` (confirmed) starts the PIN flow at once, also from the question', () => {
    const flow = { state: { name: 'requesting', reason: 'reauth' }, effects: [SHOW, { kind: 'request_token' }] };
    assert.deepEqual(transition(auth, { type: 'reauth', confirmed: true }, s), flow);
    assert.deepEqual(transition({ name: 'confirm_reauth', account }, { type: 'reauth', confirmed: true }, s), flow);
    assert.deepEqual(transition({ name: 'verifying', account }, { type: 'reauth', confirmed: true }, s), flow, 'also while a verification is in flight');
  });
  it('logout removes the account and starts the PIN flow; a code held is cleared too', () => {
    assert.deepEqual(transition(auth, { type: 'logged_out' }, s), {
      state: { name: 'requesting' },
      effects: [SHOW, { kind: 'remove_account' }, { kind: 'request_token' }],
    });
    assert.deepEqual(transition(awaiting(), { type: 'logged_out' }, s).effects, [SHOW, { kind: 'remove_account' }, { kind: 'clear_pending' }, { kind: 'request_token' }]);
    const requesting: State = { name: 'requesting', reason: 'reauth' };
    assert.deepEqual(transition(requesting, { type: 'logged_out' }, s), { state: requesting, effects: [{ kind: 'remove_account' }] });
  });
  it('stop ends every state, and nothing leaves stopped', () => {
    for (const st of [awaiting(), exchanging(), { name: 'requesting' } as State, auth]) {
      assert.deepEqual(transition(st, { type: 'stop' }, s), { state: { name: 'stopped' }, effects: [SHOW] });
    }
    const stopped: State = { name: 'stopped' };
    assert.deepEqual(transition(stopped, { type: 'loaded', account, pending: null, now: NOW }, s), { state: stopped, effects: [] });
  });
  it('a token issued after the stop (the PIN was out) is still saved', () => {
    const stopped: State = { name: 'stopped' };
    assert.deepEqual(transition(stopped, { type: 'exchanged', account, now: NOW }, s), { state: stopped, effects: [{ kind: 'save_account', account }] });
  });
  it('--once: authorized exits and keeps its screen at the stop; no verification is scheduled', () => {
    const once = { ...s, once: true };
    const done = transition({ name: 'verifying', account }, { type: 'verified', account, now: NOW }, once);
    assert.deepEqual(done.effects, [SHOW, { kind: 'mark_verified', account }, { kind: 'exit', account }]);
    assert.deepEqual(transition(done.state, { type: 'stop' }, once), { state: { name: 'stopped' }, effects: [] });
  });
  it('ignores events that do not belong to the state', () => {
    const st = awaiting();
    for (const ev of [
      { type: 'verified', account, now: NOW },
      { type: 'reauth' },
      { type: 'reloaded', now: NOW },
      { type: 'stored', what: 'account' },
      { type: 'requested', pending: pending(NOW), now: NOW },
    ] as Event[]) {
      assert.deepEqual(transition(st, ev, s), { state: st, effects: [] }, ev.type);
    }
  });
});

describe('a person at the terminal (`login --console`)', () => {
  const attended: MachineSettings = { ...s, attended: true, once: true };
  const closed: MachineSettings = { ...attended, inputClosed: true };
  const failed = (st: Step): string | undefined => (st.state.name === 'stopped' ? st.state.error?.code : undefined);
  it('an app the provider refuses ends the run with its error at once, instead of the slow wait', () => {
    const error = err('OAUTH_BAD_CONSUMER');
    assert.deepEqual(transition({ name: 'requesting' }, { type: 'request_failed', error, now: NOW }, attended), {
      state: { name: 'stopped', error },
      effects: [SHOW, { kind: 'fail', error }],
    });
    assert.equal(transition({ name: 'requesting' }, { type: 'request_failed', error, now: NOW }, s).state.name, 'waiting', 'the daemon waits for a fix');
  });
  it('so does one at the exchange, and the used request token is still cleared', () => {
    const error = err('OAUTH_CALLBACK_SETTINGS');
    assert.deepEqual(transition(exchanging(), { type: 'exchange_failed', error, now: NOW }, attended), {
      state: { name: 'stopped', error },
      effects: [SHOW, { kind: 'clear_pending' }, { kind: 'fail', error }],
    });
  });
  it('what a retry may fix still waits and retries (a provider down, no network)', () => {
    assert.equal(next({ name: 'requesting' }, { type: 'request_failed', error: err('OAUTH_PROVIDER_DOWN'), now: NOW }, attended).name, 'waiting');
  });
  it('the end of input while a PIN is wanted ends the run: exit 1, nothing stored, the code kept for the next try', () => {
    for (const st of [awaiting(), { name: 'requesting' } as State, { name: 'quiet' } as State]) {
      const step = transition(st, { type: 'input_closed' }, closed);
      assert.equal(failed(step), 'INPUT_CLOSED', st.name);
      assert.deepEqual(step.effects.map((e) => e.kind), ['show', 'fail'], st.name);
      assert.equal(step.state.name === 'stopped' && step.state.error?.exitCode, 1);
    }
  });
  it('a PIN already out still goes through and stores its token', () => {
    const out = transition(exchanging(), { type: 'input_closed' }, closed);
    assert.deepEqual(out, { state: exchanging(), effects: [] });
    const done = run(exchanging(), [
      { type: 'input_closed' },
      { type: 'exchanged', account, now: NOW },
      { type: 'stored', what: 'account' },
      { type: 'verified', account, now: NOW },
    ], closed);
    assert.deepEqual(done.effects, [SHOW, { kind: 'mark_verified', account }, { kind: 'exit', account }]);
  });
  it('a wrong PIN after the end of input ends the run instead of asking for another', () => {
    const step = run(exchanging(), [{ type: 'input_closed' }, { type: 'exchange_failed', error: err('OAUTH_WRONG_PIN'), now: NOW }], closed);
    assert.equal(failed(step), 'INPUT_CLOSED');
    assert.ok(!step.effects.some((e) => e.kind === 'timer'));
  });
  it('input closed at start: a stored account is still verified; with none, no code is fetched for nobody', () => {
    const starting: State = { name: 'starting' };
    assert.deepEqual(transition(starting, { type: 'input_closed' }, closed), { state: starting, effects: [] });
    assert.equal(next(starting, { type: 'loaded', account, pending: null, now: NOW }, closed).name, 'verifying');
    const none = transition(starting, { type: 'loaded', account: null, pending: null, now: NOW }, closed);
    assert.equal(failed(none), 'INPUT_CLOSED');
    assert.ok(!none.effects.some((e) => e.kind === 'request_token'));
  });
});

describe('why a new PIN flow started stays on the URL screen', () => {
  it('a damaged store reported at start is shown with the first URL', () => {
    const notice = err('STORE_CORRUPT');
    const req = next({ name: 'starting' }, { type: 'loaded', account: null, pending: null, now: NOW, notice });
    assert.deepEqual(req, { name: 'requesting', reason: notice });
    const st = next(req, { type: 'requested', pending: pending(NOW), now: NOW });
    assert.equal(st.name === 'awaiting_pin' && st.notice, notice);
  });
  it('so is a revoked token; a fresh-code request is not', () => {
    const revoked = err('OAUTH_TOKEN_REJECTED');
    const st = next({ name: 'requesting', reason: revoked }, { type: 'requested', pending: pending(NOW), now: NOW });
    assert.equal(st.name === 'awaiting_pin' && st.notice, revoked);
    const fresh = next({ name: 'requesting', reason: 'fresh' }, { type: 'requested', pending: pending(NOW), now: NOW });
    assert.equal(fresh.name === 'awaiting_pin' && fresh.notice, undefined);
  });
});
