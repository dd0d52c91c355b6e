/** The one place that picks a display driver by its configured name. */
import type { Logger } from 'pino';
import type { DisplayConfig } from '../../config/types.js';
import type { Display } from '../types.js';
import { CharLcdDisplay } from './char-lcd.js';
import { ConsoleDisplay } from './console.js';
import { matrixOrbitalCommands } from './matrix-orbital.js';
import { PinpadDisplay } from './pinpad.js';
import { serLcdCommands } from './serlcd.js';
import type { DeviceWriter } from './frame-display.js';
import { TextDisplay } from './text.js';

export function createDisplay(config: DisplayConfig, write: DeviceWriter, logger: Logger): Display {
  const { cols, rows } = config;
  switch (config.driver) {
    case 'pinpad':
      return new PinpadDisplay({ write, cols, rows, logger });
    case 'console':
      return new ConsoleDisplay({ write, cols, logger });
    case 'matrix-orbital':
      return new CharLcdDisplay({ write, cols, rows, logger, commands: matrixOrbitalCommands({ setSize: config.setSize }) });
    case 'serlcd':
      return new CharLcdDisplay({ write, cols, rows, logger, commands: serLcdCommands() });
    case 'text':
      return new TextDisplay({ write, cols, rows, logger });
  }
}
