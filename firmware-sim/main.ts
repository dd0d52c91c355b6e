#!/usr/bin/env node
/**
 * Run a simulated device for a person or a daemon (the pinpad, or an off-the-shelf display:
 * adafruit-backpack[-20x4], lk204, serlcd[-20x4], with a simulated USB numpad where it has
 * no keys of its own):
 *   node dist/firmware-sim/main.js [--profile lcd20x4] [--keys keys|line] [--delimiter LF]
 *                                  [--pty DIR | --tcp PORT] [--fw NAME] [--headless]
 * Prints the path (or tcp:// URL) to give the daemon, then shows the screen and takes keys.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { SimDelimiter, SimKeypadMode } from './device.js';
import { startFifoNumpad, type FifoNumpad } from './numpad.js';
import { createPanel, needsNumpad, PANEL_PROFILES, type PanelProfile } from './profiles.js';
import { startPtySim } from './pty.js';
import { startTcpSim } from './tcp.js';
import { runTui } from './tui.js';

const PROFILES: PanelProfile[] = [...PANEL_PROFILES];
const MODES: SimKeypadMode[] = ['keys', 'line'];
const DELIMITERS: SimDelimiter[] = ['LF', 'CR', 'CRLF'];

const USAGE = `usage: pinpad-sim [--profile ${PROFILES.join('|')}] [--keys keys|line] [--delimiter LF|CR|CRLF]
                  [--pty DIR | --tcp PORT] [--fw NAME] [--headless]`;

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

function pick<T extends string>(value: string | undefined, allowed: T[], fallback: T, what: string): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) fail(`unknown ${what}: ${value}`);
  return value as T;
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        profile: { type: 'string' },
        keys: { type: 'string' },
        delimiter: { type: 'string' },
        pty: { type: 'string' },
        tcp: { type: 'string' },
        fw: { type: 'string' },
        headless: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    fail((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (values.pty !== undefined && values.tcp !== undefined) fail('use --pty or --tcp, not both');

  const device = createPanel(pick(values.profile, PROFILES, 'lcd16x2', 'profile'), {
    keypadMode: pick(values.keys, MODES, 'keys', 'keypad mode'),
    delimiter: pick(values.delimiter, DELIMITERS, 'LF', 'delimiter'),
    ...(values.fw !== undefined ? { fw: values.fw } : {}),
  });

  let where: string;
  let close: () => Promise<void>;
  if (values.tcp !== undefined) {
    const port = Number(values.tcp);
    if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`bad port: ${values.tcp}`);
    const sim = await startTcpSim({ device, host: '127.0.0.1', port });
    where = sim.url;
    close = () => sim.close();
  } else {
    const sim = await startPtySim({ device, ...(values.pty !== undefined ? { dir: values.pty } : {}) });
    where = sim.hostPath;
    close = () => sim.close();
  }

  // A display without keys gets a USB numeric keypad beside it, on a FIFO standing in for
  // its event device (keypad.driver "evdev", keypad.grab false).
  let numpad: FifoNumpad | null = null;
  if (needsNumpad(device)) numpad = await startFifoNumpad(values.pty ?? (await mkdtemp(path.join(os.tmpdir(), 'pinpad-numpad-'))));

  let quitting = false;
  const quit = (): void => {
    if (quitting) return;
    quitting = true;
    void Promise.all([close(), numpad?.close()]).finally(() => process.exit(0));
  };
  process.once('SIGINT', quit);
  process.once('SIGTERM', quit);

  process.stdout.write(`${where}\n`);
  if (numpad) process.stdout.write(`keypad (evdev, grab false): ${numpad.path}\n`);
  if (values.headless || !process.stdin.isTTY) {
    device.on('command', (c) => process.stdout.write(`host> ${c.raw}${c.error ? ` -> ERR ${c.error}` : ''}\n`));
    return;
  }
  const header = [`simulated ${device.profile}: point the daemon at ${where}`, ...(numpad ? [`and its keypad at ${numpad.path}`] : [])];
  runTui({ device, header, ...(numpad ? { keypad: numpad } : {}), onQuit: quit });
}

main().catch((err: unknown) => {
  process.stderr.write(`pinpad-sim: ${(err as Error).message}\n`);
  process.exit(1);
});
