/**
 * The reference firmware (firmware/), compiled from source and run unmodified in the emulator
 * (test/firmware/board.ts): every line of docs/protocol.md and its edge cases, straight on the
 * board's UART, with the screen read back from the HD44780 model. The board's time is its own,
 * so each step runs to the point where the firmware sleeps with nothing left to do.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { SimDevice } from '../../firmware-sim/device.js';
import { Board } from '../firmware/board.js';
import { buildFirmware, type FirmwareBuild } from '../firmware/build.js';

/** A board with the output it sent, split into lines. */
async function boot(build: FirmwareBuild, extra: Partial<ConstructorParameters<typeof Board>[0]> = {}): Promise<{ board: Board; lines: () => string[] }> {
  const board = new Board({ hexPath: build.hexPath, cols: 20, rows: 4, keypadCols: 4, ...extra });
  let out = '';
  board.on('output', (c) => (out += c.toString('latin1')));
  await board.idle();
  let seen = 0;
  return {
    board,
    // The lines completed since the last call.
    lines: () => {
      const all = out.split('\n').slice(0, -1);
      const fresh = all.slice(seen);
      seen = all.length;
      return fresh;
    },
  };
}

async function send(board: Board, text: string): Promise<void> {
  board.feed(Buffer.from(text, 'latin1'));
  await board.idle();
}

