/**
 * A terminal face for the simulator: the LCD as a box, the OLED's framebuffer in half-block
 * characters (two pixel rows per character row, light pixels drawn as the terminal's
 * foreground so a QR code reads dark-on-light and scans from the screen), and the keypad
 * on the keyboard.
 */
import type { SimPanel } from './panel.js';

export interface RenderOptions {
  /** Draw only the part of the framebuffer with dark pixels (plus a margin), for narrow terminals. */
  crop?: boolean;
  /** Draw a graphic display's framebuffer (default true); without it, its text grid only. */
  pixels?: boolean;
}

const LIGHT_BOTH = '█';
const LIGHT_TOP = '▀';
const LIGHT_BOTTOM = '▄';
const DARK_BOTH = ' ';
/** Light border around the framebuffer, so a QR code has a quiet zone even at the screen's edge. */
const BORDER_COLS = 2;
const CROP_MARGIN_PX = 4;

/** The TUI's frame as plain text (no escape codes): pure, for tests and the daemon's demo. */
export function renderScreen(device: SimPanel, options: RenderOptions = {}): string {
  const parts: string[] = [];
  if (device.kind === 'graphic' && options.pixels !== false) parts.push(renderPixels(device, options));
  parts.push(renderTextBox(device.screenText()));
  parts.push(renderStatus(device));
  return parts.join('\n');
}

function renderTextBox(rows: string[]): string {
  const width = rows[0]?.length ?? 0;
  return [`┌${'─'.repeat(width)}┐`, ...rows.map((row) => `│${row}│`), `└${'─'.repeat(width)}┘`].join('\n');
}

function renderPixels(device: SimPanel, options: RenderOptions): string {
  const { width, height, data } = device.pixels();
  let x0 = 0;
  let x1 = width;
  let y0 = 0;
  let y1 = height;
  if (options.crop) {
    let minX = width;
    let maxX = -1;
    let minY = height;
    let maxY = -1;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (data[y * width + x]) {
          minX = Math.min(minX, x);
          maxX = Math.max(maxX, x);
          minY = Math.min(minY, y);
          maxY = Math.max(maxY, y);
        }
      }
    }
    if (maxX < 0) return '(framebuffer blank)';
    x0 = Math.max(0, minX - CROP_MARGIN_PX);
    x1 = Math.min(width, maxX + 1 + CROP_MARGIN_PX);
    y0 = Math.max(0, minY - CROP_MARGIN_PX) & ~1;
    y1 = Math.min(height, maxY + 1 + CROP_MARGIN_PX);
  }
  const dark = (x: number, y: number): boolean => y < y1 && data[y * width + x] === 1;
  const border = LIGHT_BOTH.repeat(x1 - x0 + 2 * BORDER_COLS);
  const lines = [border];
  for (let y = y0; y < y1; y += 2) {
    let line = LIGHT_BOTH.repeat(BORDER_COLS);
    for (let x = x0; x < x1; x++) {
      const top = dark(x, y);
      const bottom = y + 1 >= y1 ? false : dark(x, y + 1);
      line += top ? (bottom ? DARK_BOTH : LIGHT_BOTTOM) : bottom ? LIGHT_TOP : LIGHT_BOTH;
    }
    lines.push(line + LIGHT_BOTH.repeat(BORDER_COLS));
  }
  lines.push(border);
  return lines.join('\n');
}

function renderStatus(device: SimPanel): string {
  const parts = [`${device.profile} ${device.cols}x${device.rows}`];
  if (device.kind === 'text') return parts.concat('plain text display').join('  ');
  if (device.caps.includes('backlight')) parts.push(`backlight ${device.backlight ? 'on' : 'off'}`);
  if (device.caps.includes('led')) parts.push(`led ${device.led}`);
  if (device.caps.includes('beep')) {
    const last = device.beeps[device.beeps.length - 1];
    parts.push(`beeps ${device.beeps.length}${last ? ` (last ${last})` : ''}`);
  }
  if (device.caps.includes('cursor')) {
    const c = device.cursor;
    parts.push(`cursor ${c.visible ? `${c.col},${c.row}` : 'off'}`);
  }
  return parts.join('  ');
}

export interface TuiOptions {
  device: SimPanel;
  /**
   * Lines shown above the screen (where to point the daemon, the URL to open); the caller may
   * change them and call redraw(). Never cut: a URL cut at the terminal's width would not open.
   */
  header?: string[];
  /** A keypad apart from the display (a simulated USB numpad): the keyboard's keys go to it. */
  keypad?: { pressKey(key: string): void };
  stdin?: NodeJS.ReadStream;
  stdout?: NodeJS.WriteStream;
  onQuit: () => void;
}

const LOG_LINES = 5;

