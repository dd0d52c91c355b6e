/**
 * Unplug and replug in the middle of PIN entry, over a real PTY (killing socat is a real
 * unplug: reads fail and the device path disappears) and over TCP (the bridge drops). The
 * simulator power-cycles on replug (blank screen, fresh HELLO), as a USB-powered board does.
 */
import assert from 'node:assert/strict';
import { after, describe, it, type TestContext } from 'node:test';
import { Stack } from '../helpers/stack.js';
import { awaitingPinFrame, CommandLog, countLogs, press } from '../helpers/device-stack.js';

const stacks: Stack[] = [];
after(async () => {
  await Promise.all(stacks.map((s) => s.close()));
});

const OUTAGE = 'device unavailable; retrying';
const BACK = 'device reconnected';

async function cycles(t: TestContext, transport: 'pty' | 'tcp', count: number): Promise<void> {
  const s = await Stack.start({ profile: 'lcd20x4', keypadMode: 'keys', transport });
  stacks.push(s);
  const cmds = new CommandLog(s.sim);
  const d = s.spawn(['run']);
  await d.waitForState('awaiting_pin');
  const url = (await s.status())!.pending!.authorizeUrl;
  await s.waitForScreen(awaitingPinFrame(url, ''), 5000, 'the first frame');
  const storeBefore = JSON.stringify(await s.readStoreWhen((st) => st.pending?.authorizeUrl === url));
  const statesBefore = d.logs.filter((l) => l.msg?.startsWith('state ')).length;
  const redrawBytes: number[] = [];
  let recovered = 0;

  for (let i = 1; i <= count; i++) {
    const digits = String(10 + (i % 90)).slice(-2);
    press(s.sim, digits);
    await s.waitForScreen(awaitingPinFrame(url, digits), 5000, `cycle ${i}: echo of ${digits}`);
    await s.link.unplug();
    await d.waitForLog(() => countLogs(d, OUTAGE) >= i, 10_000, `cycle ${i}: the outage logged`);
    // The device powers up blank before its port is back (test/unit/sim-pty.test.ts), and the
    // daemon may redraw before replug() returns: count what it sends from here.
    const mark = cmds.mark;
    await s.link.replug();
    await d.waitForLog(() => countLogs(d, BACK) >= i, 10_000, `cycle ${i}: reconnected`);
    // Fully redrawn, and the half-typed entry is gone from the keypad and the screen alike.
    await s.waitForScreen(awaitingPinFrame(url, ''), 5000, `cycle ${i}: the full frame redrawn`).catch((e: Error) => {
      const sent = cmds.since(mark).map((c) => c.raw.slice(0, 40)).join(' | ');
      throw new Error(`${e.message}\ncommands since replug: ${sent}\ndaemon: ${d.output.slice(-1500)}`);
    });
    redrawBytes.push(cmds.bytesSince(mark));
    recovered++;
  }

  // Exactly one outage and one recovery logged per unplug; no other errors.
  assert.equal(countLogs(d, OUTAGE), count);
  assert.equal(countLogs(d, BACK), count);
  assert.equal(d.logs.filter((l) => (l.level ?? 0) >= 50).length, count, 'only the outage lines at error level');
  // The daemon's state and the store were never touched.
  assert.equal(d.logs.filter((l) => l.msg?.startsWith('state ')).length, statesBefore, 'no state change');
  assert.equal((await s.status())!.state, 'awaiting_pin');
  assert.equal((await s.status())!.pending!.authorizeUrl, url);
  assert.equal(JSON.stringify(await s.readStore()), storeBefore, 'the store is untouched');
  assert.deepEqual(cmds.errors(), [], 'no command the device rejected');

  // The PIN flow still completes.
  const pin = await s.approve();
  press(s.sim, pin);
  await d.waitForState('authorized');
  await s.waitForText('@twitterapi');
  assert.equal((await s.readStore()).accounts[0].screenName, 'twitterapi');

  const vanished = countLogs(d, 'device path vanished');
  t.diagnostic(
    `${transport}: ${recovered}/${count} cycles recovered; bytes per redraw after replug: ` +
      `min ${Math.min(...redrawBytes)} max ${Math.max(...redrawBytes)}` +
      (transport === 'pty' ? `; unplug seen by the path watcher first ${vanished}/${count} times` : ''),
  );
}

describe('unplug and replug during PIN entry', () => {
  it('20 cycles over a real PTY: recovered every time, fully redrawn, state and store untouched, one log line per outage', async (t) => {
    await cycles(t, 'pty', 20);
  });

  it('5 cycles over TCP (the bridge drops and comes back)', async (t) => {
    await cycles(t, 'tcp', 5);
  });
});
