import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { acquireInstanceLock, LOCK_NAME } from '../../src/store/index.js';
import { isPinauthError } from '../../src/errors.js';
import { tempDir } from '../helpers/config-tmp.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir('pinauthd-lock-')));
afterEach(() => cleanup());

const lockFile = () => path.join(dir, LOCK_NAME);

/** The pid of a process that has exited (so it is not alive). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await once(child, 'exit');
  return child.pid!;
}

test('the lock holds our pid; a second acquire fails with STORE_LOCKED; release frees it', async () => {
  const lock = await acquireInstanceLock(dir);
  assert.equal(await readFile(lockFile(), 'utf8'), `${process.pid}\n`);
  assert.equal((await stat(lockFile())).mode & 0o777, 0o600);
  await assert.rejects(
    acquireInstanceLock(dir),
    (e) => isPinauthError(e, 'STORE_LOCKED') && e.message.includes(`pid ${process.pid}`) && e.message.includes(dir),
  );
  await lock.release();
  await lock.release();
  assert.deepEqual(await readdir(dir), []);
  const again = await acquireInstanceLock(dir);
  await again.release();
});

test('a lock held by another live process is respected', async () => {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  try {
    await writeFile(lockFile(), `${child.pid}\n`);
    await assert.rejects(acquireInstanceLock(dir), (e) => isPinauthError(e, 'STORE_LOCKED') && e.message.includes(`pid ${child.pid}`));
    assert.equal(await readFile(lockFile(), 'utf8'), `${child.pid}\n`);
  } finally {
    child.kill();
    await once(child, 'exit');
  }
});

test('a stale lock (dead pid) is taken over', async () => {
  const pid = await deadPid();
  await writeFile(lockFile(), `${pid}\n`);
  const lock = await acquireInstanceLock(dir);
  assert.equal(await readFile(lockFile(), 'utf8'), `${process.pid}\n`);
  await lock.release();
});

test('a garbage lock, or our own pid not held by us (pid reuse after reboot), is stale', async () => {
  await writeFile(lockFile(), 'not a pid');
  const l1 = await acquireInstanceLock(dir);
  await l1.release();
  await writeFile(lockFile(), `${process.pid}\n`);
  const l2 = await acquireInstanceLock(dir);
  await l2.release();
  assert.deepEqual(await readdir(dir), []);
});

test('release does not remove a lock that someone else took over', async () => {
  const lock = await acquireInstanceLock(dir);
  const other = await deadPid();
  await writeFile(lockFile(), `${other}\n`);
  await lock.release();
  assert.equal(await readFile(lockFile(), 'utf8'), `${other}\n`);
});

test('the state directory is created 0700', async () => {
  const sub = path.join(dir, 'new', 'state');
  const lock = await acquireInstanceLock(sub);
  assert.equal((await stat(sub)).mode & 0o777, 0o700);
  await lock.release();
});
