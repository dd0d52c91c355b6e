/**
 * Start-up steps, for finding where the start-up time goes on a slow board
 * (docs/performance.md): with PINAUTHD_TRACE_STARTUP=1, dist/pinauthd-start.cjs (the loader
 * the unit runs) installs a recorder on globalThis and prints every step to stderr at exit,
 * in ms since the process started. Otherwise each step is one property read.
 */
const g = globalThis as { __pinauthdStartupMark?: (step: string) => void };

export function markStartup(step: string): void {
  g.__pinauthdStartupMark?.(step);
}
