/**
 * Preloaded by scripts/bench/memory.mjs (`node -r scripts/bench/heap-probe.cjs ...`), never by
 * the service: on SIGUSR2 it writes V8's heap spaces, process.memoryUsage() and the loaded
 * built-ins to $BENCH_HEAP_OUT (JSON), so that memory at the URL can be split into parts.
 */
'use strict';
const out = process.env.BENCH_HEAP_OUT;
if (out) {
  process.on('SIGUSR2', () => {
    const v8 = require('node:v8');
    const fs = require('node:fs');
    const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }]));
    const h = v8.getHeapStatistics();
    const builtins = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13));
    const handles = process._getActiveHandles().map((x) => x.constructor?.name);
    fs.writeFileSync(out, JSON.stringify({ spaces, heap: h, usage: process.memoryUsage(), builtins, handles, code: v8.getHeapCodeStatistics() }));
  });
}
