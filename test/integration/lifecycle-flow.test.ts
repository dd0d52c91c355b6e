/**
 * Every transition of the daemon's state machine (src/lifecycle/machine.ts), driven for real:
 * the daemon as a child process, the simulator on a PTY, the local provider with its fault
 * switches. Each test asserts what the display shows, what the store holds and how many
 * requests reached the provider.
 *
 * A screen that lasts only as long as a backoff step (~200 ms here) may be drawn over before
 * the device gets it when the machine is busy: what such a state was and why is read from the
 * daemon's "state ..." log lines (their `reason`), and the display is checked on screens that
 * stay until something changes them (the URL with its notice, a wait that does not end).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Stack, type DaemonProcess, type LogLine } from '../helpers/stack.js';

function typeKeys(s: Stack, keys: string): void {
  for (const k of keys) s.sim.pressKey(k);
}

function stateCount(d: DaemonProcess, state: string): number {
  return d.logs.filter((l) => l.msg === `state ${state}`).length;
}

/** The reason logged with each entry into `state`, in order (the error code, or `expired`...). */
function reasons(d: DaemonProcess, state: string): unknown[] {
  return d.logs.filter((l) => l.msg === `state ${state}`).map((l) => l.reason);
}

const wrongPin = (pin: string) => (pin === '1111111' ? '2222222' : '1111111');