/** Run the interactive UI until the person quits; returns a function that stops it, with `redraw()`. */
export function runTui(options: TuiOptions): (() => void) & { redraw: () => void } {
  const { device, onQuit } = options;
  const keypad = options.keypad ?? device;
  const keypadMode = options.keypad ? 'keys' : device.keypadMode;
  const stdin = options.stdin ?? process.stdin;
  const stdout = options.stdout ?? process.stdout;
  const header = options.header ?? [];
  const sent: string[] = [];
  const received: string[] = [];
  let editing = '';
  let hint = '';
  let stopped = false;

  const remember = (list: string[], line: string): void => {
    list.push(line);
    if (list.length > LOG_LINES) list.shift();
  };

  const draw = (): void => {
    if (stopped) return;
    const cols = stdout.columns || 80;
    const termRows = stdout.rows || 24;
    // A header line longer than the width (a URL) wraps: the terminal still copies it and
    // finds the link as one line, and it takes the rows it wraps to.
    const headerRows = header.reduce((n, l) => n + Math.max(1, Math.ceil(l.length / cols)), 0);
    const crop = cols < device.pixels().width + 2 * BORDER_COLS;
    const help =
      keypadMode === 'keys'
        ? 'keys: 0-9 * # Shift+A-D (letter keys)  Backspace=*  Enter=#  r=reset  q=quit'
        : keypadMode === 'none'
          ? 'this display has no keypad   r=reset  q=quit'
          : 'type a line, Enter sends it   Ctrl-R=reset  Ctrl-C=quit';
    const below = ['', `host> ${received.join('  |  ')}`, `sent> ${sent.join('  |  ')}`, ...(keypadMode === 'line' ? [`line> ${editing}_`] : []), ...(hint ? [hint] : []), help];
    // A graphic display's pixels only where the terminal has room for them (80x24 shows its text).
    let screen = renderScreen(device, { crop });
    if (device.kind === 'graphic' && headerRows + 1 + screen.split('\n').length + below.length > termRows) {
      screen = `${renderScreen(device, { pixels: false })}\n(the QR code on the display needs a terminal of ${screen.split('\n')[0]!.length}x${headerRows + 1 + screen.split('\n').length + below.length})`;
    }
    // Every other line within the terminal's width: a wrapped one would push the frame off the top.
    const cut = (l: string) => (l.length > cols ? l.slice(0, cols) : l);
    const frame = [...header, '', ...[screen, ...below].join('\n').split('\n').map(cut)];
    stdout.write(`\x1b[H\x1b[2J${frame.join('\n')}\n`);
  };

  const onCommand = (command: { raw: string; error?: string }): void => {
    remember(received, command.error ? `${command.raw || '(too long)'} -> ERR ${command.error}` : command.raw);
    draw();
  };
  const onOutput = (chunk: Buffer): void => {
    remember(sent, JSON.stringify(chunk.toString('latin1')));
    draw();
  };

  const onKeys = (chunk: Buffer): void => {
    for (const ch of chunk.toString('utf8')) {
      if (ch === '\x03') return quit();
      if (keypadMode === 'line') handleLineChar(ch);
      else handleKey(ch);
    }
    draw();
  };

  /**
   * Keys mode: the keyboard is the keypad. The letter keys A-D are Shift+a..d: a person typing
   * a PIN who hits a lower-case letter means a letter of a word, not a keypad function (`c`
   * would clear the entry); it is not sent, and the hint says the PIN is digits.
   */
  const handleKey = (ch: string): void => {
    hint = '';
    if (ch === 'q') return quit();
    if (ch === 'r') return device.reset();
    if (keypadMode === 'none') return;
    const key = ch === '\x7f' || ch === '\b' ? '*' : ch === '\r' || ch === '\n' ? '#' : ch;
    if (/^[0-9*#A-D]$/.test(key)) {
      try {
        keypad.pressKey(key);
      } catch {
        // a key this keypad does not have (a numpad's D)
      }
      return;
    }
    if (/^[a-zA-Z]$/.test(ch)) hint = `"${ch}" is not a keypad key: the PIN is digits only (letter keys: Shift+A-D)`;
  };

  const handleLineChar = (ch: string): void => {
    if (ch === '\x12') device.reset();
    else if (ch === '\x7f' || ch === '\b') editing = editing.slice(0, -1);
    else if (ch === '\r' || ch === '\n') {
      device.typeLine(editing);
      editing = '';
    } else if (ch >= ' ' && ch <= '~') editing += ch;
  };

  const quit = (): void => {
    stop();
    onQuit();
  };

  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    device.off('screen', draw);
    device.off('command', onCommand);
    device.off('output', onOutput);
    stdin.off('data', onKeys);
    stdout.off('resize', draw);
    if (stdin.isTTY) stdin.setRawMode(false);
    stdin.pause();
  };

  device.on('command', onCommand);
  device.on('screen', draw);
  device.on('output', onOutput);
  stdout.on('resize', draw);
  if (stdin.isTTY) stdin.setRawMode(true);
  stdin.on('data', onKeys);
  stdin.resume();
  draw();
  return Object.assign(stop, { redraw: draw });
}
