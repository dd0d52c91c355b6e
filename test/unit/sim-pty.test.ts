import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SerialPort } from 'serialport';
import { SimDevice, startPtySim } from '../../firmware-sim/index.js';
import { LineReader, openTty } from '../helpers/sim-lines.js';

async function openHost(hostPath: string) {
  const port = new SerialPort({ path: hostPath, baudRate: 9600, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  return { port, reader: new LineReader(port) };
}

function write(port: SerialPort, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    port.write(text, (err) => (err ? reject(err) : port.drain((e) => (e ? reject(e) : resolve()))));
  });
}

function nextScreen(device: SimDevice, row: number, text: string): Promise<void> {
  const error = new Error(`row ${row} never showed ${JSON.stringify(text)}`);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(error), 5000);
    const check = (rows: string[]) => {
      if (rows[row]?.trimEnd() === text) {
        clearTimeout(timer);
        device.off('screen', check);
        resolve();
      }
    };
    device.on('screen', check);
  });
}

test('over a real PTY with serialport on the host side: handshake, commands, keys', async (t) => {
  const device = new SimDevice({ profile: 'lcd16x2' });
  const sim = await startPtySim({ device });
  t.after(() => sim.close());
  const { port, reader } = await openHost(sim.hostPath);
  t.after(() => new Promise<void>((r) => (port.isOpen ? port.close(() => r()) : r())));

  await write(port, '?\n');
  assert.match(await reader.next(/^HELLO /), /^HELLO pinpad\/1 kind=lcd cols=16 rows=2 /);

  const shown = nextScreen(device, 0, 'hello pty');
  await write(port, 'ROW 0 hello pty\n');
  await shown;

  device.pressKey('5');
  device.pressKey('#');
  assert.equal(await reader.next(/^[0-9#*]$/), '5');
  assert.equal(await reader.next(/^[0-9#*]$/), '#');

  await write(port, 'BOGUS\n');
  assert.equal(await reader.next(/^ERR /), 'ERR unknown command');
});

test('unplug kills the pair (host read ends, path gone); replug brings it back with a reset device', async (t) => {
  const device = new SimDevice({ profile: 'lcd16x2', delimiter: 'CRLF' });
  const sim = await startPtySim({ device });
  t.after(() => sim.close());
  assert.equal(sim.plugged, true);

  const first = openTty(sim.hostPath);
  t.after(() => first.stream.destroy());
  await first.write('?\n');
  assert.match(await first.reader.next(/^HELLO /), /^HELLO pinpad\/1 /);
  const shown = nextScreen(device, 0, 'before');
  await first.write('ROW 0 before\n');
  await shown;

  await sim.unplug();
  assert.equal(sim.plugged, false);
  assert.equal(fs.existsSync(sim.hostPath), false);
  await first.ended;
  // Keys pressed while unplugged go nowhere and do not throw.
  device.pressKey('9');

  await sim.replug();
  assert.equal(fs.existsSync(sim.hostPath), true);
  assert.deepEqual(device.screenText(), [' '.repeat(16), ' '.repeat(16)], 'power-cycled');
  const second = openTty(sim.hostPath);
  t.after(() => second.stream.destroy());
  await second.write('?\n');
  assert.match(await second.reader.next(/^HELLO /), /^HELLO pinpad\/1 /);
  const again = nextScreen(device, 1, 'again');
  await second.write('ROW 1 again\n');
  await again;
  device.pressKey('7');
  assert.equal(await second.reader.next(/^[0-9#*]$/), '7');
});

test('replug power-cycles the device before the port appears, so nothing the host sends on open is wiped', async (t) => {
  // The host reopens as soon as the path is back (the daemon retries every few hundred ms):
  // a reset after that would blank the frame it had just sent, and it would never know.
  const device = new SimDevice({ profile: 'lcd20x4', delimiter: 'CRLF' });
  const sim = await startPtySim({ device });
  t.after(() => sim.close());
  const pathAtReset: boolean[] = [];
  const reset = device.reset.bind(device);
  device.reset = () => {
    pathAtReset.push(fs.existsSync(sim.hostPath));
    reset();
  };
  await sim.unplug();
  await sim.replug();
  assert.deepEqual(pathAtReset, [false], 'reset once, while the port did not exist');
});

test('the host can close and reopen the port without killing the pair', async (t) => {
  const device = new SimDevice({ profile: 'lcd20x4', delimiter: 'CRLF' });
  const sim = await startPtySim({ device });
  t.after(() => sim.close());
  for (let i = 0; i < 2; i++) {
    const { port, reader } = await openHost(sim.hostPath);
    await write(port, '?\n');
    assert.match(await reader.next(/^HELLO /), /cols=20 rows=4/);
    await new Promise<void>((r) => port.close(() => r()));
  }
  assert.equal(sim.plugged, true);
});

test('links go in the given directory and close() is safe twice', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-pty-test-'));
  try {
    const sim = await startPtySim({ device: new SimDevice({ profile: 'text' }), dir });
    assert.equal(sim.hostPath, path.join(dir, 'pinpad-host'));
    await sim.close();
    await sim.close();
    assert.equal(fs.existsSync(sim.hostPath), false);
    assert.equal(fs.existsSync(dir), true, 'a directory we did not create is kept');
    await assert.rejects(sim.replug(), /closed/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing socat fails with a message that names scripts/ensure-socat.sh', async () => {
  await assert.rejects(
    startPtySim({ device: new SimDevice({ profile: 'lcd16x2' }), socatPath: '/nonexistent/socat' }),
    /scripts\/ensure-socat\.sh/,
  );
});
