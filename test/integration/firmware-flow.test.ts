/**
 * The whole PIN flow on the reference firmware: the real daemon process (dist/) opens a real
 * PTY whose other end is the UART of an emulated ATmega328P running firmware/ compiled from
 * source, unmodified (test/firmware/board.ts); the local provider answers on 127.0.0.1. The
 * URL is read off the emulated LCD page by page and the PIN pressed key by key on the
 * emulated keypad, as a person would.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Board } from '../firmware/board.js';
import { buildFirmware } from '../firmware/build.js';
import { awaitingPinFrame, chunksOf, pageIndicator, urlRows, withoutScheme } from '../helpers/device-stack.js';
import { stacksForThisFile, type DaemonProcess, type Stack } from '../helpers/stack.js';

const stack = stacksForThisFile();

interface Variant {
  name: string;
  cols: number;
  rows: number;
  i2c: boolean;
}

async function start(v: Variant): Promise<{ s: Stack<Board>; board: Board; d: DaemonProcess; url: string; deviceLines: string[] }> {
  const build = buildFirmware(v.name);
  const board = new Board({ hexPath: build.hexPath, cols: v.cols, rows: v.rows, i2cAddress: v.i2c ? 0x27 : undefined, keypadCols: 4 });
  const deviceLines: string[] = [];
  let partial = '';
  board.on('output', (chunk) => {
    const lines = (partial + chunk.toString('latin1')).split('\n');
    partial = lines.pop()!;
    deviceLines.push(...lines);
  });
  // As docs/hardware.md says: the config names the LCD's size, for the moment before the HELLO.
  const s = await stack({ device: board, config: (cfg) => Object.assign(cfg.display, { cols: v.cols, rows: v.rows }) });
  const d = s.spawn(['run']);
  await d.waitForState('awaiting_pin');
  const url = (await s.status())!.pending!.authorizeUrl;
  return { s, board, d, url, deviceLines };
}

/**
 * Every page of the URL as the LCD shows it, paging on with # (nothing typed yet). A page counts
 * once the LCD shows its whole slice of the URL: the firmware draws a page a line at a time.
 */
async function readUrlPages(s: Stack<Board>, board: Board, url: string, v: Variant): Promise<string> {
  const perPage = v.cols * (v.rows === 2 ? 1 : v.rows - 2);
  const slices = chunksOf(withoutScheme(url), perPage);
  let shown = '';
  for (let page = 1; page <= slices.length; page++) {
    if (page > 1) board.press('#');
    const rows = await s.waitForScreen(
      (r) => pageIndicator(r)?.page === page && pageIndicator(r)?.pages === slices.length && urlRows(r).join('') === slices[page - 1],
      10_000,
      `page ${page} of ${slices.length}: ${slices[page - 1]}`,
    );
    shown += urlRows(rows).join('');
  }
  return shown;
}

/** Press digits one at a time, each echoed on the LCD before the next. */
async function typeDigits(s: Stack<Board>, board: Board, digits: string, already = ''): Promise<void> {
  for (let i = 0; i < digits.length; i++) {
    board.press(digits[i]!);
    await s.waitForText(`PIN: ${already + digits.slice(0, i + 1)}`, 10_000);
  }
}

function assertClean(d: DaemonProcess, board: Board, deviceLines: string[]): void {
  assert.deepEqual(deviceLines.filter((l) => l.startsWith('ERR')), [], 'the firmware rejected no line');
  assert.equal(d.logs.filter((l) => l.msg === 'display reported an error').length, 0);
  assert.deepEqual(board.lcd.violations, [], 'the LCD was driven within the datasheet');
}

describe('reference firmware in the emulator: the whole PIN flow with the real daemon', () => {
  for (const v of [
    { name: 'lcd20x4-i2c', cols: 20, rows: 4, i2c: true },
    { name: 'lcd16x2-parallel', cols: 16, rows: 2, i2c: false },
  ]) {
    it(`${v.name}: URL read off the LCD, PIN pressed on the keypad, token stored`, async () => {
      const { s, board, d, url, deviceLines } = await start(v);
      assert.equal(await readUrlPages(s, board, url, v), withoutScheme(url));
      const pin = await s.approve();
      await typeDigits(s, board, pin.slice(0, -1));
      board.press(pin.slice(-1)); // the last digit submits the PIN
      await d.waitForState('authorized');
      await s.waitForText('@twitterapi');
      const store = await s.readStore();
      assert.equal(store.accounts[0].screenName, 'twitterapi');
      assert.equal(store.pending, null);
      await s.waitForScreen(() => board.led === 'ok' && board.beeps.length > 0, 5000, 'the green LED and a beep');
      assert.deepEqual(board.beeps, [80], 'one short beep for OK');
      assert.ok(deviceLines[0]!.startsWith(`HELLO pinpad/1 kind=lcd cols=${v.cols} rows=${v.rows} `), deviceLines[0]);
      assertClean(d, board, deviceLines);
      assert.equal(await d.stop('SIGTERM'), 0);
    });
  }

  it('lcd20x4-i2c: the chip reset mid-PIN: HELLO again, the screen redrawn, the digits kept, the flow completes', async () => {
    const { s, board, d, url, deviceLines } = await start({ name: 'lcd20x4-i2c', cols: 20, rows: 4, i2c: true });
    await s.waitForScreen(awaitingPinFrame(url, ''), 15_000, 'the first frame');
    const pin = await s.approve();
    await typeDigits(s, board, pin.slice(0, 4));
    await s.waitForScreen(awaitingPinFrame(url, pin.slice(0, 4)), 5000, 'four digits echoed');
    const hellos = deviceLines.filter((l) => l.startsWith('HELLO')).length;
    board.reset();
    // The firmware starts again: the LCD goes blank as it is set up, then the daemon redraws.
    await s.waitForScreen((rows) => rows.every((r) => r.trim() === ''), 10_000, 'the LCD blank after the reset');
    await s.waitForScreen(awaitingPinFrame(url, pin.slice(0, 4)), 15_000, 'the frame redrawn after the reset');
    assert.equal(deviceLines.filter((l) => l.startsWith('HELLO')).length, hellos + 1, 'one power-on HELLO');
    await typeDigits(s, board, pin.slice(4, -1), pin.slice(0, 4));
    board.press(pin.slice(-1));
    await d.waitForState('authorized');
    await s.waitForText('@twitterapi');
    assert.equal((await s.readStore()).accounts[0].screenName, 'twitterapi');
    assertClean(d, board, deviceLines);
  });
});
