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
