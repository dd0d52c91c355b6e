/**
 * Start-up steps, for finding where the start-up time goes (also on a slow board,
 * docs/performance.md): with PINAUTHD_TRACE_STARTUP=1, every step is printed to stderr at
 * exit, in ms since the process started, with the built-in modules Node loaded since the
 * step before (Node's own record, process.moduleLoadList). Otherwise a step costs a call.
 * process.uptime(), not performance.now(): the `performance` global loads node:perf_hooks.
 */
import { writeSync } from 'node:fs';

const TRACE = process.env.PINAUTHD_TRACE_STARTUP === '1';
const steps: string[] = [];
const moduleLoadList = (): string[] => (process as unknown as { moduleLoadList: string[] }).moduleLoadList;
// the first step lists what loaded after this module (Node's bootstrap loads dozens)
let builtinsSeen = TRACE ? moduleLoadList().length : 0;

function builtinsLoaded(): string {
  const list = moduleLoadList();
  const loaded = list.slice(builtinsSeen).filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length));
  builtinsSeen = list.length;
  return loaded.length > 0 ? `  [built-ins: ${loaded.join(' ')}]` : '';
}

function record(step: string): void {
  if (steps.length === 0) process.on('exit', () => writeSync(2, `pinauthd start-up (ms since the process started):\n${steps.join('\n')}\n`));
  if (steps.length < 40) steps.push(`${(process.uptime() * 1000).toFixed(1).padStart(7)} ms  ${step}${builtinsLoaded()}`);
}

export const markStartup: (step: string) => void = TRACE ? record : () => {};
