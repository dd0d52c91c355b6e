/** The soak's judgement (scripts/soak/analysis.ts) on made-up samples: what passes and what must not. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assess, FLAT_TOLERANCE, LONG_BOUNDS, POLLER_BYTES_PER_PORT_OPEN, POLLER_NATIVE_BYTES_PER_PORT_OPEN, type Bounds, type HeapDiff, type Sample } from '../../scripts/soak/analysis.js';

const MiB = 1024 * 1024;

/** `n` samples of a daemon that leaks nothing; `f` changes sample i. */
function run(n: number, f: (s: Sample, i: number) => void = () => undefined): Sample[] {
  return Array.from({ length: n }, (_, i) => {
    const s: Sample = {
      round: i + 1,
      elapsedMs: (i + 1) * 3000,
      load1: 1,
      timerVerifications: 3 * (i + 1),
      portOpens: i + 1,
      rssBytes: 0,
      resident: { v8: 15 * MiB, malloc: 6 * MiB + (i % 5) * 4096, otherAnon: 1 * MiB, file: 38 * MiB },
      fds: 23 + (i % 3 === 0 ? 1 : 0),
      heapUsed: 9 * MiB + ((i * 7919) % 13) * 1000,
      heapCompiled: 3 * MiB,
      heapCommitted: 20 * MiB,
      malloced: 300_000,
      external: 2 * MiB,
      spaces: { new_space: { size: 16 * MiB, used: 0 } },
      heapLive: 12 * MiB,
      heapTotal: 20 * MiB,
      timers: i % 2,
      resources: 4 + (i % 2),
      delayP99Ms: 5,
      totalDelayP99Ms: 5,
      machineDelayP99Ms: 5,
      totalMachineDelayP99Ms: 5,
    };
    f(s, i);
    s.rssBytes = s.resident.v8 + s.resident.malloc + s.resident.otherAnon + s.resident.file;
    return s;
  });
}

const none = { key: 'none', count: 0, bytes: 0 };
const clean: HeapDiff = { rounds: 60, portOpens: 60, ours: 3000, jit: 200_000, poller: 60 * 400, hiddenClasses: 2, grew: [], mostObjects: none };

const violated = (samples: Sample[], heapDiff: HeapDiff | null = clean, bounds: Bounds = LONG_BOUNDS) =>
  assess(samples, bounds, { warmupRounds: 0, heapDiff }).violations.map((v) => v.split(':')[0]);

const RSS = "RSS outside V8's heap pages (malloc, other anonymous memory, file pages; /proc/PID/smaps)";

