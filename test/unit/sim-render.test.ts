import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { SimDevice, renderScreen, runTui } from '../../firmware-sim/index.js';
import { captureOutput, started } from '../helpers/sim-lines.js';

test('renderScreen draws the LCD as a box with its rows and the outputs', async () => {
  const device = await started(new SimDevice({ profile: 'lcd16x2' }));
  device.feed(Buffer.from('ROW 0 Open on phone:\nROW 1 PIN: 12_____\nBL OFF\nLED OK\nBEEP ERR\nCUR 7 1\n'));
  assert.equal(
    renderScreen(device),
    [
      '┌────────────────┐',
      '│Open on phone:  │',
      '│PIN: 12_____    │',
      '└────────────────┘',
      'lcd16x2 16x2  backlight off  led ok  beeps 1 (last err)  cursor 7,1',
    ].join('\n'),
  );
});

test('renderScreen leaves out outputs the device lacks', async () => {
  const device = await started(new SimDevice({ profile: 'lcd20x4', caps: ['beep'] }));
  const last = renderScreen(device).split('\n').at(-1);
  assert.equal(last, 'lcd20x4 20x4  beeps 0');
});

test('renderScreen draws the OLED framebuffer in half blocks inside a light border', async () => {
  const device = await started(new SimDevice({ profile: 'oled128x64' }));
  // Pixel (0,0) dark, (1,1) dark, (2,0) and (2,1) dark.
  device.feed(Buffer.from('BMP 0 0 3 2 A0 60\n'));
  const lines = renderScreen(device).split('\n');
  const border = '█'.repeat(132);
  assert.equal(lines[0], border);
  assert.equal(lines[1], '██' + '▄▀ ' + '█'.repeat(125) + '██');
  for (let i = 2; i <= 32; i++) assert.equal(lines[i], '█'.repeat(132), `line ${i}`);
  assert.equal(lines[33], border);
  assert.equal(lines[34], '┌' + '─'.repeat(21) + '┐');
  assert.equal(lines.length, 1 + 32 + 1 + 10 + 1);
});

test('renderScreen crop keeps only the drawn area plus a margin', async () => {
  const device = await started(new SimDevice({ profile: 'oled128x64' }));
  device.feed(Buffer.from('BMP 10 10 1 1 80\n'));
  const lines = renderScreen(device, { crop: true }).split('\n');
  // x 6..14 (9 px) + 2x2 border; y 6..14 -> 5 character rows + 2 border rows.
  assert.equal(lines[0], '█'.repeat(13));
  assert.equal(lines.slice(0, 7).every((l) => [...l].length === 13), true);
  assert.equal(lines[3], '██' + '████' + '▄' + '████' + '██');
  assert.equal(lines[7], '┌' + '─'.repeat(21) + '┐');
});

test('renderScreen for the text profile shows the last lines', async () => {
  const device = new SimDevice({ profile: 'text', textCols: 6, textRows: 2 });
  device.feed(Buffer.from('a\nbc\n'));
  assert.equal(renderScreen(device), ['┌──────┐', '│a     │', '│bc    │', '└──────┘', 'text 6x2  plain text display'].join('\n'));
});

function fakeTerminal(size: { columns: number; rows?: number } = { columns: 200 }) {
  const stdin = new PassThrough();
  let written = '';
  const stdout = new Writable({
    write(chunk, _enc, done) {
      written += chunk.toString();
      done();
    },
  });
  return {
    stdin: stdin as unknown as NodeJS.ReadStream,
    stdout: Object.assign(stdout, size) as unknown as NodeJS.WriteStream,
    type: (text: string) => stdin.write(text),
    written: () => written,
  };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

test('the TUI maps keys (Enter=#, Backspace=*, Shift+A-D letter keys), redraws, and quits on q', async () => {
  const device = await started(new SimDevice({ profile: 'lcd16x2' }));
  const out = captureOutput(device);
  const term = fakeTerminal();
  let quit = 0;
  runTui({ device, stdin: term.stdin, stdout: term.stdout, header: ['HEADER'], onQuit: () => quit++ });
  // Lower-case letters are someone typing words, not the letter keys: not sent, and a hint.
  term.type('1A\r\x7fxc');
  await tick();
  assert.match(term.written(), /"c" is not a keypad key: the PIN is digits only/);
  term.type('q');
  await tick();
  assert.equal(out.text(), '1\nA\n#\n*\n');
  assert.equal(quit, 1);
  assert.match(term.written(), /HEADER/);
  device.feed(Buffer.from('ROW 0 after quit\n'));
  assert.doesNotMatch(term.written(), /after quit/, 'no drawing after quit');
});

test('the TUI in line mode edits a line and sends it on Enter', async () => {
  const device = await started(new SimDevice({ profile: 'text', keypadMode: 'line' }));
  const out = captureOutput(device);
  const term = fakeTerminal();
  let quit = 0;
  const stop = runTui({ device, stdin: term.stdin, stdout: term.stdout, onQuit: () => quit++ });
  term.type('12x\x7f3\r');
  await tick();
  assert.equal(out.text(), '123\n');
  device.feed(Buffer.from('shown on screen\n'));
  assert.match(term.written(), /shown on screen/);
  term.type('\x03');
  await tick();
  assert.equal(quit, 1);
  stop();
});

test('the TUI fits 80x24: lines are cut to the width but a header URL, kept whole; an OLED is drawn only where it fits', async () => {
  const device = await started(new SimDevice({ profile: 'oled128x64' }));
  const term = fakeTerminal({ columns: 80, rows: 24 });
  // As the demo shows it: 85 characters, which must open as they are.
  const url = '  http://127.0.0.1:8723/oauth/authorize?oauth_token=-CB4o58rCNXDZ832ApvPp4GA2EVwHjHz';
  const header = ['pinauthd demo', 'two', 'Open this URL in a browser on this machine, approve, and type the PIN:', url, 'five'];
  const stop = runTui({ device, stdin: term.stdin, stdout: term.stdout, header, onQuit: () => undefined });
  const last = term.written().split('\x1b[H\x1b[2J').at(-1)!.replace(/\n$/, '').split('\n');
  assert.ok(last.includes(url), 'the URL whole');
  const rows = last.reduce((n, l) => n + Math.max(1, Math.ceil(l.length / 80)), 0);
  assert.ok(rows <= 24, `${rows} rows`);
  for (const l of last) if (l !== url) assert.ok(l.length <= 80, l);
  stop();
  // Without pixels, a graphic display is its text grid: as wide as its columns.
  assert.ok(renderScreen(device, { pixels: false }).split('\n').every((l) => l.length <= 80));
});
