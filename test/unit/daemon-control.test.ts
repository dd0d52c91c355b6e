import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { askDaemon, startControlServer, type ControlCommand } from '../../src/daemon/control.js';
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
});
