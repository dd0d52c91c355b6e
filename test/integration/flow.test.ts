/**
 * The whole PIN flow, end to end: the real daemon process, the simulator on a real PTY
 * (or TCP), the local provider over HTTP on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DEMO_SECRET, Stack, stacksForThisFile } from '../helpers/stack.js';

const stack = stacksForThisFile();

async function authorizeWithKeys(s: Stack, pin: string): Promise<void> {
  for (const k of pin) s.sim.pressKey(k);
}

describe('PIN flow over a real PTY', () => {
  it('keys mode on a 20x4 LCD: URL, PIN echo, token stored 0600, status shows the account', async () => {
    const s = await stack({ profile: 'lcd20x4', keypadMode: 'keys' });
    const d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    await s.waitForText('Open link:');
    const pin = await s.approve();
    s.sim.pressKey(pin[0]!);
    s.sim.pressKey(pin[1]!);
    await s.waitForText(`PIN: ${pin.slice(0, 2)}`);
    await authorizeWithKeys(s, pin.slice(2));
    await d.waitForState('authorized');
    await s.waitForText('@twitterapi');

    const store = await s.readStore();
    assert.equal(store.accounts.length, 1);
    assert.equal(store.accounts[0].screenName, 'twitterapi');
    assert.equal(store.accounts[0].userId, '6253282');
    assert.ok(store.accounts[0].token.length > 10);
    assert.equal(store.pending, null);
    assert.ok(!JSON.stringify(store).includes(DEMO_SECRET), 'consumer secret never stored');
    assert.equal((await stat(s.storePath)).mode & 0o777, 0o600);
    assert.equal((await stat(path.dirname(s.storePath))).mode & 0o777, 0o700);

    const st = await s.cli(['status', '--json']);
    assert.equal(st.code, 0);
    const status = JSON.parse(st.stdout);
    assert.equal(status.running, true);
    assert.equal(status.state, 'authorized');
    assert.equal(status.account.screenName, 'twitterapi');
    assert.equal(status.deviceConnected, true);

    assert.equal(await d.stop('SIGTERM'), 0);
  });

  it('line mode on a 16x2 LCD: a whole PIN line', async () => {
    const s = await stack({ profile: 'lcd16x2', keypadMode: 'line' });
    const d = s.spawn(['run', '--once']);
    await d.waitForState('awaiting_pin');
    const pin = await s.approve();
    s.sim.typeLine(pin);
    assert.equal(await d.exited, 0, d.output.slice(-2000));
    assert.equal((await s.readStore()).accounts[0].screenName, 'twitterapi');
  });

  it('a wrong PIN shows a message and allows another try with the same URL', async () => {
    const s = await stack({ profile: 'lcd20x4', keypadMode: 'keys' });
    const d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    const token = await s.pendingToken();
    const pin = s.provider.approve(token);
    const wrong = pin === '1111111' ? '2222222' : '1111111';
    await authorizeWithKeys(s, wrong);
    await d.waitForState('awaiting_pin', 15_000, 2);
    await s.waitForText('Wrong PIN');
    assert.equal(await s.pendingToken(), token, 'same request token after a wrong PIN');
    await authorizeWithKeys(s, pin);
    await d.waitForState('authorized');
  });

  it('the text driver: a plain serial text display and a line keypad', async () => {
    const s = await stack({ profile: 'text', keypadMode: 'line' });
    const d = s.spawn(['run', '--once']);
    await d.waitForState('awaiting_pin');
    const pin = await s.approve();
    s.sim.typeLine(pin);
    assert.equal(await d.exited, 0, d.output.slice(-2000));
  });
});

describe('PIN flow over TCP (ser2net-style)', () => {
  it('keys mode on a 16x2 LCD', async () => {
    const s = await stack({ profile: 'lcd16x2', keypadMode: 'keys', transport: 'tcp' });
    const d = s.spawn(['run', '--once']);
    await d.waitForState('awaiting_pin');
    const pin = await s.approve();
    await authorizeWithKeys(s, pin);
    assert.equal(await d.exited, 0, d.output.slice(-2000));
  });
});
