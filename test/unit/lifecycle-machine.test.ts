import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffMs, transition, type MachineSettings, type State } from '../../src/lifecycle/machine.js';
import { PinauthError, type ErrorCode } from '../../src/errors.js';
import type { Account, PendingAuthorization } from '../../src/store/types.js';

const s: MachineSettings = {
  pinTries: 3,
  requestTokenTtlMs: 900_000,
  verifyIntervalMs: 86_400_000,
  verifyOnStart: true,
  backoff: { initialMs: 1000, maxMs: 300_000 },
  random: () => 0.5,
};
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

describe('start', () => {
  it('verifies a stored account first', () => {
    assert.equal(transition({ name: 'starting' }, { type: 'loaded', account, pending: null, now: NOW }, s).name, 'verifying');
  });
  it('trusts a stored account without verification when verifyOnStart is off', () => {
    const next = transition({ name: 'starting' }, { type: 'loaded', account, pending: null, now: NOW }, { ...s, verifyOnStart: false });
    assert.equal(next.name, 'authorized');
  });
  it('resumes a pending request token that is still valid, with the same URL', () => {
    const p = pending(NOW - 60_000);
    const next = transition({ name: 'starting' }, { type: 'loaded', account: null, pending: p, now: NOW }, s);
    assert.equal(next.name, 'awaiting_pin');
    assert.equal(next.name === 'awaiting_pin' && next.pending.authorizeUrl, p.authorizeUrl);
    assert.equal(next.name === 'awaiting_pin' && next.expiresAt, NOW - 60_000 + 900_000);
  });
  it('fetches a fresh request token when the stored one expired', () => {
    const next = transition({ name: 'starting' }, { type: 'loaded', account: null, pending: pending(NOW - 900_000), now: NOW }, s);
    assert.deepEqual(next, { name: 'requesting', reason: 'expired' });
  });
  it('fetches a request token with nothing stored', () => {
    assert.deepEqual(transition({ name: 'starting' }, { type: 'loaded', account: null, pending: null, now: NOW }, s), { name: 'requesting' });
  });
});

describe('verification', () => {
  it('a rejected token goes back to the PIN flow', () => {
    const next = transition({ name: 'verifying', account }, { type: 'verify_failed', error: err('OAUTH_TOKEN_REJECTED'), now: NOW }, s);
    assert.equal(next.name, 'requesting');
  });
  it('a network failure keeps the account and verifies again later', () => {
    const next = transition({ name: 'verifying', account }, { type: 'verify_failed', error: err('OAUTH_NETWORK'), now: NOW }, s);
    assert.equal(next.name, 'authorized');
    assert.ok(next.name === 'authorized' && next.verifyAt > NOW && next.verifyAt < NOW + 10_000);
  });
  it('verifications that keep failing (offline) back off further each time, and a success resets that', () => {
    let st: State = { name: 'verifying', account };
    const delays: number[] = [];
    let now = NOW;
    for (let i = 0; i < 5; i++) {
      st = transition(st, { type: 'verify_failed', error: err('OAUTH_NETWORK'), now }, s);
      assert.equal(st.name, 'authorized');
      if (st.name !== 'authorized') return;
      delays.push(st.verifyAt - now);
      now = st.verifyAt;
      st = transition(st, { type: 'timer', now }, s);
      assert.equal(st.name, 'verifying');
    }
    assert.deepEqual(delays, [750, 1500, 3000, 6000, 12_000]);
    const ok = transition(st, { type: 'verified', account, now }, s);
    assert.equal(ok.name === 'authorized' && ok.verifyAt - now, s.verifyIntervalMs);
    const again = transition(ok, { type: 'timer', now: now + s.verifyIntervalMs }, s);
    assert.deepEqual(again, { name: 'verifying', account });
  });
  it('verifies again when the interval is over, not before', () => {
    const st: State = { name: 'authorized', account, verifyAt: NOW + 1000 };
    assert.equal(transition(st, { type: 'timer', now: NOW }, s), st);
    assert.equal(transition(st, { type: 'timer', now: NOW + 1000 }, s).name, 'verifying');
  });
});

