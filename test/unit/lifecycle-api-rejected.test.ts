/** The signing proxy's "the API says the token is dead" goes through transition() like every decision. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { transition, type MachineSettings, type State } from '../../src/lifecycle/machine.js';
import type { Account } from '../../src/store/types.js';
import { DEFAULT_MACHINE_SETTINGS } from '../helpers/machine-settings.js';

const s: MachineSettings = { ...DEFAULT_MACHINE_SETTINGS, minVerifyIntervalMs: 60_000 };
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
