/**
 * Every display, end to end: the real daemon process, the simulator on a real PTY and the
 * local provider. The config says 40x4 on purpose: the device's HELLO grid must win.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Stack, stacksForThisFile } from '../helpers/stack.js';
import { decodeQr } from '../helpers/sim-pixels.js';
import {
  chunksOf,
  CommandLog,
  pageIndicator,
  press,
  screenAfterKey,
  ScreenLog,
  urlRows,
  withoutScheme,
} from '../helpers/device-stack.js';

const stack = stacksForThisFile();

async function authorizeUrl(s: Stack): Promise<string> {
  await s.pendingToken();
  return (await s.status())!.pending!.authorizeUrl;
}

/**
 * Page through the URL on a character LCD: forward with `#`/`B` alternately, then back
 * with `*`/`A`. Returns the URL rows seen on each page, in the order the pages came.
 */
async function pageThrough(s: Stack, url: string, cols: number): Promise<{ forward: string[][]; backward: string[][] }> {
  const expected = chunksOf(withoutScheme(url), cols);
  const first = await s.waitForScreen((rows) => pageIndicator(rows)?.page === 1, 5000, 'page 1/N');
  const pages = pageIndicator(first)!.pages;
  const perPage = Math.ceil(expected.length / pages);
  const want = (page: number) => expected.slice((page - 1) * perPage, page * perPage);
  const showing = (page: number) => (rows: string[]) =>
    pageIndicator(rows)?.page === page && pageIndicator(rows)?.pages === pages && urlRows(rows).join('|') === want(page).join('|');

  const forward: string[][] = [urlRows(await screenAfterKey(s, showing(1), 'page 1'))];
  for (let p = 2; p <= pages + 1; p++) {
    press(s.sim, p % 2 === 0 ? '#' : 'B');
    const page = p > pages ? 1 : p; // past the last page: back to the first
    const rows = await screenAfterKey(s, showing(page), `page ${page}/${pages} after a next key`);
    if (p <= pages) forward.push(urlRows(rows));
  }
  const backward: string[][] = [];
  for (let p = pages; p >= 1; p--) {
    press(s.sim, p % 2 === 0 ? '*' : 'A');
    backward.push(urlRows(await screenAfterKey(s, showing(p), `page ${p}/${pages} after a previous key`)));
  }
  return { forward, backward };
}

function assertChunks(url: string, cols: number, pagesSeen: string[][]): void {
  const seen = pagesSeen.flat();
  const expected = chunksOf(withoutScheme(url), cols);
  assert.deepEqual(seen, expected, 'every chunk exactly once, in order');
  assert.equal(seen.join(''), withoutScheme(url), 'the chunks give the URL without its scheme');
  for (const c of seen.slice(0, -1)) assert.equal(c.length, cols, 'every chunk but the last fills the row');
}

