/**
 * The short soak (issue 15; the long one is `npm run soak`): the bundle as the unit runs it,
 * 24 rounds of every event kind in a fixed seeded order, against the local provider and the
 * simulator on a PTY. Structural bounds only (scripts/soak/analysis.ts SHORT_BOUNDS): file
 * descriptors, timers and libuv resources do not climb, the heap after a full GC shows no
 * growth beyond its noise plus 2 MiB, every event happened, the daemon stops cleanly and logs
 * no error besides the unplugs and refused reloads it was given. Nothing here is timed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SHORT_BOUNDS } from '../../scripts/soak/analysis.js';
import { EVENT_KINDS } from '../../scripts/soak/events.js';
import { runSoak } from '../../scripts/soak/soak.js';

const ROUNDS = 24;

test(`short soak: ${ROUNDS} rounds of every event kind against the bundle`, { timeout: 600_000 }, async () => {
  const r = await runSoak({ seed: 15, rounds: ROUNDS, inWarmup: (round) => round <= 6, bounds: SHORT_BOUNDS });
  const report = `${r.assessment.figures.map((f) => `${f.name}: ${f.value}`).join('\n')}\nactions: ${r.costs.map((c) => `${c.action} ${c.n}`).join(', ')}`;
  assert.deepEqual(r.assessment.violations, [], report);
  assert.equal(r.rounds, ROUNDS);
  for (const kind of EVENT_KINDS) {
    const n = r.costs.filter((c) => c.action === kind || c.action.startsWith(`${kind}:`)).reduce((a, c) => a + c.n, 0);
    assert.equal(n, ROUNDS, `${kind} ran ${n} times`);
  }
  assert.equal(r.samples.length, ROUNDS);
  // The daemon did the work, not just survived it: tokens verified, stored, codes fetched.
  assert.ok((r.providerCalls.verify_credentials ?? 0) >= ROUNDS, JSON.stringify(r.providerCalls));
  assert.ok((r.providerCalls.access_token ?? 0) >= ROUNDS, JSON.stringify(r.providerCalls));
  assert.ok(Math.abs(r.perAction.verification.writes - 1) < 0.1, `a verification stores its time once: ${JSON.stringify(r.perAction.verification)}`);
});
