import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import pino from 'pino';
import { isPinauthError } from '../../src/errors.js';
import { TcpTransport, parseTcpUrl } from '../../src/transport/tcp.js';
import { StdioTransport } from '../../src/transport/stdio.js';
import { PassThrough } from 'node:stream';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { until } from '../helpers/transport-mock.js';

const logger = pino({ level: 'silent' });

function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

test('tcp://host:port parsing', () => {
  assert.deepEqual(parseTcpUrl('tcp://127.0.0.1:4001'), { host: '127.0.0.1', port: 4001 });
  assert.throws(() => parseTcpUrl('tcp://host'), (e) => isPinauthError(e, 'CONFIG_INVALID'));
});

test('connection refused -> DEVICE_NOT_FOUND with a hint', async () => {
  const server = createServer();
  const port = await listen(server);
  await new Promise<void>((r) => server.close(() => r()));
  const t = new TcpTransport({ url: `tcp://127.0.0.1:${port}`, logger });
  await assert.rejects(t.open(), (e) => isPinauthError(e, 'DEVICE_NOT_FOUND') && /ser2net/.test(e.message));
});

test('bytes both ways, a drop is a disconnect, a close on purpose is not', async () => {
  const sockets: Socket[] = [];
  const received: Buffer[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    s.on('data', (b) => received.push(b));
  });
  const port = await listen(server);
  try {
    const t = new TcpTransport({ url: `tcp://127.0.0.1:${port}`, logger });
    const data: Buffer[] = [];
    const closes: Array<(Error & { disconnected?: boolean }) | null> = [];
    t.on('data', (b) => data.push(b));
    t.on('close', (e) => closes.push(e));
    await t.open();
    assert.equal(t.isOpen, true);
    await t.write('?\n');
    await until(() => Buffer.concat(received).toString() === '?\n', 'server got bytes');
    sockets[0]!.write('HELLO pinpad/1\n');
    await until(() => data.length > 0, 'client got bytes');
    sockets[0]!.destroy();
    await until(() => closes.length === 1, 'drop');
    assert.equal(closes[0]?.disconnected, true);
    assert.equal(t.isOpen, false);
    // The bridge is back: reopen, then close on purpose.
    await t.open();
    await t.close();
    await t.close();
    assert.equal(closes.length, 2);
    assert.equal(closes[1], null);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('stdio: lines in, text out; the end of input is `ended` (not an unplug), and the screen still goes out', async () => {
  const input = new PassThrough();
  const output = new PassThrough();
  const t = new StdioTransport({ input, output });
  const data: Buffer[] = [];
  const events: string[] = [];
  t.on('data', (b) => data.push(b));
  t.on('close', () => events.push('close'));
  t.on('ended', () => events.push('ended'));
  await t.open();
  input.write('1234567\n');
  await until(() => data.length > 0, 'stdin data');
  await t.write('PIN: 1234567\r\n');
  assert.equal(output.read()?.toString(), 'PIN: 1234567\r\n');
  input.end();
  await until(() => events.length > 0, 'end');
  assert.deepEqual(events, ['ended']);
  assert.equal(t.isOpen, true);
  await t.write('Checking PIN...\r\n');
  assert.equal(output.read()?.toString(), 'Checking PIN...\r\n');
  await t.close();
  assert.deepEqual(events, ['ended', 'close']);
});

test('stdio: an input that can never give a byte (the null device, an empty file) is endedAtOpen, known without a read', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pinauthd-stdio-'));
  const fds: number[] = [];
  const at = async (fd: number | undefined): Promise<boolean> => {
    const t = new StdioTransport({ input: new PassThrough(), output: new PassThrough(), ...(fd === undefined ? {} : { inputFd: fd }) });
    await t.open();
    const ended = t.endedAtOpen;
    await t.close();
    return ended;
  };
  try {
    writeFileSync(path.join(dir, 'empty'), '');
    writeFileSync(path.join(dir, 'pin'), '1234567\n');
    const [devNull, empty, pin] = ['/dev/null', path.join(dir, 'empty'), path.join(dir, 'pin')].map((f) => openSync(f, 'r'));
    fds.push(devNull!, empty!, pin!);
    assert.equal(await at(devNull), true);
    assert.equal(await at(empty), true);
    assert.equal(await at(pin), false);
    // a stream given without its descriptor: only its `ended` can tell
    assert.equal(await at(undefined), false);
  } finally {
    for (const fd of fds) closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
});