describe('displays over a real PTY', () => {
  it('16x2 LCD: the HELLO grid wins over the config, URL paging shows every chunk once, PIN flow', async () => {
    const s = await stack({ profile: 'lcd16x2', keypadMode: 'keys' });
    const cmds = new CommandLog(s.sim);
    const d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    const url = await authorizeUrl(s);
    const { forward, backward } = await pageThrough(s, url, 16);
    assertChunks(url, 16, forward);
    assert.deepEqual(backward, forward.slice().reverse(), 'paging back shows the same pages in reverse');
    assert.ok(forward.length > 2, 'the URL needs several pages on a 16x2');

    const pin = await s.approve();
    press(s.sim, pin.slice(0, 3));
    await s.waitForText(`PIN: ${pin.slice(0, 3)}____`);
    press(s.sim, pin.slice(3));
    await d.waitForState('authorized');
    await s.waitForScreen((r) => r[0]!.startsWith('Authorized as') && r[1]!.startsWith('@twitterapi'), 5000, 'authorized');
    assert.deepEqual(cmds.errors(), [], 'the device never answered ERR (no row/col outside its 16x2 grid)');
    assert.equal(s.sim.cursor.visible, false, 'no cursor once authorized');
  });

  it('20x4 LCD: status screens, countdown, PIN echo, paging, checking, authorized; an error screen with retry', async () => {
    const s = await stack({ profile: 'lcd20x4', keypadMode: 'keys', config: (c) => void (c.provider.requestTokenTtlSec = 62) });
    const screens = new ScreenLog(s.sim);
    const cmds = new CommandLog(s.sim);
    s.provider.faults.fail5xx = { count: 2, endpoint: 'request_token' };
    const d = s.spawn(['run']);
    await d.waitForState('waiting');
    const err = await s.waitForScreen((r) => /retry in \d+[ms]/.test(r.join('\n')), 5000, 'error screen with a retry countdown');
    assert.notEqual(err[0]!.trim(), '', 'the error screen has a title');
    assert.ok(!/Open link/.test(err.join('\n')));
    await d.waitForState('awaiting_pin', 10_000);
    assert.ok(screens.find((sc) => sc.startsWith('Getting a code')), 'showed "Getting a code"');
    assert.equal(s.provider.stats().request_token.requests, 3, 'two failures, then a code');

    const url = await authorizeUrl(s);
    const rows = await s.waitForScreen((r) => /^PIN: _{7} \d+[ms]$/.test(r[3]!.trimEnd()), 5000, 'PIN row with countdown');
    assert.match(rows[0]!, /^Open link:/);
    const { forward } = await pageThrough(s, url, 20);
    assertChunks(url, 20, forward);

    // The countdown runs down on its own.
    // (The request token lives 62 s here: 2m, then 1m, then seconds, within a few seconds.)
    const left = (r: string[]) => / (\d+[ms])$/.exec(r[3]!.trimEnd())?.[1];
    const shown = left(await s.waitForScreen((r) => left(r) !== undefined));
    await s.waitForScreen((r) => left(r) !== undefined && left(r) !== shown, 5000, 'the countdown to move');

    const pin = await s.approve();
    s.provider.faults.delayMs = 400;
    s.provider.faults.delayEndpoint = 'access_token';
    const before = screens.screens.length;
    press(s.sim, pin.slice(0, 2));
    await s.waitForText(`PIN: ${pin.slice(0, 2)}_____`);
    assert.deepEqual(s.sim.cursor, { col: 7, row: 3, visible: true }, 'the cursor sits where the next digit goes');
    press(s.sim, pin.slice(2));
    await d.waitForState('authorized');
    await s.waitForScreen((r) => r[0]!.startsWith('Authorized as') && r[1]!.trimEnd() === '@twitterapi', 5000, 'authorized');
    assert.ok(screens.find((sc) => sc.startsWith('Checking PIN...'), before), 'showed "Checking PIN..."');
    assert.deepEqual(cmds.errors(), []);
    await s.waitForScreen(() => s.sim.led === 'ok' && s.sim.beeps.at(-1) === 'ok', 5000, 'green LED and an OK beep');
    assert.equal(s.sim.beeps.filter((b) => b === 'ok').length, 1, 'one OK beep');
  });

  it('128x64 OLED: the QR code on the framebuffer decodes to the exact authorize URL; # shows the URL as text', async () => {
    const s = await stack({ profile: 'oled128x64', keypadMode: 'keys' });
    const cmds = new CommandLog(s.sim);
    const d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    const url = await authorizeUrl(s);
    await s.waitForScreen(() => decodeQr(s.sim.pixels()) === url, 5000, 'a QR code of the URL');
    const side = s.screen().map((r) => r.trimEnd());
    assert.ok(side.some((r) => /PIN: _{7}/.test(r)), `PIN entry beside the QR code:\n${side.join('\n')}`);
    assert.ok(side.some((r) => /\b\d+[ms]\b/.test(r)), `the countdown beside the QR code (not cut):\n${side.join('\n')}`);

    // The following pages: the URL as text, each chunk once.
    const textPages: string[][] = [];
    for (;;) {
      press(s.sim, '#');
      const rows = await s.waitForScreen((r) => {
        const p = pageIndicator(r);
        // Rows are sent top to bottom: the PIN row at the bottom means the frame is complete.
        return p !== null && p.page === textPages.length + 2 && r[r.length - 1]!.startsWith('PIN:');
      }, 5000, `text page ${textPages.length + 2}`);
      // The OLED text page: rows 1.. up to the footer.
      textPages.push(urlRows(rows).filter((r) => !r.startsWith('PIN:')));
      if (pageIndicator(rows)!.page === pageIndicator(rows)!.pages) break;
    }
    assert.equal(textPages.flat().join(''), withoutScheme(url));
    press(s.sim, '#');
    await s.waitForScreen(() => decodeQr(s.sim.pixels()) === url, 5000, 'the QR code again after the last text page');

    const pin = await s.approve();
    press(s.sim, pin);
    await d.waitForState('authorized');
    await s.waitForText('@twitterapi');
    assert.equal(decodeQr(s.sim.pixels()), null, 'the QR code is gone once authorized');
    assert.deepEqual(cmds.errors(), []);
  });

  it('text driver: the URL printed whole (in rows), a line keypad, authorized', async () => {
    const s = await stack({ profile: 'text', keypadMode: 'line' });
    const d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    const url = await authorizeUrl(s);
    await s.waitForText('Open link:');
    const idx = s.sim.printed.lastIndexOf('Open link:');
    const body = s.sim.printed.slice(idx + 1).filter((l) => !l.startsWith('PIN:') && l !== '');
    assert.equal(body.join(''), withoutScheme(url));
    assert.ok(s.sim.printed.some((l) => /^PIN: _{7} \d+[ms]$/.test(l)));
    const pin = await s.approve();
    s.sim.typeLine(pin);
    await d.waitForState('authorized');
    await s.waitForText('@twitterapi');
  });
});