describe('reference firmware: the protocol, 20x4 parallel', () => {
  let build: FirmwareBuild;
  before(() => {
    build = buildFirmware('lcd20x4-parallel');
  });

  it('fits the chip: flash, static RAM, and the deepest stack seen', async () => {
    assert.ok(build.flash < 32 * 1024 * 0.5, `flash ${build.flash} B`);
    const { board } = await boot(build);
    await send(board, 'CLR\nROW 0 ' + 'x'.repeat(30) + '\nAT 3 3 abc\nCUR 2 2\nBEEP ERR\nLED OK\n?\nFOO\n');
    board.press('12#');
    await board.idle();
    const stack = board.stackUsed(build.bssEnd);
    assert.ok(stack > 0 && build.ram + stack < 2048 - 1024, `RAM ${build.ram} B + stack ${stack} B leaves at least 1 KiB`);
    board.stop();
  });

  it('HELLO at power-on and on ?, then asleep with no timer running', async () => {
    const { board, lines } = await boot(build);
    const hello = 'HELLO pinpad/1 kind=lcd cols=20 rows=4 caps=backlight,cursor,beep,led keys=keys fw=pinpad-avr-1.0-par';
    assert.deepEqual(lines(), [hello]);
    assert.ok(board.asleep, 'sleeping with nothing scheduled');
    await send(board, '?\n');
    assert.deepEqual(lines(), [hello]);
    assert.deepEqual(board.screenText(), ['', '', '', ''].map(() => ' '.repeat(20)));
    assert.equal(board.backlight, true);
    board.stop();
  });

  it('CLR, ROW, AT and CUR draw what the protocol says, cut at the row end', async () => {
    const { board, lines } = await boot(build);
    lines();
    await send(board, 'ROW 0 Open link:   1/5\nROW 1 api.x.com/oauth/authorize?oauth_token=x\nROW 2 second\nROW 3 PIN: _______ 15m\n');
    assert.deepEqual(board.screenText(), ['Open link:   1/5    ', 'api.x.com/oauth/auth', 'second              ', 'PIN: _______ 15m    ']);
    // AT touches only its cells and never runs on into the row that continues it in DDRAM.
    await send(board, 'AT 13 0 2\nAT 17 1 XYZW\nAT 5 3 42\nROW 2\n');
    assert.deepEqual(board.screenText(), ['Open link:   2/5    ', 'api.x.com/oauth/aXYZ', '                    ', 'PIN: 42_____ 15m    ']);
    // The cursor stays where CUR put it while text is written elsewhere.
    await send(board, 'CUR 7 3\nROW 0 Title\nAT 17 3 14m\n');
    assert.deepEqual(board.lcd.cursor(), { col: 7, row: 3, blink: false });
    await send(board, 'CUR OFF\n');
    assert.equal(board.lcd.cursor(), null);
    await send(board, 'CLR\n');
    assert.deepEqual(board.screenText(), Array(4).fill(' '.repeat(20)));
    assert.deepEqual(lines(), [], 'no ERR for good lines');
    assert.deepEqual(board.lcd.violations, []);
    board.stop();
  });

  it('answers every bad line with the ERR firmware-sim gives, and changes nothing', async () => {
    const { board, lines } = await boot(build);
    const sim = new SimDevice({ profile: 'lcd20x4', keypadMode: 'keys', delimiter: 'LF' });
    let simOut = '';
    sim.on('output', (c: Buffer) => (simOut += c.toString('latin1')));
    await send(board, 'ROW 0 before\n');
    sim.feed('ROW 0 before\n');
    lines();
    simOut = '';
    const bad: Array<[string, string]> = [
      ['FOO', 'unknown command'],
      ['clr', 'unknown command'],
      [' CLR', 'unknown command'],
      ['CLR now', 'too many arguments'],
      ['? x', 'too many arguments'],
      ['ROW', 'bad row'],
      ['ROW x text', 'bad row'],
      ['ROW 0001 text', 'bad row'],
      ['ROW 4 text', 'row out of range'],
      ['AT 20 0 x', 'col out of range'],
      ['AT a 0 x', 'bad col'],
      ['AT 0 4 x', 'row out of range'],
      ['AT 0', 'bad row'],
      ['CUR 20 0', 'col out of range'],
      ['CUR 1 1 1', 'too many arguments'],
      ['CUR OFF now', 'too many arguments'],
      ['BL', 'bad argument'],
      ['BL DIM', 'bad argument'],
      ['BL ON OFF', 'too many arguments'],
      ['BEEP LOUD', 'bad argument'],
      ['LED BLUE', 'bad argument'],
      ['BMP 0 0 8 1 FF', 'no bitmap'],
      ['ROW 0 caf\xe9', 'bad byte'],
      ['ROW 0 tab\there', 'bad byte'],
      ['ROW 0 nul\x00', 'bad byte'],
    ];
    for (const [line, error] of bad) {
      await send(board, `${line}\n`);
      sim.feed(Buffer.from(`${line}\n`, 'latin1'));
      assert.deepEqual(lines(), [`ERR ${error}`], JSON.stringify(line));
      assert.equal(simOut, `ERR ${error}\n`, `firmware-sim agrees on ${JSON.stringify(line)}`);
      simOut = '';
    }
    assert.equal(board.screenText()[0], 'before              ');
    assert.equal(board.backlight, true);
    assert.deepEqual(board.beeps, []);
    assert.equal(board.led, 'off');
    board.stop();
  });

  it('the 128-byte line limit: 127 bytes and the LF are taken, one more is an ERR, and the next line works', async () => {
    const { board, lines } = await boot(build);
    lines();
    const text = (n: number) => 'ROW 0 ' + 'abcdefghij'.repeat(13).slice(0, n - 6);
    await send(board, `${text(127)}\n`);
    assert.deepEqual(lines(), []);
    assert.equal(board.screenText()[0], 'abcdefghijabcdefghij');
    await send(board, `${text(128)}\nROW 1 after\n`);
    assert.deepEqual(lines(), ['ERR line too long']);
    assert.equal(board.screenText()[0], 'abcdefghijabcdefghij');
    assert.equal(board.screenText()[1], 'after               ');
    // A long run without a line end costs one ERR when the LF finally comes, nothing more.
    await send(board, `ROW 2 ${'z'.repeat(2000)}\nROW 3 still here\n`);
    assert.deepEqual(lines(), ['ERR line too long']);
    assert.deepEqual(board.screenText().slice(2), ['                    ', 'still here          ']);
    // CRLF is tolerated; an empty line is nothing.
    await send(board, 'ROW 2 crlf\r\n\n');
    assert.deepEqual(lines(), []);
    assert.equal(board.screenText()[2], 'crlf                ');
    board.stop();
  });

  it('backlight, LEDs, beeps, and \\ and ~ drawn as custom characters', async () => {
    const { board, lines } = await boot(build);
    lines();
    await send(board, 'BL OFF\n');
    assert.equal(board.backlight, false);
    await send(board, 'BL ON\nLED OK\n');
    assert.equal(board.backlight, true);
    assert.equal(board.led, 'ok');
    await send(board, 'LED ERR\n');
    assert.equal(board.led, 'err');
    await send(board, 'LED OFF\nBEEP OK\n');
    assert.equal(board.led, 'off');
    assert.deepEqual(board.beeps, [80]);
    await send(board, 'BEEP ERR\n');
    assert.deepEqual(board.beeps, [80, 150, 150]);
    await send(board, 'ROW 0 a\\b~c\n');
    assert.equal(board.screenText()[0], 'a\ue000b\ue001c'.padEnd(20));
    const picture = (code: number) => board.lcd.cgramPattern(code).map((bits) => bits.toString(2).padStart(5, '0').replaceAll('0', '.').replaceAll('1', '#'));
    assert.deepEqual(picture(0), ['.....', '#....', '.#...', '..#..', '...#.', '....#', '.....', '.....']);
    assert.deepEqual(picture(1), ['.....', '.....', '.....', '.##.#', '#..#.', '.....', '.....', '.....']);
    assert.deepEqual(lines(), []);
    board.stop();
  });

  it('keys: one line per press on a 4x4 keypad, also when the contacts bounce', async () => {
    const { board, lines } = await boot(build, { bounceMs: 15 });
    lines();
    board.press('123A456B789C*0#D');
    await board.idle();
    assert.deepEqual(lines(), [...'123A456B789C*0#D']);
    assert.ok(board.asleep);
    board.stop();
  });
});

