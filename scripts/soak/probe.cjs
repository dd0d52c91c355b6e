/**
 * Preloaded into the soak's daemon only (`node --expose-gc --require scripts/soak/probe.cjs
 * <the unit's ExecStart script> run`), never by the service: the two figures the daemon
 * cannot give from outside without changing what it ships.
 * - On SIGUSR2: a full garbage collection (gc(), which --expose-gc provides), then V8's
 *   used heap and what of it V8 counts as compiled code and bytecode with their metadata
 *   (v8.getHeapCodeStatistics: what the JIT adds), written as one JSON line to
 *   $SOAK_PROBE_OUT (temp file + rename).
 * - The event-loop delay (./loop-delay.cjs: an unref'd 10 ms interval, 100 wakeups a second,
 *   which the service itself does not carry) of the window since the last probe and of every
 *   window after the warm-up; the tick that carries the probe's own pause is left out.
 * $SOAK_PROBE_SNAPSHOTS=DIR: a heap snapshot of every probe whose number is in
 * $SOAK_PROBE_SNAPSHOT_AT (comma-separated), and of the probe after the soak created
 * $SOAK_PROBE_OUT.snapshot, for scripts/soak/heap-diff.ts.
 */
'use strict';
const out = process.env.SOAK_PROBE_OUT;
if (out && typeof globalThis.gc === 'function') {
  const fs = require('node:fs');
  const v8 = require('node:v8');
  const { loopDelayMonitor } = require('./loop-delay.cjs');
  const monitor = loopDelayMonitor();
  // Windows count towards the run's total once the soak created $SOAK_PROBE_OUT.warm (its
  // warm-up is over).
  const warm = `${out}.warm`;
  const snapshotDir = process.env.SOAK_PROBE_SNAPSHOTS;
  const snapshotAt = new Set((process.env.SOAK_PROBE_SNAPSHOT_AT ?? '').split(',').filter(Boolean).map(Number));
  let seq = 0;
  process.on('SIGUSR2', () => {
    seq += 1;
    const probe = { seq, ...monitor.take(fs.existsSync(warm)) };
    // Twice: what the first collection frees can hold other objects alive until the second.
    globalThis.gc();
    globalThis.gc();
    const heap = v8.getHeapStatistics();
    const compiled = v8.getHeapCodeStatistics();
    // Per space: what V8 has committed (space_size) and uses; the young generation ("new_space")
    // and the code space are sized by V8 to the allocation rate and the JIT.
    const spaces = {};
    for (const sp of v8.getHeapSpaceStatistics()) spaces[sp.space_name] = { size: sp.space_size, used: sp.space_used_size };
    Object.assign(probe, { heapUsed: heap.used_heap_size, heapCompiled: compiled.code_and_metadata_size + compiled.bytecode_and_metadata_size, heapTotal: heap.total_heap_size, malloced: heap.malloced_memory, external: process.memoryUsage().external, spaces });
    const write = () => {
      const tmp = `${out}.tmp`;
      fs.writeFileSync(tmp, `${JSON.stringify(probe)}\n`);
      fs.renameSync(tmp, out);
      // The next tick of the monitor carries this handler's pause (collections, a snapshot).
      monitor.skipTick();
    };
    const asked = `${out}.snapshot`;
    if (!(snapshotDir && (snapshotAt.has(seq) || fs.existsSync(asked)))) return write();
    fs.rmSync(asked, { force: true });
    // The collections found AbortSignal.timeout() signals dead, but the FinalizationRegistry
    // that then clears their timers runs its callbacks later, from the event loop: let it,
    // collect again, so that the snapshot holds no timer of a dead signal.
    setTimeout(() => {
      globalThis.gc();
      globalThis.gc();
      probe.snapshot = v8.writeHeapSnapshot(require('node:path').join(snapshotDir, `probe-${seq}.heapsnapshot`));
      write();
    }, 200);
  });
}
