/** `status --json` / `doctor`'s view of the API socket: absent, a stale file nothing listens on, a listening socket. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { apiSocketReport } from '../../src/proxy/socket-path.js';
import { DEFAULT_PROXY } from '../helpers/proxy-fixture.js';
import { tempDir } from '../helpers/config-tmp.js';

test('apiSocketReport: missing, not listening, usable; null when the proxy is off', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const socket = path.join(dir, 'api.sock');
  const cfg = { proxy: { ...DEFAULT_PROXY, socket } };
  assert.equal(await apiSocketReport({ proxy: { ...cfg.proxy, enabled: false } }), null);
  assert.deepEqual(await apiSocketReport(cfg), { path: socket, access: 'missing', listening: false, usable: false, detail: `${socket}: not there (the daemon is not running, or proxy.enabled is false)` });

  const server = net.createServer((c) => c.destroy());
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  const up = await apiSocketReport(cfg);
  assert.deepEqual([up?.access, up?.listening, up?.usable], ['usable', true, true]);
  await new Promise((r) => server.close(r));
  // a socket file left behind by a process that died (nothing listens: ECONNREFUSED)
  execFileSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(socket)}, () => process.exit(0))`]);
  const stale = await apiSocketReport(cfg);
  assert.deepEqual([stale?.access, stale?.listening, stale?.usable], ['not listening', false, false]);
});