describe('PIN exchange', () => {
  it('a PIN moves to exchanging; the new token is verified at once, then authorized', () => {
    const ex = transition(awaiting(), { type: 'pin', pin: '1234567' }, s);
    assert.equal(ex.name, 'exchanging');
    const ver = transition(ex, { type: 'exchanged', account, now: NOW }, s);
    assert.deepEqual(ver, { name: 'verifying', account });
    assert.equal(transition(ver, { type: 'verified', account, now: NOW }, s).name, 'authorized');
  });
  it('a wrong PIN gives another try with the same URL, then a fresh request token', () => {
    let st = transition(exchanging(3), { type: 'exchange_failed', error: err('OAUTH_WRONG_PIN'), now: NOW }, s);
    assert.equal(st.name, 'awaiting_pin');
    assert.equal(st.name === 'awaiting_pin' && st.triesLeft, 2);
    st = transition(exchanging(1), { type: 'exchange_failed', error: err('OAUTH_WRONG_PIN'), now: NOW }, s);
    assert.equal(st.name, 'requesting');
  });
  it('an expired request token or a lost reply starts again with a fresh one (a PIN works once)', () => {
    for (const code of ['OAUTH_REQUEST_TOKEN_INVALID', 'OAUTH_REPLY_LOST', 'OAUTH_PROVIDER_DOWN', 'OAUTH_TIMEOUT', 'OAUTH_MALFORMED_REPLY'] as const) {
      assert.equal(transition(exchanging(), { type: 'exchange_failed', error: err(code), now: NOW }, s).name, 'requesting', code);
    }
  });
  it('a connection refused before sending keeps the request token', () => {
    assert.equal(transition(exchanging(), { type: 'exchange_failed', error: err('OAUTH_NETWORK'), now: NOW }, s).name, 'awaiting_pin');
  });
  it('rate limiting waits for Retry-After, then asks for the PIN again', () => {
    const st = transition(exchanging(), { type: 'exchange_failed', error: err('OAUTH_RATE_LIMITED', 60_000), now: NOW }, s);
    assert.equal(st.name, 'waiting');
    assert.ok(st.name === 'waiting' && st.until >= NOW + 60_000);
    assert.equal(transition(st, { type: 'timer', now: NOW + 60_000 }, s).name, 'awaiting_pin');
  });
  it('the code expiring while waiting for a PIN fetches a fresh one', () => {
    assert.deepEqual(transition(awaiting(), { type: 'expired' }, s), { name: 'requesting', reason: 'expired' });
  });
  it('a keypad request for a fresh code fetches one', () => {
    assert.deepEqual(transition(awaiting(), { type: 'fresh' }, s), { name: 'requesting', reason: 'fresh' });
  });
});

describe('failures and backoff', () => {
  it('a failed request waits with growing, capped backoff', () => {
    let st: State = { name: 'requesting' };
    const waits: number[] = [];
    for (let i = 0; i < 12; i++) {
      st = transition(st, { type: 'request_failed', error: err('OAUTH_PROVIDER_DOWN'), now: NOW }, s);
      assert.equal(st.name, 'waiting');
      if (st.name !== 'waiting') return;
      waits.push(st.until - NOW);
      st = transition(st, { type: 'timer', now: st.until }, s);
      assert.equal(st.name, 'requesting');
    }
    for (let i = 1; i < waits.length; i++) assert.ok(waits[i]! >= waits[i - 1]!, `wait ${i} grows`);
    assert.ok(waits.at(-1)! <= s.backoff.maxMs);
    assert.ok(waits[0]! >= 500 && waits[0]! <= 1000);
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
    const st = transition({ name: 'requesting' }, { type: 'request_failed', error: err('OAUTH_CALLBACK_SETTINGS'), now: NOW }, s);
    assert.ok(st.name === 'waiting' && st.until - NOW >= s.backoff.maxMs / 2);
  });
});

describe('re-authorization and stop', () => {
  it('asks for confirmation; yes starts the PIN flow, no stays authorized', () => {
    const auth: State = { name: 'authorized', account, verifyAt: NOW + 1000 };
    const ask = transition(auth, { type: 'reauth' }, s);
    assert.equal(ask.name, 'confirm_reauth');
    assert.deepEqual(transition(ask, { type: 'confirm', yes: true, now: NOW }, s), { name: 'requesting', reason: 'reauth' });
    assert.equal(transition(ask, { type: 'confirm', yes: false, now: NOW }, s).name, 'authorized');
  });
  it('stop ends every state, and nothing leaves stopped', () => {
    for (const st of [awaiting(), exchanging(), { name: 'requesting' } as State]) {
      assert.deepEqual(transition(st, { type: 'stop' }, s), { name: 'stopped' });
    }
    const stopped: State = { name: 'stopped' };
    assert.equal(transition(stopped, { type: 'loaded', account, pending: null, now: NOW }, s), stopped);
  });
  it('ignores events that do not belong to the state', () => {
    const st = awaiting();
    assert.equal(transition(st, { type: 'verified', account, now: NOW }, s), st);
    assert.equal(transition(st, { type: 'reauth' }, s), st);
  });
});

describe('why a new PIN flow started stays on the URL screen', () => {
  it('a damaged store reported at start is shown with the first URL', () => {
    const notice = err('STORE_CORRUPT');
    const req = transition({ name: 'starting' }, { type: 'loaded', account: null, pending: null, now: NOW, notice }, s);
    assert.deepEqual(req, { name: 'requesting', reason: notice });
    const st = transition(req, { type: 'requested', pending: pending(NOW), now: NOW }, s);
    assert.equal(st.name === 'awaiting_pin' && st.notice, notice);
  });
  it('so is a revoked token; a fresh-code request is not', () => {
    const revoked = err('OAUTH_TOKEN_REJECTED');
    const st = transition({ name: 'requesting', reason: revoked }, { type: 'requested', pending: pending(NOW), now: NOW }, s);
    assert.equal(st.name === 'awaiting_pin' && st.notice, revoked);
    const fresh = transition({ name: 'requesting', reason: 'fresh' }, { type: 'requested', pending: pending(NOW), now: NOW }, s);
    assert.equal(fresh.name === 'awaiting_pin' && fresh.notice, undefined);
  });
});