describe('reference firmware: 3x4 keypad and the I2C backpack', () => {
  let build: FirmwareBuild;
  before(() => {
    build = buildFirmware('lcd20x4-i2c-3x4');
  });

  it('keys of a 3x4 keypad, and the LCD through the PCF8574', async () => {
    const { board, lines } = await boot(build, { i2cAddress: 0x27, keypadCols: 3 });
    assert.deepEqual(lines(), ['HELLO pinpad/1 kind=lcd cols=20 rows=4 caps=backlight,cursor,beep,led keys=keys fw=pinpad-avr-1.0-i2c']);
    board.press('123456789*0#');
    await board.idle();
    assert.deepEqual(lines(), [...'123456789*0#']);
    await send(board, 'ROW 0 row zero\nROW 1 row one\nROW 2 row two\nROW 3 row three\nBL OFF\n');
    assert.deepEqual(board.screenText().map((r) => r.trimEnd()), ['row zero', 'row one', 'row two', 'row three']);
    assert.equal(board.backlight, false);
    assert.deepEqual(board.lcd.violations, []);
    board.stop();
  });

  it('a backpack at another address: HELLO, then ERR no LCD', async () => {
    const { board, lines } = await boot(build, { i2cAddress: 0x3f, keypadCols: 3 });
    assert.deepEqual(lines().slice(1), ['ERR no LCD on I2C']);
    board.stop();
  });
});

describe('reference firmware: no buzzer or LEDs, 115200 baud', () => {
  let build: FirmwareBuild;
  before(() => {
    build = buildFirmware('lcd16x2-i2c-minimal-115200');
  });

  it('leaves beep and led out of the HELLO and answers them with ERR', async () => {
    const { board, lines } = await boot(build, { cols: 16, rows: 2, i2cAddress: 0x27 });
    assert.deepEqual(lines(), ['HELLO pinpad/1 kind=lcd cols=16 rows=2 caps=backlight,cursor keys=keys fw=pinpad-avr-1.0-i2c']);
    await send(board, 'BEEP OK\nLED OK\nROW 1 still fine\n');
    assert.deepEqual(lines(), ['ERR no beep', 'ERR no led']);
    assert.equal(board.screenText()[1], 'still fine      ');
    board.stop();
  });

  it('a burst faster than the LCD can take: the lines that lost bytes are dropped with an ERR, the rest drawn whole', async () => {
    const { board, lines } = await boot(build, { cols: 16, rows: 2, i2cAddress: 0x27 });
    lines();
    // Over I2C a 16-character row takes about 9 ms to draw; at 115200 baud its line arrives in
    // 2 ms, so 40 of them overflow the 256-byte receive buffer.
    const sent = Array.from({ length: 40 }, (_, i) => `ROW ${i % 2} line ${String(i).padStart(2, '0')} ${'-'.repeat(6)}`);
    await send(board, sent.map((l) => `${l}\n`).join(''));
    const replies = lines();
    assert.ok(replies.length > 0, 'some bytes were lost');
    assert.deepEqual(new Set(replies), new Set(['ERR bytes lost']));
    const drawn = new Set(sent.map((l) => l.slice(6)));
    for (const row of board.screenText()) assert.ok(drawn.has(row.trimEnd()), `a whole line on the LCD: ${JSON.stringify(row)}`);
    // Bytes lost at the very end took the last LF with them: a line end closes that line (one
    // more ERR at most), and the next line is drawn.
    await send(board, '\nROW 0 after it\n');
    assert.ok(lines().every((l) => l === 'ERR bytes lost'));
    assert.equal(board.screenText()[0], 'after it        ');
    assert.deepEqual(board.lcd.violations, []);
    board.stop();
  });
});
