/**
 * What `pinauthd status --json` reports about the daemon process itself, for an operator
 * watching a board over months (and for the soak, scripts/soak/): memory, the libuv
 * resources keeping the event loop alive by type (a count that only grows is a leak of
 * timers, sockets or file handles), and the store's durable writes since start (each one
 * fsyncs the file and its directory: SD card wear). Computed on request only: nothing runs
 * in the background for it.
 */
import { durableWriteCounts } from '../store/durable-file.js';

export interface ProcessFigures {
  pid: number;
  uptimeSec: number;
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** process.getActiveResourcesInfo() by type, e.g. { Timeout: 3, PipeWrap: 2 }. */
  activeResources: Record<string, number>;
  storeWrites: number;
  storeFsyncs: number;
  /** Store writes started and not finished yet. */
  storeWritesInFlight: number;
}

export function processFigures(): ProcessFigures {
  const activeResources: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) activeResources[type] = (activeResources[type] ?? 0) + 1;
  const mem = process.memoryUsage();
  return {
    pid: process.pid,
    uptimeSec: Math.round(process.uptime()),
    rssBytes: mem.rss,
    heapUsedBytes: mem.heapUsed,
    heapTotalBytes: mem.heapTotal,
    activeResources,
    storeWrites: durableWriteCounts.writes,
    storeFsyncs: durableWriteCounts.fsyncs,
    storeWritesInFlight: durableWriteCounts.inFlight,
  };
}
