/**
 * The heap guard (src/service/heap-guard.ts): the daemon's own bound on its live JS heap,
 * checked after full garbage collections, in place of a V8 flag.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { HEAP_LIMIT_MIB, startHeapGuard } from '../../src/service/heap-guard.js';

const MiB = 2 ** 20;

/** A stand-in for "a full GC just ended", fired by the test. */
function fakeGc() {
  const listeners = new Set<() => void>();
  return {
    onFullGc: (l: () => void) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    fire: () => [...listeners].forEach((l) => l()),
    get watching() {
      return listeners.size;
    },
  };
}

test('below the limit nothing happens; above it onExceeded runs once, with the size, and watching stops', () => {
  const gc = fakeGc();
  let used = 40 * MiB;
  const seen: number[] = [];
  startHeapGuard({ limitMiB: 96, onExceeded: (b) => seen.push(b), onFullGc: gc.onFullGc, heapUsed: () => used });
  gc.fire();
  assert.deepEqual(seen, []);
  used = 96 * MiB;
  gc.fire();
  assert.deepEqual(seen, [], 'exactly the limit is still allowed');
  used = 97 * MiB;
  gc.fire();
  gc.fire();
  assert.deepEqual(seen, [97 * MiB]);
  assert.equal(gc.watching, 0);
});

test('the returned function stops watching', () => {
  const gc = fakeGc();
  const stop = startHeapGuard({ limitMiB: 1, onExceeded: () => assert.fail('stopped'), onFullGc: gc.onFullGc, heapUsed: () => 2 * MiB });
  stop();
  gc.fire();
  assert.equal(gc.watching, 0);
});

test('the default limit is 96 MiB', () => {
  assert.equal(HEAP_LIMIT_MIB, 96);
});

test('a real full garbage collection is seen (perf_hooks gc entries)', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  let fired: number | null = null;
  // any live heap is above 1 byte
  const stop = startHeapGuard({ limitMiB: 1 / MiB, onExceeded: (b) => (fired = b) });
  try {
    for (let i = 0; i < 50 && fired === null; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(fired !== null && fired > 0, 'onExceeded after a full GC');
  } finally {
    stop();
  }
});
