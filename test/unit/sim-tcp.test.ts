import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { SimDevice, startTcpSim } from '../../firmware-sim/index.js';
import { LineReader } from '../helpers/sim-lines.js';

async function connect(port: number) {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, reader: new LineReader(socket), closed: new Promise<void>((r) => socket.once('close', () => r())) };
}

function connectError(port: number): Promise<NodeJS.ErrnoException> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      reject(new Error('connected, but the sim should be unplugged'));
    });
    socket.once('error', resolve);
  });
}

test('over TCP: handshake, commands, keys, unplug and replug on the same port', async (t) => {
  const device = new SimDevice({ profile: 'lcd20x4' });
  const sim = await startTcpSim({ device, host: '127.0.0.1', port: 0 });
  t.after(() => sim.close());
  assert.match(sim.url, /^tcp:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(sim.url, `tcp://127.0.0.1:${sim.port}`);

  const first = await connect(sim.port);
  first.socket.write('?\n');
  assert.match(await first.reader.next(/^HELLO /), /^HELLO pinpad\/1 kind=lcd cols=20 rows=4 /);
  // The device answers in order, so the HELLO after them proves both lines were handled.
  first.socket.write('ROW 3 over tcp\nBEEP OK\n?\n');
  await first.reader.next(/^HELLO /);
  device.pressKey('3');
  assert.equal(await first.reader.next(/^\d$/), '3');
  assert.equal(device.screenText()[3].trimEnd(), 'over tcp');
  assert.deepEqual(device.beeps, ['ok']);

  await sim.unplug();
  await first.closed;
  assert.equal(sim.plugged, false);
  assert.equal((await connectError(sim.port)).code, 'ECONNREFUSED');
  device.pressKey('9'); // nobody listening: dropped, no throw

  await sim.replug();
  assert.deepEqual(device.screenText(), Array(4).fill(' '.repeat(20)), 'power-cycled');
  const second = await connect(sim.port);
  t.after(() => second.socket.destroy());
  second.socket.write('?\n');
  assert.match(await second.reader.next(/^HELLO /), /^HELLO pinpad\/1 /);
  device.pressKey('7');
  assert.equal(await second.reader.next(/^\d$/), '7');
});

test('one client at a time: a second client is closed, the first keeps working', async (t) => {
  const device = new SimDevice({ profile: 'lcd16x2', keypadMode: 'line' });
  const sim = await startTcpSim({ device });
  t.after(() => sim.close());
  const first = await connect(sim.port);
  t.after(() => first.socket.destroy());
  const second = await connect(sim.port);
  await second.closed;
  assert.equal(second.reader.lines.length, 0);
  device.typeLine('1234567');
  assert.equal(await first.reader.next(/./), '1234567');
  assert.equal(sim.connected, true);
});

test('a client that leaves frees the port for the next one', async (t) => {
  const device = new SimDevice({ profile: 'lcd16x2' });
  const sim = await startTcpSim({ device });
  t.after(() => sim.close());
  const first = await connect(sim.port);
  first.socket.end();
  await first.closed;
  const second = await connect(sim.port);
  t.after(() => second.socket.destroy());
  second.socket.write('?\n');
  assert.match(await second.reader.next(/^HELLO /), /^HELLO /);
});

test('close is safe twice and replug after close is refused', async () => {
  const sim = await startTcpSim({ device: new SimDevice({ profile: 'lcd16x2' }) });
  await sim.close();
  await sim.close();
  await assert.rejects(sim.replug(), /closed/);
});
