/**
 * Event-loop delay as perf_hooks' monitorEventLoopDelay measures it (how late a 10 ms timer
 * fires), in JS so that a tick can be left out (an ELD histogram cannot be added to another
 * or told to skip one): per window, and over every window after the warm-up. Used by the
 * soak's probe inside the daemon (./probe.cjs) and by a bare control process beside it
 * (./control.cjs), whose delay is the machine's.
 */
'use strict';
const { createHistogram, performance } = require('node:perf_hooks');

const RESOLUTION_MS = 10;

function loopDelayMonitor() {
  const window = createHistogram();
  const total = createHistogram();
  let counting = false;
  let skipNext = false;
  let last = performance.now();
  // unref'd: it keeps nothing alive and is not among the process's active resources.
  setInterval(() => {
    const now = performance.now();
    const lateNs = Math.max(1, Math.round((now - last - RESOLUTION_MS) * 1e6));
    last = now;
    if (skipNext) {
      skipNext = false;
      return;
    }
    window.record(lateNs);
    if (counting) total.record(lateNs);
  }, RESOLUTION_MS).unref();
  const p99 = (h) => (h.count ? h.percentile(99) / 1e6 : 0);
  return {
    /** Closes the window; `countFromNow`: the windows from now on count towards the total. */
    take(countFromNow) {
      const figures = { delayP99Ms: p99(window), delayMaxMs: window.count ? window.max / 1e6 : 0, delaySamples: window.count, totalDelayP99Ms: p99(total), totalDelaySamples: total.count };
      window.reset();
      counting = countFromNow;
      return figures;
    },
    /** Leaves out the next tick (it carries a pause that is not the process's own work). */
    skipTick() {
      skipNext = true;
    },
  };
}

module.exports = { loopDelayMonitor };
