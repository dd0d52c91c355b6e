import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { askDaemon, startControlServer, type ControlCommand } from '../../src/service/control.js';
import { createLogger } from '../../src/log.js';

const logger = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });

describe('control socket', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pinauthd-control-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('answers a command that takes longer than the idle timeout (logout waits for the provider)', async () => {
    const path = join(dir, 'slow.sock');
    const server = await startControlServer(
      path,
      async () => {
        await new Promise((r) => setTimeout(r, 300));
        return { removed: true };
      },
      logger,
      { idleTimeoutMs: 50 },
    );
    try {
      const reply = await askDaemon(path, 'logout', 5000);
      assert.deepEqual(reply, { ok: true, result: { removed: true } });
    } finally {
      await server.close();
    }
  });

  it('runs a command once, whatever the client sends after its line', async () => {
    const path = join(dir, 'once.sock');
    const calls: ControlCommand[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let called!: () => void;
    const firstCall = new Promise<void>((r) => (called = r));
    const server = await startControlServer(
      path,
      async (cmd) => {
        calls.push(cmd);
        called();
        await held;
        return 'done';
      },
      logger,
    );
    try {
      const sock = net.connect(path);
      let reply = '';
      sock.setEncoding('utf8');
      sock.on('data', (c: string) => (reply += c));
      const ended = new Promise<void>((r) => sock.on('end', () => r()));
      sock.write('{"cmd":"logout"}\n');
      await firstCall;
      // More bytes on the same connection while the first command runs.
      await new Promise<void>((r) => sock.write('{"cmd":"logout"}\n', () => r()));
      await new Promise((r) => setTimeout(r, 50));
      release();
      await ended;
      sock.destroy();
      assert.deepEqual(calls, ['logout']);
      assert.deepEqual(JSON.parse(reply), { ok: true, result: 'done' });
    } finally {
      await server.close();
    }
  });
  it('waits for the socket of a daemon that holds the lock but has not opened it yet; not without a lock', async () => {
    const state = join(dir, 'starting');
    await mkdir(state);
    const path = join(state, 'control.sock');
    // a live process that is not us holds the lock (the daemon, still on its way to the first screen)
    const owner = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)'], { stdio: 'ignore' });
    try {
      const t0 = Date.now();
      assert.equal(await askDaemon(path, 'status'), null, 'no lock file: not running, at once');
      assert.ok(Date.now() - t0 < 1000);
      await writeFile(join(state, 'pinauthd.lock'), `${owner.pid}\n`);
      let server: Awaited<ReturnType<typeof startControlServer>> | undefined;
      const opens = new Promise<void>((resolve) =>
        setTimeout(() => {
          void startControlServer(path, async () => ({ state: 'awaiting_pin' }), logger).then((s) => {
            server = s;
            resolve();
          });
        }, 300),
      );
      const t1 = Date.now();
      const reply = await askDaemon(path, 'status');
      assert.deepEqual(reply, { ok: true, result: { state: 'awaiting_pin' } });
      assert.ok(Date.now() - t1 >= 250, 'the answer came from the socket opened later');
      await opens;
      await server?.close();
    } finally {
      owner.kill();
    }
  });
});
