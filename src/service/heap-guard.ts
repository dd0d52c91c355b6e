/**
 * The JS heap's ceiling, without a V8 flag. Under the unit's MemoryMax, Node 20 sizes its
 * heap to the whole cgroup limit, so a leak would end in the kernel's OOM killer with
 * nothing in the log. `--max-old-space-size` would bound it, but any V8 flag makes V8
 * reject Node's built-in code cache and costs every start ~13 ms (docs/performance.md). So
 * after each full garbage collection the daemon looks at what is still alive, and above
 * the limit it logs why and exits (systemd's Restart=on-failure starts it again), well
 * before MemoryMax. No timer: a full GC only happens when something allocates.
 */
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';

/** Live JS heap after a full GC above which the daemon stops (MemoryMax is 192M). */
export const HEAP_LIMIT_MIB = 96;

export interface HeapGuardOptions {
  limitMiB?: number;
  /** Called once, with the live heap in bytes, when a full GC leaves more than the limit. */
  onExceeded: (usedBytes: number) => void;
  /** Tests: the source of "a full GC just ended" and of the heap size. */
  onFullGc?: (listener: () => void) => () => void;
  heapUsed?: () => number;
}

function observeFullGc(listener: () => void): () => void {
  const observer = new PerformanceObserver((list) => {
    if (list.getEntries().some((e) => (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)) listener();
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => observer.disconnect();
}

/** Returns the function that stops watching. */
export function startHeapGuard(opts: HeapGuardOptions): () => void {
  const limit = (opts.limitMiB ?? HEAP_LIMIT_MIB) * 1024 * 1024;
  const heapUsed = opts.heapUsed ?? (() => getHeapStatistics().used_heap_size);
  let fired = false;
  const stop = (opts.onFullGc ?? observeFullGc)(() => {
    if (fired) return;
    const used = heapUsed();
    if (used <= limit) return;
    fired = true;
    stop();
    opts.onExceeded(used);
  });
  return stop;
}
