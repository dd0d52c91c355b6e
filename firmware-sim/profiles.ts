/**
 * Every simulated device by profile name, and the daemon config that drives it: the pinpad
 * simulator's profiles (docs/protocol.md) and the models of off-the-shelf displays, each
 * speaking its own command set. A display without a keypad of its own is paired with a
 * simulated USB numeric keypad (numpad.ts) by whoever starts it.
 */
import { SimDevice, type SimDelimiter, type SimKeypadMode, type SimProfile } from './device.js';
import { MatrixOrbitalSim } from './matrix-orbital.js';
import type { SimPanel } from './panel.js';
import { SerLcdSim } from './serlcd.js';

export const PANEL_PROFILES = [
  'lcd16x2', 'lcd20x4', 'oled128x64', 'text',
  'adafruit-backpack', 'adafruit-backpack-20x4', 'lk204', 'serlcd', 'serlcd-20x4',
] as const;
export type PanelProfile = (typeof PANEL_PROFILES)[number];

export function createPanel(profile: PanelProfile, opts: { keypadMode?: SimKeypadMode; delimiter?: SimDelimiter; fw?: string } = {}): SimPanel {
  switch (profile) {
    case 'adafruit-backpack':
    case 'adafruit-backpack-20x4':
    case 'lk204':
      return new MatrixOrbitalSim({ profile });
    case 'serlcd':
    case 'serlcd-20x4':
      return new SerLcdSim({ profile });
    default:
      return new SimDevice({
        profile: profile as SimProfile,
        keypadMode: profile === 'text' ? 'line' : (opts.keypadMode ?? 'keys'),
        delimiter: opts.delimiter ?? 'LF',
        ...(opts.fw !== undefined ? { fw: opts.fw } : {}),
      });
  }
}

/** The display and keypad sections of a pinauthd config for this device on `port`. */
export function daemonDeviceConfig(
  panel: SimPanel,
  port: string,
  numpadPath: string | null,
): { display: Record<string, unknown>; keypad: Record<string, unknown> } {
  const grid = { cols: panel.cols, rows: panel.rows };
  const numpad = { driver: 'evdev', port: numpadPath, grab: false };
  if (panel instanceof MatrixOrbitalSim) {
    return {
      display: { driver: 'matrix-orbital', port, ...grid, setSize: panel.profile !== 'lk204' },
      keypad: panel.profile === 'lk204' ? { driver: 'matrix-orbital' } : numpad,
    };
  }
  if (panel instanceof SerLcdSim) return { display: { driver: 'serlcd', port, ...grid }, keypad: numpad };
  const text = panel.kind === 'text';
  return { display: { driver: text ? 'text' : 'pinpad', port, cols: 40, rows: 4 }, keypad: { mode: panel.keypadMode } };
}

/** Whether this device needs a separate keypad (a display with no keys of its own). */
export function needsNumpad(panel: SimPanel): boolean {
  return panel.keypadMode === 'none';
}
