import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Low } from 'lowdb';
import { DurableFile } from '../../src/store/index.js';
import { isPinauthError } from '../../src/errors.js';
import { tempDir } from '../helpers/config-tmp.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir('pinauthd-durable-')));
afterEach(() => cleanup());

test('lowdb round trip through the adapter; the file is 0600 even with a permissive umask', async () => {
  const file = path.join(dir, 'db.json');
  const old = process.umask(0o000);
  try {
    const db = new Low<{ n: number }>(new DurableFile(file), { n: 0 });
    await db.read();
    assert.deepEqual(db.data, { n: 0 });
    db.data.n = 42;
    await db.write();
  } finally {
    process.umask(old);
  }
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  const again = new Low<{ n: number }>(new DurableFile(file), { n: 0 });
  await again.read();
  assert.equal(again.data.n, 42);
});

test('read: null for a missing file, STORE_CORRUPT (without the content) for bad JSON', async () => {
  const file = path.join(dir, 'db.json');
  assert.equal(await new DurableFile(file).read(), null);
  await writeFile(file, '{"tokenSecret": "CANARY-x"');
  await assert.rejects(new DurableFile(file).read(), (e) => isPinauthError(e, 'STORE_CORRUPT') && !e.message.includes('CANARY'));
});

test('writes run one at a time and the last one wins', async () => {
  const file = path.join(dir, 'db.json');
  const adapter = new DurableFile<{ i: number }>(file);
  const writes = Array.from({ length: 50 }, (_, i) => adapter.write({ i }));
  await Promise.all(writes);
  assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), { i: 49 });
  assert.deepEqual(await readdir(dir), ['db.json']);
});

test('the data is serialized when it is written, not when the write was asked for', async () => {
  const file = path.join(dir, 'db.json');
  const adapter = new DurableFile<{ list: number[] }>(file);
  const data = { list: [1] };
  const first = adapter.write(data);
  data.list.push(2);
  const second = adapter.write(data);
  data.list.push(3);
  await Promise.all([first, second]);
  await adapter.flush();
  assert.deepEqual(JSON.parse(await readFile(file, 'utf8')).list.slice(-1), [3]);
});

test('a failed write rejects with STORE_IO, removes its temp file, and the next write works', async () => {
  const file = path.join(dir, 'sub', 'db.json');
  const adapter = new DurableFile<{ ok: boolean }>(file);
  await assert.rejects(adapter.write({ ok: false }), (e) => isPinauthError(e, 'STORE_IO'));
  const good = new DurableFile<{ ok: boolean }>(path.join(dir, 'db.json'));
  await good.write({ ok: true });
  assert.deepEqual(await readdir(dir), ['db.json']);
});