describe('soak bounds', () => {
  it('a daemon whose counts flicker with the periodic work passes every bound', () => {
    assert.deepEqual(violated(run(90)), []);
  });

  it('one timer or descriptor leaked for good is caught, a flicker is not', () => {
    assert.ok(FLAT_TOLERANCE < 1);
    // one timer leaked a third of the way in: every later sample has it
    const leakedTimer = (s: Sample, i: number) => {
      s.timers += i >= 30 ? 1 : 0;
      s.resources += i >= 30 ? 1 : 0;
    };
    assert.deepEqual(violated(run(90, leakedTimer)), ['active timers (status', 'active libuv resources, all types']);
    assert.deepEqual(violated(run(90, (s, i) => (s.fds += i >= 30 ? 1 : 0))), ['open file descriptors (/proc/PID/fd)']);
    // a sample now and then with one more (a reply still closing) is not a leak
    assert.deepEqual(violated(run(90, (s, i) => (s.fds += i % 10 === 0 ? 1 : 0))), []);
  });

  it('the heap at the samples (short run) may grow by the Poller leak per port open, not by a byte more than its noise', () => {
    const bySamples: Bounds = { ...LONG_BOUNDS, judgeHeap: 'samples' };
    assert.deepEqual(violated(run(90, (s) => (s.heapUsed += s.portOpens * POLLER_BYTES_PER_PORT_OPEN)), null, bySamples), []);
    assert.deepEqual(violated(run(90, (s) => (s.heapUsed += s.portOpens * (POLLER_BYTES_PER_PORT_OPEN + 500))), null, bySamples), [
      'retained heap after full GC at the samples, compiled code apart',
    ]);
  });

  it('the long run judges the retained heap by its snapshot census: the JIT and the Poller leak apart, nothing else may grow', () => {
    const census = 'retained heap between two snapshots after the run (census), V8\'s JIT and serialport\'s Poller leak apart';
    assert.deepEqual(violated(run(90), { ...clean, jit: 4 * MiB, poller: 5 * MiB }), []);
    // one-off growths: two Buffer pool slabs, a weak table's backing store doubling, heap numbers and timers in flight
    assert.deepEqual(violated(run(90), { ...clean, ours: 2 * 8192 + 8232 + 31 * 16, mostObjects: { key: 'number', count: 31, bytes: 496 } }), []);
    // a 40-byte object per event of one kind: few bytes, but one more every round
    const small = { key: 'object Listener', count: 60, bytes: 2400 };
    assert.deepEqual(violated(run(90), { ...clean, ours: 2400, grew: [small], mostObjects: small }), [census]);
    // a new hidden class per event (an object built with a per-event key)
    const shapes = { key: 'object shape system / Map', count: 60, bytes: 4800 };
    assert.deepEqual(violated(run(90), { ...clean, ours: 4800, hiddenClasses: 60, grew: [shapes], mostObjects: shapes }), [census]);
    // a closure and its context per event of every kind, in bytes
    assert.deepEqual(violated(run(90), { ...clean, ours: 60 * 8 * 100, grew: [{ key: 'closure onLine', count: 29, bytes: 48_000 }], mostObjects: { key: 'closure onLine', count: 29, bytes: 48_000 } }), [census]);
    assert.deepEqual(violated(run(90), null), [census]);
  });

  it('RSS outside V8\'s heap pages is judged per round and per timer verification: a native leak fails', () => {
    assert.deepEqual(violated(run(90, (s) => (s.resident.malloc += s.round * 2048))), [RSS]);
    // the known Poller leak, one port open a round, is within the bound (and stated)
    assert.deepEqual(violated(run(90, (s) => (s.resident.malloc += s.portOpens * POLLER_NATIVE_BYTES_PER_PORT_OPEN))), []);
    // growth that follows the verification timer, not the rounds, still counts; anywhere outside V8's pages
    assert.deepEqual(violated(run(90, (s, i) => {
      s.timerVerifications = i < 45 ? 3 * i : 135 + 30 * (i - 45);
      s.resident.otherAnon += s.timerVerifications * 2048;
    })), [RSS]);
    assert.deepEqual(violated(run(90, (s) => (s.resident.file += s.round * 2048))), [RSS]);
  });

  it('RSS in V8\'s heap pages (the JIT compiling, the young generation resized and touched page by page) is left to the census, which judges the heap itself', () => {
    const jit = (s: Sample) => {
      s.heapCompiled += s.round * 3000;
      s.heapUsed += s.round * 4000;
      s.heapCommitted += s.round * 4000;
      s.resident.v8 += s.round * 4000;
    };
    assert.deepEqual(violated(run(90, jit)), []);
    // the same growth in JS objects of the daemon's own: the census names it
    assert.deepEqual(violated(run(90, jit), { ...clean, ours: 60 * 4000 }), ['retained heap between two snapshots after the run (census), V8\'s JIT and serialport\'s Poller leak apart']);
    // V8 doubling its young generation twice during the run, or halving and doubling it all
    // through, or touching the pages of a young generation committed earlier, one by one
    const young = (size: (i: number) => number, resident = size) => (s: Sample, i: number) => {
      s.spaces = { new_space: { size: size(i), used: 0 } };
      s.heapCommitted += size(i);
      s.resident.v8 += resident(i);
    };
    const doubling = young((i) => (i < 30 ? 8 : i < 60 ? 16 : 32) * MiB);
    const flipping = young((i) => ((i * 7919) % 3 === 0 ? 8 : 4) * MiB);
    const touching = young(() => 32 * MiB, (i) => Math.min(32 * MiB, 8 * MiB + i * 256 * 1024));
    for (const sizing of [doubling, flipping, touching]) {
      assert.deepEqual(violated(run(90, sizing)), []);
      // a native leak of 2 KiB per round besides still fails
      assert.deepEqual(violated(run(90, (s, i) => {
        sizing(s, i);
        s.resident.malloc += s.round * 2048;
      })), [RSS]);
    }
  });

  it('the loop-delay bound is the daemon\'s, the machine\'s beside it only reported', () => {
    assert.deepEqual(violated(run(90, (s) => (s.totalMachineDelayP99Ms = 400))), []);
    assert.deepEqual(violated(run(90, (s) => (s.totalDelayP99Ms = 60))), ['event-loop delay p99 after warm-up']);
  });
});
