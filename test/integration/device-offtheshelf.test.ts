/**
 * Off-the-shelf devices end to end: the real daemon process drives a model of the device
 * (written from the vendor's manual) over a real PTY, and the PIN is typed on a keypad on
 * another port: a simulated USB numpad whose input events come through a FIFO standing in
 * for its /dev/input/by-id/...-event-kbd node (keypad.grab false: a FIFO takes no ioctl), or
 * an LK204-25's own keypad on the display's line.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { MatrixOrbitalSim } from '../../firmware-sim/matrix-orbital.js';
import type { SimPanel } from '../../firmware-sim/panel.js';
import type { PanelProfile } from '../../firmware-sim/profiles.js';
import type { SerLcdSim } from '../../firmware-sim/serlcd.js';
import { Stack } from '../helpers/stack.js';
import { chunksOf, countLogs, withoutScheme } from '../helpers/device-stack.js';

const stacks: Stack<SimPanel>[] = [];
after(() => Promise.all(stacks.map((s) => s.close())));
async function stack(profile: PanelProfile): Promise<Stack<SimPanel>> {
  const s = await Stack.startPanel(profile);
  stacks.push(s);
  return s;
}

const errorsOf = (s: Stack<SimPanel>) => (s.sim as MatrixOrbitalSim | SerLcdSim).errors();
const typist = (s: Stack<SimPanel>) => (s.numpad ?? s.sim);
const pinRow20 = (entered: string) => (rows: string[]) => rows[3]!.startsWith(`PIN: ${entered}${'_'.repeat(7 - entered.length)} `);

describe('the default shopping list: Adafruit USB+Serial backpack (20x4) + USB numeric keypad', () => {
  it('the whole PIN flow: URL on the LCD, the PIN typed key by key on the numpad, the token stored', async () => {
    const s = await stack('adafruit-backpack-20x4');
    const d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    await d.waitForLog((l) => l.msg === 'keypad open', 10_000, 'the numpad open');
    const url = (await s.status())!.pending!.authorizeUrl;
    await s.waitForScreen((r) => r[1]!.startsWith(withoutScheme(url).slice(0, 20)) && pinRow20('')(r), 10_000, 'URL and PIN row');
    assert.equal(s.sim.cursor.visible, true, 'the underline cursor marks the next digit');

    const pin = await s.approve();
    const keys = typist(s);
    keys.pressKey(pin[0]!);
    await s.waitForScreen(pinRow20(pin[0]!), 5000, 'the first digit echoed');
    keys.pressKey('*');
    await s.waitForScreen(pinRow20(''), 5000, '* deletes it');
    for (const k of pin) keys.pressKey(k);
    await d.waitForState('authorized');
    await s.waitForText('@twitterapi');
    const store = await s.readStoreWhen((st) => Object.keys(st.accounts ?? {}).length > 0);
    assert.equal(Object.keys(store.accounts).length, 1);
    assert.deepEqual(errorsOf(s), [], 'nothing the backpack does not know was sent');
  });

  it('the numpad unplugged and plugged back: the display stays, typing works again', async () => {
    const s = await stack('adafruit-backpack-20x4');
    const d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    await d.waitForLog((l) => l.msg === 'keypad open', 10_000, 'the numpad open');
    s.numpad!.pressKey('5');
    await s.waitForScreen(pinRow20('5'), 5000, 'echo');
    await s.numpad!.unplug();
    await d.waitForLog(() => countLogs(d, 'keypad unavailable; retrying') === 1, 5000, 'keypad outage');
    await s.numpad!.replug();
    await d.waitForLog(() => countLogs(d, 'keypad reconnected') === 1, 5000, 'keypad back');
    await s.waitForScreen(pinRow20(''), 5000, 'the entry starts again');
    assert.equal(countLogs(d, 'display unavailable; retrying'), 0);
    const pin = await s.approve();
    for (const k of pin) s.numpad!.pressKey(k);
    await d.waitForState('authorized');
  });

  it('the backpack unplugged and plugged back (a power cycle): set up again and redrawn', async () => {
    const s = await stack('adafruit-backpack-20x4');
    const d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    const frame = await s.waitForScreen(pinRow20(''), 10_000, 'PIN row');
    const sim = s.sim as MatrixOrbitalSim;
    await s.link.unplug();
    await d.waitForLog(() => countLogs(d, 'display unavailable; retrying') === 1, 5000, 'display outage');
    await (s.link as { replug(): Promise<void> }).replug();
    await s.waitForScreen((r) => r.join('\n') === frame.join('\n'), 10_000, 'the same frame after the power cycle');
    assert.equal(sim.lcdCols, 20, 'the size command was sent again');
    assert.equal(sim.autoScroll, false);
    assert.deepEqual(errorsOf(s), []);
  });
});

describe('other off-the-shelf displays', () => {
  it('a 16x2 backpack: the URL read page by page with + off the glass is the authorize URL', async () => {
    const s = await stack('adafruit-backpack');
    const d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    await d.waitForLog((l) => l.msg === 'keypad open', 10_000, 'the numpad open');
    const url = withoutScheme((await s.status())!.pending!.authorizeUrl);
    const chunks = chunksOf(url, 16);
    await s.waitForScreen((r) => r[1]!.trimEnd() === chunks[0], 10_000, 'page 1');
    let read = chunks[0]!;
    for (let i = 1; i < chunks.length; i++) {
      s.numpad!.pressKey('B');
      const rows = await s.waitForScreen((r) => r[1]!.trimEnd() === chunks[i], 5000, `page ${i + 1}`);
      read += rows[1]!.trimEnd();
    }
    assert.equal(read, url);
    assert.deepEqual(errorsOf(s), []);
  });

  it('an LK204-25 with its own keypad on the same line: the PIN on its keys', async () => {
    const s = await stack('lk204');
    const d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    await s.waitForScreen(pinRow20(''), 10_000, 'PIN row');
    const pin = await s.approve();
    for (const k of pin) s.sim.pressKey(k);
    await d.waitForState('authorized');
    await s.waitForText('@twitterapi');
    assert.deepEqual(errorsOf(s), []);
  });

  it('a SparkFun SerLCD 20x4 + USB numpad: the PIN flow, no EEPROM setting ever sent', async () => {
    const s = await stack('serlcd-20x4');
    const d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    await d.waitForLog((l) => l.msg === 'keypad open', 10_000, 'the numpad open');
    await s.waitForScreen(pinRow20(''), 10_000, 'PIN row');
    const pin = await s.approve();
    for (const k of pin) s.numpad!.pressKey(k);
    await d.waitForState('authorized');
    await s.waitForText('@twitterapi');
    assert.deepEqual(errorsOf(s), []);
    assert.equal((s.sim as SerLcdSim).eepromWrites, 0);
  });
});
