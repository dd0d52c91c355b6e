/** The bundled pinpad simulator: the device side of docs/protocol.md. */
export {
  SimDevice,
  HOST_LINE_MAX_BYTES,
  CELL_WIDTH,
  CELL_HEIGHT,
  type SimDeviceOptions,
  type SimDeviceEvents,
  type SimCommand,
  type SimCursor,
  type SimProfile,
  type SimKeypadMode,
  type SimDelimiter,
  type SimCap,
  type SimBeep,
  type SimLed,
} from './device.js';
export { startPtySim, SOCAT_MISSING_MESSAGE, type PtySim, type PtySimOptions } from './pty.js';
export { startTcpSim, type TcpSim, type TcpSimOptions } from './tcp.js';
export { renderScreen, runTui, type RenderOptions, type TuiOptions } from './tui.js';
export type { SimPanel, SimPanelEvents, SimPanelCommand } from './panel.js';
export { MatrixOrbitalSim, LK204_KEYPAD_4X4, type MatrixOrbitalProfile } from './matrix-orbital.js';
export { SerLcdSim, type SerLcdProfile } from './serlcd.js';
export { startFifoNumpad, keyTap, NUMPAD_CODES, type FifoNumpad } from './numpad.js';
export { createPanel, daemonDeviceConfig, needsNumpad, PANEL_PROFILES, type PanelProfile } from './profiles.js';
