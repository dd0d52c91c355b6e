/**
 * Preloaded into the soak's daemon only (`node --expose-gc --require scripts/soak/probe.cjs
 * <the unit's ExecStart script> run`), never by the service: the two figures the daemon
 * cannot give from outside without changing what it ships.
 * - On SIGUSR2: a full garbage collection (gc(), which --expose-gc provides), then V8's
 *   used heap, written as one JSON line to $SOAK_PROBE_OUT (temp file + rename).
 * - The event-loop delay (perf_hooks monitorEventLoopDelay, 10 ms resolution) since the last
 *   probe (without the probe's own collections), and over every window after the warm-up:
 *   a libuv timer firing 100 times a second, which the service itself does not carry.
 * $SOAK_PROBE_SNAPSHOTS=DIR: a heap snapshot of every probe whose number is in
 * $SOAK_PROBE_SNAPSHOT_AT (comma-separated), and of the probe after the soak created
 * $SOAK_PROBE_OUT.snapshot, for scripts/soak/heap-diff.ts.
 */
'use strict';
const out = process.env.SOAK_PROBE_OUT;
if (out && typeof globalThis.gc === 'function') {
  const fs = require('node:fs');
  const v8 = require('node:v8');
  const { monitorEventLoopDelay } = require('node:perf_hooks');
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  // From the first probe after the soak created $SOAK_PROBE_OUT.warm (its warm-up is over) to
  // the end: the run's p99. It cannot leave out the probes' own collections (an ELD histogram
  // cannot be added to another), so it overstates the delay a little, never understates it.
  const total = monitorEventLoopDelay({ resolution: 10 });
  const warm = `${out}.warm`;
  const snapshotDir = process.env.SOAK_PROBE_SNAPSHOTS;
  const snapshotAt = new Set((process.env.SOAK_PROBE_SNAPSHOT_AT ?? '').split(',').filter(Boolean).map(Number));
  let seq = 0;
  process.on('SIGUSR2', () => {
    seq += 1;
    // Twice: what the first collection frees can hold other objects alive until the second.
    globalThis.gc();
    globalThis.gc();
    if (fs.existsSync(warm)) total.enable();
    const heap = v8.getHeapStatistics();
    const probe = {
      seq,
      heapUsed: heap.used_heap_size,
      heapTotal: heap.total_heap_size,
      external: process.memoryUsage().external,
      delayP99Ms: delay.count ? delay.percentile(99) / 1e6 : 0,
      delayMaxMs: delay.count ? delay.max / 1e6 : 0,
      delaySamples: delay.count,
      totalDelayP99Ms: total.count ? total.percentile(99) / 1e6 : 0,
    };
    // After the timers phase that records this handler's own pause (the two collections):
    // the probe does not count its own GC pauses in the next window.
    setTimeout(() => delay.reset(), 1);
    const asked = `${out}.snapshot`;
    if (snapshotDir && (snapshotAt.has(seq) || fs.existsSync(asked))) {
      fs.rmSync(asked, { force: true });
      probe.snapshot = v8.writeHeapSnapshot(require('node:path').join(snapshotDir, `probe-${seq}.heapsnapshot`));
    }
    const tmp = `${out}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(probe)}\n`);
    fs.renameSync(tmp, out);
  });
}
