/** The signing proxy's "the API says the token is dead" goes through transition() like every decision. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { transition, type MachineSettings, type State } from '../../src/lifecycle/machine.js';
import type { Account } from '../../src/store/types.js';

const s: MachineSettings = {
  pinTries: 3,
  requestTokenTtlMs: 900_000,
  verifyIntervalMs: 86_400_000,
  verifyOnStart: true,
  minVerifyIntervalMs: 60_000,
  backoff: { initialMs: 1000, maxMs: 300_000 },
  pinDigits: 7,
  once: false,
  quietAfterUnusedCodes: 3,
  random: () => 0.5,
};
const NOW = Date.parse('2026-11-29T12:00:00Z');
const account: Account = {
  provider: 'twitter', consumerKey: 'ck', userId: '1', screenName: 'a', token: 't', tokenSecret: 'ts',
  createdAt: '2026-11-01T00:00:00Z', verifiedAt: new Date(NOW - 120_000).toISOString(),
};

test('authorized + api_rejected: verify the token now (it is dropped only if the provider agrees)', () => {
  const state: State = { name: 'authorized', account, verifyAt: NOW + 3600_000 };
  assert.deepEqual(transition(state, { type: 'api_rejected', now: NOW }, s).state, { name: 'verifying', account });
});

test('api_rejected within minVerifyInterval of the last verification changes nothing', () => {
  const fresh = { ...account, verifiedAt: new Date(NOW - 10_000).toISOString() };
  const state: State = { name: 'authorized', account: fresh, verifyAt: NOW + 3600_000 };
  assert.equal(transition(state, { type: 'api_rejected', now: NOW }, s).state, state);
});

test('api_rejected in any other state changes nothing', () => {
  for (const state of [{ name: 'verifying', account }, { name: 'requesting' }, { name: 'confirm_reauth', account }, { name: 'stopped' }] as State[]) {
    assert.equal(transition(state, { type: 'api_rejected', now: NOW }, s).state, state);
  }
});
