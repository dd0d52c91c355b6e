/**
 * systemd/pinauthd.socket: systemd creates the API socket root:pinauthd-api 0660 and hands it
 * to the daemon (which cannot set that group itself under PrivateUsers=). Checked with the
 * real `systemd-analyze verify` next to the service unit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const read = (name: string) => readFileSync(new URL(`../../systemd/${name}`, import.meta.url), 'utf8');
const socketText = read('pinauthd.socket');
const serviceText = read('pinauthd.service');
const values = (text: string, key: string) => [...text.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!.trim());

test('the socket unit: /run/pinauthd/api.sock, group pinauthd-api, 0660, named api', () => {
  assert.deepEqual(values(socketText, 'ListenStream'), ['/run/pinauthd/api.sock']);
  assert.deepEqual(values(socketText, 'SocketGroup'), ['pinauthd-api']);
  assert.deepEqual(values(socketText, 'SocketMode'), ['0660']);
  assert.deepEqual(values(socketText, 'FileDescriptorName'), ['api']);
  // a RuntimeDirectory=pinauthd in the service would take /run/pinauthd, socket and all, away
  assert.deepEqual(values(serviceText, 'RuntimeDirectory'), []);
  assert.ok(values(serviceText, 'RestrictAddressFamilies').join(' ').includes('AF_UNIX'));
});

test('systemd-analyze verify is clean for the socket beside its service', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pinauthd-socket-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'pinauthd.service'), serviceText.replace(/^ExecStart=\/usr\/bin\/node /m, `ExecStart=${process.execPath} `));
  writeFileSync(join(dir, 'pinauthd.socket'), socketText);
  const r = await promisify(execFile)('systemd-analyze', ['verify', '--no-pager', join(dir, 'pinauthd.socket')], { cwd: dir, env: { ...process.env, SYSTEMD_LOG_COLOR: '0' } }).catch((e: { stdout: string; stderr: string; code: number }) => e);
  assert.equal(('code' in r ? r.code : 0) ?? 0, 0, `${r.stdout}${r.stderr}`);
  assert.equal((r.stdout + r.stderr).trim(), '', 'verify printed warnings');
});
