/**
 * 8. An unattended, unauthorized board: codes expire with nobody at the keypad. With short
 * codes (requestTokenTtlSec 10, the shortest the config takes) the real daemon must stop
 * fetching after quietAfterUnusedCodes of them, say "Press #", send nothing to the provider
 * while nobody is there, and fetch a code when a key is pressed.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { stacksForThisFile } from '../helpers/stack.js';
import { record } from './figures.js';

const SECTION = '10 idle';
const stack = stacksForThisFile();
const TTL_SEC = 10;
const QUIET_AFTER = 2;

it('after a few codes expire unused: "Press # for a new code", no provider traffic, a key fetches one', async () => {
  const s = await stack({
    profile: 'lcd16x2',
    keypadMode: 'keys',
    provider: { requestTokenTtlSec: TTL_SEC },
    config: (c) => {
      c.provider.requestTokenTtlSec = TTL_SEC;
      c.daemon.quietAfterUnusedCodes = QUIET_AFTER;
    },
  });
  const calls = () => Object.values(s.provider.stats()).reduce((n, e) => n + e.requests, 0);
  const d = s.spawn(['run']);
  await d.waitForState('quiet', (QUIET_AFTER + 2) * TTL_SEC * 1000);
  await s.waitForText('Press #');
  await s.waitForText('for a new code');
  assert.equal(s.provider.stats().request_token.requests, QUIET_AFTER, 'one request per code shown');
  const st = await s.status();
  assert.deepEqual([st?.state, st?.pending, st?.retryAt], ['quiet', null, null]);

  // Nobody there for longer than a code lives: nothing goes to the provider (the window is
  // what is measured, not a wait for something to happen).
  const before = calls();
  const quietFor = TTL_SEC * 1000 + 2000;
  await new Promise((r) => setTimeout(r, quietFor));
  assert.equal(calls(), before, 'no provider call while quiet');
  assert.equal(d.logs.filter((l) => l.msg === 'state requesting').length, QUIET_AFTER);

  s.sim.pressKey('#');
  await d.waitForState('awaiting_pin', 15_000, QUIET_AFTER + 1);
  await s.waitForText('Open link:');
  assert.equal(s.provider.stats().request_token.requests, QUIET_AFTER + 1);
  for (const k of s.provider.approve(await s.pendingToken())) s.sim.pressKey(k);
  await d.waitForState('authorized');
  assert.equal(await d.stop(), 0);

  const perDayBefore = Math.round((24 * 3600) / 900);
  record(SECTION, `request_token calls for ${QUIET_AFTER} unused ${TTL_SEC} s codes, then ${Math.round(quietFor / 1000)} s with nobody there`, `${QUIET_AFTER} + 0`, `${QUIET_AFTER} + 0`);
  record(
    SECTION,
    'provider calls per idle day, unauthorized, nobody at the keypad (defaults: 15 min codes, quietAfterUnusedCodes 3)',
    `3 after a start, then 0 (was ${perDayBefore}: a new code every 15 min)`,
    'quietAfterUnusedCodes, then 0 until a key',
  );
  record(SECTION, 'a key pressed while quiet', 'one request_token, the URL shown, the flow completes', 'a code on request');
});
