/**
 * What serialport's Poller leak costs per port open, measured apart from the daemon:
 * `node --expose-gc --import tsx scripts/soak/poller-cost.ts [N]`.
 *
 * Every port open makes one Poller (@serialport/bindings-cpp dist/linux.js) and every close
 * stops and destroys it; destroy() never deletes the C++ object, whose persistent handle on
 * its callback keeps the JS side alive too (upstream node-serialport #1582). This does the
 * same N times on one pseudo-terminal and prints, per Poller, the growth of V8's used heap
 * after a full GC and of the resident memory by owner (scripts/soak/memory-map.ts): the
 * figures scripts/soak/analysis.ts states as POLLER_BYTES_PER_PORT_OPEN and
 * POLLER_NATIVE_BYTES_PER_PORT_OPEN.
 */
import { openSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import v8 from 'node:v8';
import { residentParts } from './memory-map.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  process.stderr.write('run with node --expose-gc\n');
  process.exit(2);
}
const { Poller } = createRequire(import.meta.url)('@serialport/bindings-cpp/dist/poller.js') as {
  Poller: new (fd: number) => { once(event: 'readable', cb: () => void): void; stop(): void; destroy(): void };
};

const n = Number(process.argv[2] ?? 50_000);
const fd = openSync('/dev/ptmx', 'r+');
/** One port's life, as LinuxPortBinding lives it: made at open, polled for reading, stopped and destroyed at close. */
const openAndClose = () => {
  const poller = new Poller(fd);
  poller.once('readable', () => undefined);
  poller.stop();
  poller.destroy();
};
const measure = () => {
  gc();
  gc();
  return { heapUsed: v8.getHeapStatistics().used_heap_size, ...residentParts(readFileSync('/proc/self/smaps', 'utf8')) };
};

for (let i = 0; i < 2_000; i++) openAndClose(); // the code paths compiled, the arenas warm
const before = measure();
for (let i = 0; i < n; i++) openAndClose();
const after = measure();
process.stdout.write(`${n} Pollers made and destroyed, growth per Poller:\n`);
for (const key of ['heapUsed', 'malloc', 'v8', 'otherAnon', 'file'] as const) {
  const what = { heapUsed: "V8's used heap after a full GC (the JS side)", malloc: 'resident malloc (the native side)', v8: "V8's resident heap pages", otherAnon: 'other anonymous memory', file: 'file pages' }[key];
  process.stdout.write(`  ${((after[key] - before[key]) / n).toFixed(0).padStart(6)} B  ${what}\n`);
}
