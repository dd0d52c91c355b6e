/** The soak's judgement (scripts/soak/analysis.ts) on made-up samples: what passes and what must not. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assess, FLAT_TOLERANCE, LONG_BOUNDS, POLLER_BYTES_PER_PORT_OPEN, type Sample } from '../../scripts/soak/analysis.js';

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
      rssBytes: 60 * MiB + (i % 5) * 4096,
      rssAnonBytes: 20 * MiB + (i % 5) * 4096,
      fds: 23 + (i % 3 === 0 ? 1 : 0),
      heapUsed: 9 * MiB + ((i * 7919) % 13) * 1000,
      heapCompiled: 3 * MiB,
      heapCommitted: 20 * MiB,
      malloced: 300_000,
      external: 2 * MiB,
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
    return s;
  });
}

const violated = (samples: Sample[]) => assess(samples, LONG_BOUNDS).violations.map((v) => v.split(':')[0]);

describe('soak bounds', () => {
  it('a daemon whose counts flicker with the periodic work passes every bound', () => {
    assert.deepEqual(assess(run(90), LONG_BOUNDS).violations, []);
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

  it('the heap may grow by the Poller leak per port open, not by a byte more than its noise', () => {
    assert.deepEqual(violated(run(90, (s) => (s.heapUsed += s.portOpens * POLLER_BYTES_PER_PORT_OPEN))), []);
    assert.deepEqual(violated(run(90, (s) => (s.heapUsed += s.portOpens * (POLLER_BYTES_PER_PORT_OPEN + 500)))), [
      'retained heap after full GC, compiled code apart',
    ]);
  });

  it('code the JIT compiles is reported, not judged', () => {
    const samples = run(90, (s, i) => {
      s.heapCompiled += i * 4000;
      s.heapUsed += i * 4000;
    });
    assert.deepEqual(assess(samples, LONG_BOUNDS).violations, []);
  });

  it('RSS is judged per round and per timer verification', () => {
    assert.deepEqual(violated(run(90, (s) => (s.rssBytes += s.round * 2048))), ['RSS growth per 1,000 events of each kind']);
    // growth that follows the verification timer, not the rounds, still counts
    assert.deepEqual(violated(run(90, (s, i) => {
      s.timerVerifications = i < 45 ? 3 * i : 135 + 30 * (i - 45);
      s.rssAnonBytes += s.timerVerifications * 2048;
    })), ['RSS, anonymous part growth per 1,000 events of each kind']);
  });

  it('the loop-delay bound is the daemon\'s, the machine\'s beside it only reported', () => {
    assert.deepEqual(violated(run(90, (s) => (s.totalMachineDelayP99Ms = 400))), []);
    assert.deepEqual(violated(run(90, (s) => (s.totalDelayP99Ms = 60))), ['event-loop delay p99 after warm-up']);
  });
});
