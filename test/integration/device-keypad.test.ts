/**
 * The keypad end to end: garbage on the line, a firmware reset, the keys of keys mode and
 * separators in line mode, and a keypad on its own port.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Stack, type StackOptions } from '../helpers/stack.js';
import { CommandLog, countLogs, press, rssKb, secondPtyDevice } from '../helpers/device-stack.js';

const stacks: Stack[] = [];
const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  await Promise.all(stacks.map((s) => s.close()));
  await Promise.all(cleanups.map((c) => c()));
});
async function stack(opts: StackOptions): Promise<Stack> {
  const s = await Stack.start(opts);
  stacks.push(s);
  return s;
}

const oauthToken = (url: string): string => new URL(url).searchParams.get('oauth_token')!;
const pinRow = (entered: string) => (rows: string[]) => rows[3]!.startsWith(`PIN: ${entered}${'_'.repeat(7 - entered.length)} `);

describe('keypad over a real PTY (20x4, keys mode)', () => {
  it('garbage on the keypad line: no crash, bounded memory, no PIN sent; a real PIN works afterwards', async (t) => {
    const s = await stack({ profile: 'lcd20x4', keypadMode: 'keys' });
    const d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    await s.waitForScreen(pinRow(''), 5000, 'PIN row');
    const pid = d.child.pid!;
    const before = await rssKb(pid);

    // Random bytes, in lines that can never be a key: each starts and ends with DEL.
    for (let i = 0; i < 200; i++) {
      const junk = Buffer.from(randomBytes(8 + (i % 120)).filter((b) => b !== 0x0a));
      s.sim.sendRaw(Buffer.concat([Buffer.from([0x7f]), junk, Buffer.from([0x7f, 0x0a])]));
    }
    s.sim.sendRaw(Buffer.from([0x00, 0x01, 0x1b, 0x5b, 0x41, 0x07, 0x0a])); // control bytes, an escape sequence
    s.sim.sendRaw(Buffer.from([0xc3, 0x28, 0x0a, 0xff, 0xfe, 0x0a, 0xe2, 0x82, 0x0a])); // invalid UTF-8
    s.sim.sendRaw('caf\u00e9\n'); // latin1 0xE9: invalid UTF-8 too
    for (const l of ['X', 'hello', 'pin', '1234567890', '#1', 'E', 'a b']) s.sim.typeLine(l); // letters and wrong shapes
    // A 1 MiB line without a delimiter, in 64 KiB pieces, then its end.
    const big = Buffer.alloc(64 * 1024, 0x37); // '7' * 65536: digits, but no line ends
    for (let i = 0; i < 16; i++) s.sim.sendRaw(big);
    s.sim.sendRaw('\n');
    // A marker after the flood: once the daemon has seen it, it has seen all of the above.
    s.sim.pressKey('C');
    s.sim.pressKey('5');
    await s.waitForScreen(pinRow('5'), 20_000, 'the digit after the garbage');
    s.sim.pressKey('*');
    await s.waitForScreen(pinRow(''), 5000, 'the entry empty again');

    const after = await rssKb(pid);
    const growthMb = (after - before) / 1024;
    t.diagnostic(`daemon RSS ${before} kB -> ${after} kB (${growthMb.toFixed(1)} MB) after ~1.1 MB of garbage`);
    assert.ok(growthMb < 30, `RSS grew by ${growthMb.toFixed(1)} MB`);
    assert.equal(d.child.exitCode, null, 'still running');
    assert.equal(s.provider.stats().access_token.requests, 0, 'no garbage ever reached the provider as a PIN');
    assert.equal((await s.status())!.state, 'awaiting_pin');
    // The garbage was seen and summed up in one warning, not one line each.
    const summary = await d.waitForLog((l) => l.msg?.startsWith('keypad input ignored') === true, 5000, 'the noise summary');
    const reasons = summary.reasons as Record<string, number>;
    t.diagnostic(`noise summary: ${JSON.stringify(reasons)}`);
    for (const r of ['overlong line', 'invalid UTF-8', 'control bytes', 'unknown key']) assert.ok((reasons[r] ?? 0) > 0, `counted: ${r}`);
    assert.equal(d.logs.filter((l) => l.msg?.startsWith('keypad input ignored')).length, 1);

    const pin = await s.approve();
    press(s.sim, pin);
    await d.waitForState('authorized');
    assert.equal(s.provider.stats().access_token.requests, 1);
  });

  it('a firmware reset (fresh HELLO) gets a full redraw in the same state, the entry kept', async () => {
    const s = await stack({ profile: 'lcd20x4', keypadMode: 'keys' });
    const cmds = new CommandLog(s.sim);
    const d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    press(s.sim, '42');
    const frame = await s.waitForScreen(pinRow('42'), 5000, 'echo');
    const states = d.logs.filter((l) => l.msg?.startsWith('state ')).length;
    const mark = cmds.mark;
    s.sim.reset();
    assert.deepEqual(s.screen().map((r) => r.trim()), ['', '', '', ''], 'the reset blanked the screen');
    const again = await s.waitForScreen((r) => r.slice(0, 3).join('\n') === frame.slice(0, 3).join('\n') && pinRow('42')(r), 5000, 'the full frame again');
    assert.ok(again[0]!.startsWith('Open link:'));
    assert.equal(cmds.since(mark).filter((c) => c.name === 'CLR').length, 1, 'one full redraw');
    assert.equal(s.sim.backlight, true);
    assert.equal(d.logs.filter((l) => l.msg?.startsWith('state ')).length, states, 'same state');
    press(s.sim, '1');
    await s.waitForScreen(pinRow('421'), 5000, 'typing continues');
  });

  it('keys: * deletes, C clears, 00# and D give a fresh code, the 7th digit submits by itself', async () => {
    const s = await stack({ profile: 'lcd20x4', keypadMode: 'keys' });
    const d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    const url1 = (await s.status())!.pending!.authorizeUrl;

    press(s.sim, '123');
    await s.waitForScreen(pinRow('123'), 5000, '123');
    press(s.sim, '*');
    await s.waitForScreen(pinRow('12'), 5000, 'backspace');
    press(s.sim, 'C');
    await s.waitForScreen(pinRow(''), 5000, 'clear');

    press(s.sim, '00#');
    await d.waitForState('awaiting_pin', 10_000, 2);
    const url2 = (await s.status())!.pending!.authorizeUrl;
    assert.notEqual(oauthToken(url2), oauthToken(url1), '00# gives a new request token');
    await s.waitForScreen((r) => r[1]!.startsWith(url2.replace(/^https?:\/\//, '').slice(0, 20)) && pinRow('')(r), 5000, 'the new URL');

    press(s.sim, 'D');
    await d.waitForState('awaiting_pin', 10_000, 3);
    const url3 = (await s.status())!.pending!.authorizeUrl;
    assert.notEqual(oauthToken(url3), oauthToken(url2), 'D gives a new request token');
    assert.equal(s.provider.stats().access_token.requests, 0, 'none of this sent a PIN');

    const pin = await s.approve();
    press(s.sim, pin); // no '#': the 7th digit submits
    await d.waitForState('authorized');
    assert.equal(s.provider.stats().access_token.requests, 1);
  });
});

describe('line mode and a keypad on its own port', () => {
  it('line mode: 1234-567 style separators are accepted', async () => {
    const s = await stack({ profile: 'lcd20x4', keypadMode: 'line' });
    const d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    const pin = await s.approve();
    s.sim.typeLine(`${pin.slice(0, 4)}-${pin.slice(4)}`);
    await d.waitForState('authorized');
    await s.waitForText('@twitterapi');
  });

  it('two ports: the display on one PTY, the keypad (a text-profile device) on another', async () => {
    const dir = (await import('node:fs/promises')).mkdtemp;
    const keypadDir = await dir((await import('node:path')).join((await import('node:os')).tmpdir(), 'pinauthd-keypad-'));
    const kp = await secondPtyDevice(keypadDir, { profile: 'text', keypadMode: 'keys' });
    cleanups.push(async () => {
      await kp.link.close();
      await (await import('node:fs/promises')).rm(keypadDir, { recursive: true, force: true });
    });
    const s = await stack({ profile: 'lcd20x4', keypadMode: 'keys', config: (c) => (c.keypad.port = kp.link.hostPath) });
    const d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    await d.waitForLog((l) => l.msg === 'keypad open', 5000, 'keypad port open');
    await s.waitForScreen(pinRow(''), 5000, 'PIN row on the display');
    // Keys on the display's own port are not the keypad: ignored.
    s.sim.pressKey('9');
    press(kp.sim, '12');
    await s.waitForScreen(pinRow('12'), 5000, 'keypad echo on the display');
    assert.equal(kp.sim.printed.length, 0, 'nothing is drawn on the keypad port');

    // The keypad port drops and comes back: the display stays, the entry starts again.
    await kp.link.unplug();
    await d.waitForLog(() => countLogs(d, 'keypad unavailable; retrying') === 1, 5000, 'keypad outage');
    await kp.link.replug();
    await d.waitForLog(() => countLogs(d, 'keypad reconnected') === 1, 5000, 'keypad back');
    await s.waitForScreen(pinRow(''), 5000, 'entry cleared after the keypad outage');
    assert.equal(countLogs(d, 'display unavailable; retrying'), 0);

    const pin = await s.approve();
    press(kp.sim, pin);
    await d.waitForState('authorized');
    await s.waitForText('@twitterapi');
  });
});
