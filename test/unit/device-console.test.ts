import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConsoleDisplay } from '../../src/device/display/console.js';

test('console: an error reads as reason - what to do; other screens as one phrase', () => {
  const now = Date.parse('2026-12-06T00:00:00Z');
  assert.equal(ConsoleDisplay.text({ state: 'stopped', title: 'Input closed', lines: ['nothing stored'], tone: 'error' }, now), 'Input closed - nothing stored\n');
  assert.equal(
    ConsoleDisplay.text({ state: 'waiting', title: 'Provider error', lines: ['retrying'], countdown: { until: now + 5000, label: 'retry in' }, tone: 'error' }, now),
    'Provider error - retrying\n(retry in 5s)\n',
  );
  assert.equal(ConsoleDisplay.text({ state: 'authorized', title: 'Authorized as', lines: ['@twitterapi'], tone: 'ok' }, now), 'Authorized as @twitterapi\n');
});