describe('state machine, for real (shared stack)', () => {
  let s: Stack;
  before(async () => {
    s = await Stack.start({ profile: 'lcd20x4', keypadMode: 'keys' });
  });
  after(async () => {
    await s.close();
  });
  beforeEach(async () => {
    await s.reset();
  });

  it('expired request token: typing the PIN gets a fresh URL by itself', async () => {
    const d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    const first = await s.pendingToken();
    const pin = s.provider.approve(first);
    assert.equal(s.provider.faults.expireRequestTokens(), 1);
    typeKeys(s, pin);
    await d.waitForState('awaiting_pin', 15_000, 2);
    const second = await s.pendingToken();
    assert.notEqual(second, first, 'a fresh request token');
    await s.waitForText('Code expired'); // the new URL's screen says why, and that it is new
    await s.waitForText('New code: open the');
    const store = await s.readStoreWhen((st) => st.pending?.token === second);
    assert.equal(store.accounts.length, 0);
    typeKeys(s, s.provider.approve(second));
    await d.waitForState('authorized');
    await s.waitForText('@twitterapi');
    assert.equal(s.provider.stats().access_token.requests, 2);
  });

  it(`wrong PIN: another try with the same URL, then after pinTries a fresh request token`, async () => {
    const d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    const first = await s.pendingToken();
    const pin = s.provider.approve(first);
    for (let i = 1; i <= 2; i++) {
      typeKeys(s, wrongPin(pin));
      await d.waitForState('awaiting_pin', 15_000, i + 1);
      await s.waitForText('Wrong PIN');
      assert.equal(await s.pendingToken(), first, `same URL after wrong PIN ${i}`);
    }
    typeKeys(s, wrongPin(pin)); // the third (pinTries = 3): the request token is given up
    await d.waitForState('requesting', 15_000, 2);
    await d.waitForState('awaiting_pin', 15_000, 4);
    const second = await s.pendingToken();
    assert.notEqual(second, first);
    await s.readStoreWhen((st) => st.pending?.token === second);
    assert.equal(s.provider.stats().access_token.requests, 3);
    assert.equal(s.provider.stats().access_token.outcomes.wrong_verifier, 3);
    typeKeys(s, s.provider.approve(second));
    await d.waitForState('authorized');
  });

  it('pinTries wrong PINs while the provider cannot give a new code: the given-up code is cleared, a restart does not resume it', async () => {
    let d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    const first = await s.pendingToken();
    await s.readStoreWhen((st) => st.pending?.token === first);
    const pin = s.provider.approve(first);
    for (let i = 1; i <= 2; i++) {
      typeKeys(s, wrongPin(pin));
      await d.waitForState('awaiting_pin', 15_000, i + 1);
    }
    s.provider.faults.fail5xx = { count: 1000, status: 503, endpoint: 'request_token' };
    typeKeys(s, wrongPin(pin));
    await d.waitForState('waiting');
    await s.readStoreWhen((st) => st.pending === null);
    assert.equal(await d.stop('SIGTERM'), 0);

    s.provider.faults.fail5xx = null;
    d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    assert.notEqual(await s.pendingToken(), first, 'a new code, not the one given up with fresh tries');
    assert.equal(stateCount(d, 'requesting'), 1);
    assert.equal(s.provider.stats().access_token.requests, 3);
  });

  it('wrong PINs typed before a restart still count: the resumed code has only the tries left', async () => {
    let d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    const first = await s.pendingToken();
    const pin = s.provider.approve(first);
    for (let i = 1; i <= 2; i++) {
      typeKeys(s, wrongPin(pin));
      await d.waitForState('awaiting_pin', 15_000, i + 1);
    }
    await s.readStoreWhen((st) => st.pending?.token === first && st.pending.wrongPins === 2);
    assert.equal(await d.stop('SIGTERM'), 0);

    d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    assert.equal(await s.pendingToken(), first, 'the same code is resumed');
    typeKeys(s, wrongPin(pin)); // the third of pinTries = 3
    await d.waitForState('requesting', 15_000, 1);
    await d.waitForState('awaiting_pin', 15_000, 2);
    assert.notEqual(await s.pendingToken(), first, 'given up after pinTries wrong PINs in all, not 3 more');
    assert.equal(s.provider.stats().access_token.outcomes.wrong_verifier, 3);
  });

  it('reused PIN after a keypad re-authorization (D, then #): wrong PIN, old token kept until replaced', async () => {
    const d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    const pin1 = await s.approve();
    typeKeys(s, pin1);
    await d.waitForState('authorized');
    const oldToken = (await s.readStore()).accounts[0].token;

    s.sim.pressKey('D');
    await d.waitForState('confirm_reauth');
    await s.waitForText('Re-authorize?');
    s.sim.pressKey('#');
    await d.waitForState('awaiting_pin', 15_000, 2);
    const second = await s.pendingToken();

    typeKeys(s, pin1); // the PIN of the first authorization, used once already
    await d.waitForState('awaiting_pin', 15_000, 3);
    await s.waitForText('Wrong PIN');
    assert.equal(await s.pendingToken(), second, 'a wrong PIN keeps the URL');
    let store = await s.readStore();
    assert.equal(store.accounts.length, 1, 'the old token stays until a new one is stored');
    assert.equal(store.accounts[0].token, oldToken);

    typeKeys(s, s.provider.approve(second));
    await d.waitForState('authorized', 15_000, 2);
    store = await s.readStore();
    assert.equal(store.accounts.length, 1);
    assert.notEqual(store.accounts[0].token, oldToken, 'replaced by the new token');
  });

  it('token rejected at verification on restart: account removed, back to the PIN flow', async () => {
    let d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    typeKeys(s, await s.approve());
    await d.waitForState('authorized');
    assert.equal(await d.stop('SIGTERM'), 0);

    assert.equal(s.provider.faults.rejectAccessTokens(), 1);
    d = s.spawn(['run']);
    await d.waitForState('verifying');
    await d.waitForState('awaiting_pin');
    assert.deepEqual(reasons(d, 'requesting'), ['OAUTH_TOKEN_REJECTED']);
    assert.deepEqual(reasons(d, 'awaiting_pin'), ['OAUTH_TOKEN_REJECTED']);
    await s.waitForText('Access revoked'); // the URL screen says why until a key is pressed
    await s.readStoreWhen((st) => st.accounts.length === 0); // the dead token is removed
    const st = await s.status();
    assert.equal(st?.account, null);
    assert.equal(st?.state, 'awaiting_pin');
    assert.equal(s.provider.stats().verify_credentials.statuses['401'], 1);
  });

  it('5xx burst on request_token: exactly one request per backoff step, the reason logged each time', async () => {
    s.provider.faults.fail5xx = { count: 3, status: 503, endpoint: 'request_token' };
    const d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    assert.deepEqual(reasons(d, 'waiting'), ['OAUTH_PROVIDER_DOWN', 'OAUTH_PROVIDER_DOWN', 'OAUTH_PROVIDER_DOWN']);
    assert.equal(s.provider.stats().request_token.requests, 4, '3 failures + 1 success, no extra retries');
    await s.waitForText('Open link:');
  });

  it('a provider that stays down: the error and a countdown on the display until it is back', async () => {
    s.provider.faults.fail5xx = { count: 1_000_000, status: 503, endpoint: 'request_token' };
    const d = s.spawn(['run']);
    // Each failed request shows the wait again; one of them reaches the display whatever the load.
    await s.waitForScreen((rows) => /Provider error/.test(rows.join('\n')) && /retry in \d/.test(rows.join('\n')), 15_000, 'the error with its countdown');
    s.provider.faults.fail5xx = null;
    await d.waitForState('awaiting_pin');
    assert.equal(s.provider.stats().request_token.requests, stateCount(d, 'waiting') + 1, 'one request per backoff step');
    await s.waitForText('Open link:');
  });

  it('429 with Retry-After: waits at least that long, counts down, then one request', async () => {
    s.provider.faults.rateLimit = { count: 1, retryAfterSec: 2, endpoint: 'request_token' };
    // Waited for from the start: the screen is up for 2 s, however late this test gets to it.
    const shown = s.waitForScreen((rows) => /Rate limited/.test(rows.join('\n')) && /retry in \d/.test(rows.join('\n')), 15_000, 'Rate limited with its countdown');
    const d = s.spawn(['run']);
    const waiting = await d.waitForState('waiting');
    const at = (l: LogLine) => Date.parse(String(l.time));
    assert.equal(waiting.reason, 'OAUTH_RATE_LIMITED');
    // The log line's time is taken a moment after the 429 arrived, hence the small allowance.
    assert.ok(Date.parse(String(waiting.retryAt)) - at(waiting) >= 1950, `Retry-After honoured: ${JSON.stringify(waiting)}`);
    await shown;
    await d.waitForState('requesting', 15_000, 2);
    const again = d.logs.filter((l) => l.msg === 'state requesting')[1]!;
    assert.ok(at(again) - at(waiting) >= 1950, `no request during the wait: ${JSON.stringify([waiting, again])}`);
    await d.waitForState('awaiting_pin');
    assert.equal(s.provider.stats().request_token.requests, 2);
    assert.equal(s.provider.stats().request_token.statuses['429'], 1);
  });

  it('connection dropped before processing request_token: retried after a backoff', async () => {
    s.provider.faults.drop = { count: 1, when: 'before', endpoint: 'request_token' };
    const d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    assert.deepEqual(reasons(d, 'waiting'), ['OAUTH_NETWORK']);
    assert.equal(s.provider.stats().request_token.outcomes.dropped_before, 1);
    assert.equal(s.provider.stats().request_token.requests, 2);
  });

  for (const when of ['after', 'before'] as const) {
    it(`access_token reply lost (${when} processing): a fresh request token, never a blind retry of the PIN`, async () => {
      const d = s.spawn(['run']);
      await d.waitForState('awaiting_pin');
      const first = await s.pendingToken();
      const pin = s.provider.approve(first);
      s.provider.faults.drop = { count: 1, when, endpoint: 'access_token' };
      typeKeys(s, pin);
      await d.waitForState('awaiting_pin', 15_000, 2);
      assert.equal(s.provider.stats().access_token.requests, 1, 'the PIN was sent once');
      const second = await s.pendingToken();
      assert.notEqual(second, first);
      await s.waitForText('Reply was lost'); // the new URL's screen says why
      const store = await s.readStoreWhen((st) => st.pending?.token === second);
      assert.equal(store.accounts.length, 0);
      typeKeys(s, s.provider.approve(second));
      await d.waitForState('authorized');
      assert.equal(s.provider.stats().access_token.requests, 2);
    });
  }

  it('provider clock 1 h ahead: the client corrects the offset once and the flow completes', async () => {
    s.provider.faults.clockSkewSec = 3600;
    const d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    typeKeys(s, await s.approve());
    await d.waitForState('authorized');
    const skew = d.logs.filter((l) => l.msg === 'clock skew corrected');
    assert.equal(skew.length, 1, 'corrected once');
    assert.equal(skew[0]!.level, 40, 'a warning');
    assert.ok(Math.abs((skew[0]!.offsetMs as number) - 3_600_000) < 5000);
    assert.equal(s.provider.stats().request_token.requests, 2, 'one rejected timestamp, one retry');
    assert.equal(s.provider.stats().access_token.requests, 1, 'the PIN went out once, with the corrected clock');
    // The stored request-token time is the daemon's own clock (what a restart compares with).
    assert.equal(stateCount(d, 'waiting'), 0);
  });

  it('malformed replies (HTML, 10 MiB) from request_token: a clear error screen, then recovery', async () => {
    s.provider.faults.malformed = { count: 1, kind: 'html', endpoint: 'request_token' };
    const d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    assert.deepEqual(reasons(d, 'waiting'), ['OAUTH_MALFORMED_REPLY']);

    s.provider.faults.malformed = { count: 1, kind: 'huge', endpoint: 'request_token' };
    s.sim.pressKey('D'); // a fresh code
    await d.waitForState('awaiting_pin', 15_000, 2);
    assert.deepEqual(reasons(d, 'waiting'), ['OAUTH_MALFORMED_REPLY', 'OAUTH_MALFORMED_REPLY']);
    assert.ok(d.logs.some((l) => (l.err as { code?: string } | undefined)?.code === 'OAUTH_MALFORMED_REPLY' && /maxReplyBytes/.test(String((l.err as { message?: string }).message))), 'the size cap is named in the log');
    assert.equal(s.provider.stats().request_token.requests, 4);
  });

  it('malformed access_token reply: the PIN may be used up, so a fresh request token', async () => {
    const d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    const first = await s.pendingToken();
    const pin = s.provider.approve(first);
    s.provider.faults.malformed = { count: 1, kind: 'html', endpoint: 'access_token' };
    typeKeys(s, pin);
    await d.waitForState('awaiting_pin', 15_000, 2);
    assert.notEqual(await s.pendingToken(), first);
    await s.waitForText('Bad reply from'); // the new URL's screen says why
    assert.equal(s.provider.stats().access_token.requests, 1);
  });
});

describe('periodic verification (verifyIntervalSec 1)', () => {
  it('an access token revoked while running: back to the PIN flow, account removed', async () => {
    const s = await Stack.start({ config: (c) => (c.daemon.verifyIntervalSec = 1) });
    try {
      const d = s.spawn(['run']);
      await d.waitForState('awaiting_pin');
      typeKeys(s, await s.approve());
      await d.waitForState('authorized');
      await d.waitForState('verifying'); // the interval works
      await d.waitForState('authorized', 15_000, 2);
      await s.readStoreWhen((st) => st.accounts[0]?.verifiedAt, 5000); // last verification stored
      s.provider.faults.rejectAccessTokens();
      await d.waitForState('requesting');
      await d.waitForState('awaiting_pin', 15_000, 2);
      assert.deepEqual(reasons(d, 'awaiting_pin'), [undefined, 'OAUTH_TOKEN_REJECTED']);
      await s.waitForText('Access revoked'); // the URL screen says why until a key is pressed
      await s.readStoreWhen((st) => st.accounts.length === 0);
      assert.equal(await d.stop('SIGTERM'), 0);
    } finally {
      await s.close();
    }
  });
});
