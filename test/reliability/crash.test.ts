/**
 * 1. Crash consistency: SIGKILL while the store is being written, and power cuts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { readStoreSnapshot, storeShapeProblem } from '../../src/store/index.js';
import { Stack, type DaemonProcess } from '../helpers/stack.js';
import { SEED, ms, record, rng } from './figures.js';
// @ts-expect-error plain JS module shared with the child (no types)
import { generationOf, stateFor } from './crash-states.mjs';

const SECTION = '1 crash consistency';
const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'crash-child.mjs');
const TRIALS = Number(process.env.RELIABILITY_CRASH_TRIALS ?? 240);

interface TrialResult {
  ackedWrites: number;
  leftTemp: boolean;
  newer: boolean;
}

/** One child run: start, wait a random moment after it is ready, SIGKILL, check the file. */
/**
 * One child, killed `delayMs` after it said `after`: 'ready' (anywhere in its loop of writes) or
 * 'acked' (its next write has just begun: the kill aims at the temp file's lifetime).
 */
async function killTrial(file: string, known: number, delayMs: number, after: 'ready' | 'acked' = 'ready'): Promise<{ gen: number; r: TrialResult }> {
  const child = spawn(process.execPath, [CHILD, file, String(known)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      if (out.includes(after === 'ready' ? 'ready' : 'acked')) resolve();
    });
    child.on('exit', () => reject(new Error(`child exited before ready: ${err.slice(-2000)}`)));
  });
  await new Promise((r) => setTimeout(r, delayMs));
  child.kill('SIGKILL');
  await exited;
  const acks = [...out.matchAll(/acked (\d+)/g)].map((m) => Number(m[1]));
  const acked = acks.length ? acks[acks.length - 1]! : known;
  const names = await readdir(path.dirname(file));
  const leftTemp = names.some((n) => n.startsWith(`${path.basename(file)}.tmp-`));
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    // killed before the very first write landed: no file is the old (empty) state
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && known === 0 && acked === 0) {
      return { gen: 0, r: { ackedWrites: 0, leftTemp, newer: false } };
    }
    throw e;
  }
  assert.ok(text.length > 0 && !/^\0+$/.test(text), 'store empty or zero-filled after a kill');
  const doc = JSON.parse(text) as unknown; // throws: a torn file
  assert.equal(storeShapeProblem(doc), null);
  const gen = generationOf(doc, acked) as number;
  assert.ok(gen === acked || gen === acked + 1, `file at generation ${gen}, last acknowledged ${acked}`);
  assert.deepEqual(doc, stateFor(gen), `generation ${gen} is not exactly its state (a mix)`);
  return { gen, r: { ackedWrites: acked - known, leftTemp, newer: gen === acked + 1 } };
}

/**
 * The PIN for the URL shown. A daemon killed after the provider used the PIN resumes that request
 * token (it cannot know); the person then asks for a fresh code with D (`fresh`: the shown one was
 * given up and cleared).
 */
async function approveOrFresh(s: Stack, d: DaemonProcess): Promise<{ pin: string; fresh: boolean }> {
  try {
    return { pin: await s.approve(), fresh: false };
  } catch {
    const n = d.logs.filter((l) => l.msg === 'state awaiting_pin').length;
    s.sim.pressKey('D');
    await d.waitForState('awaiting_pin', 15_000, n + 1);
    return { pin: await s.approve(), fresh: true };
  }
}

const stacks: Stack[] = [];
const dirs: string[] = [];
after(async () => {
  await Promise.all(stacks.map((s) => s.close()));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('crash consistency', () => {
  it(`SIGKILL of a process looping TokenStore mutations, ${TRIALS} trials: old or new state, never a mix`, async () => {
    const random = rng(SEED);
    const workers = 2;
    const results: TrialResult[] = [];
    const started = Date.now();
    await Promise.all(
      Array.from({ length: workers }, async (_, w) => {
        const dir = await mkdtemp(path.join(os.tmpdir(), 'pinauthd-crash-'));
        dirs.push(dir);
        const file = path.join(dir, 'state', 'tokens.json');
        let known = 0;
        for (let i = w; i < TRIALS; i += workers) {
          // a few ms up to ~4 writes: lands before, inside and between writes
          const { gen, r } = await killTrial(file, known, Math.floor(random() * 40));
          known = gen;
          results.push(r);
        }
      }),
    );
    assert.equal(results.length, TRIALS);
    // Kills at random moments land inside a write (temp file open, not yet renamed) only
    // now and then, fewer on a loaded machine; when none did, aim further kills at the
    // write that has just begun, so the run always has kills of that kind too.
    let aimed = 0;
    const aimDir = await mkdtemp(path.join(os.tmpdir(), 'pinauthd-crash-'));
    dirs.push(aimDir);
    for (let known = 0; !results.some((r) => r.leftTemp) && aimed < 60; aimed++) {
      const { gen, r } = await killTrial(path.join(aimDir, 'state', 'tokens.json'), known, Math.floor(random() * 3), 'acked');
      known = gen;
      results.push(r);
    }
    const elapsed = Date.now() - started;
    const inside = results.filter((r) => r.leftTemp).length;
    record(SECTION, 'TokenStore kill -9 trials (store parses, old or new state, exact)', `${results.length}/${results.length}${aimed ? ` (${aimed} aimed at a write)` : ''}`, '>= 200, all');
    record(SECTION, 'kills that left a temp file (landed inside a write)', inside);
    record(SECTION, 'kills where the unacknowledged write had landed (new state)', results.filter((r) => r.newer).length);
    record(SECTION, 'writes acknowledged across the trials', results.reduce((a, r) => a + r.ackedWrites, 0));
    record(SECTION, 'torn, empty or zero-filled files', 0, '0');
    record(SECTION, 'kill trials time', ms(elapsed));
    assert.ok(inside > 0, 'no kill landed inside a write: the trials test nothing');
  });

  it('SIGKILL of the real daemon while it saves a request, a token, or removes the account', async () => {
    const random = rng(SEED + 1);
    const s = await Stack.start({ profile: 'lcd20x4', keypadMode: 'keys' });
    stacks.push(s);
    const kinds = { pending: 0, token: 0, logout: 0, revoked: 0 };
    const outcomes = { old: 0, new: 0 };
    const N = Number(process.env.RELIABILITY_DAEMON_KILLS ?? 24);
    for (let i = 0; i < N; i++) {
      const before = await readStoreSnapshot(s.storePath);
      const d = s.spawn(['run']);
      let kind: keyof typeof kinds;
      let fresh = false;
      const settled = before.accounts.length > 0 ? await d.waitForLog((l) => l.msg === 'state authorized' || l.msg === 'state awaiting_pin', 30_000) : null;
      if (settled?.msg === 'state awaiting_pin') {
        // An earlier logout was killed after the provider invalidated the token but before
        // the store write: this start verified it, was refused, and drops the account itself.
        kind = 'revoked';
        await d.stop('SIGKILL');
      } else if (settled) {
        kind = 'logout';
        const cli = s.spawn(['logout']);
        await new Promise((r) => setTimeout(r, random() * 150));
        await d.stop('SIGKILL');
        await cli.exited;
      } else if (random() < 0.4) {
        kind = 'pending';
        await d.waitForLog((l) => l.msg === 'state requesting' || String(l.msg).startsWith('state '), 15_000);
        await new Promise((r) => setTimeout(r, random() * 120));
        await d.stop('SIGKILL');
      } else {
        kind = 'token';
        await d.waitForState('awaiting_pin');
        const got = await approveOrFresh(s, d);
        fresh = got.fresh;
        for (const k of got.pin) s.sim.pressKey(k);
        await new Promise((r) => setTimeout(r, random() * 60));
        await d.stop('SIGKILL');
      }
      kinds[kind]++;
      const snap = await readStoreSnapshot(s.storePath);
      assert.ok(snap.state === 'ok' || (snap.state === 'missing' && before.state === 'missing'), `store ${snap.state} after kill ${i} (${kind})`);
      const text = snap.state === 'ok' ? await readFile(s.storePath, 'utf8') : '{}';
      assert.ok(!/^\0*$/.test(text));
      if (kind === 'token') {
        // old: the pending request, no account; new: the account and no pending. A mix is neither.
        // A code given up for a fresh one is cleared: until the fresh one is stored, no pending.
        const isOld = snap.accounts.length === 0 && (before.pending === null || snap.pending !== null || fresh);
        const isNew = snap.accounts.length === 1 && snap.pending === null && snap.accounts[0]!.screenName === 'twitterapi';
        assert.ok(isOld || isNew, `mixed state after a kill during the exchange: ${JSON.stringify({ a: snap.accounts.length, p: !!snap.pending })}`);
        outcomes[isNew ? 'new' : 'old']++;
      } else if (kind === 'revoked') {
        const isOld = JSON.stringify(snap.accounts) === JSON.stringify(before.accounts);
        assert.ok(isOld || snap.accounts.length === 0, 'mixed state after a kill while dropping a revoked account');
        outcomes[isOld ? 'old' : 'new']++;
      } else if (kind === 'logout') {
        const isOld = snap.accounts.length === 1 && snap.accounts[0]!.token === before.accounts[0]!.token;
        const isNew = snap.accounts.length === 0;
        assert.ok(isOld || isNew, 'mixed state after a kill during logout');
        outcomes[isNew ? 'new' : 'old']++;
      } else {
        assert.deepEqual(snap.accounts, before.accounts);
        outcomes[snap.pending?.token !== before.pending?.token ? 'new' : 'old']++;
      }
    }
    // and it still starts and completes a flow after all that
    const d = s.spawn(['run']);
    const st = await d.waitForLog((l) => l.msg === 'state authorized' || l.msg === 'state awaiting_pin', 30_000).then((l) => String(l.msg).slice(6));
    if (st === 'awaiting_pin') {
      const { pin } = await approveOrFresh(s, d);
      for (const k of pin) s.sim.pressKey(k);
      await d.waitForState('authorized');
    }
    await d.stop('SIGTERM');
    record(SECTION, 'real daemon kill -9 trials (pending / token / logout / revoked found at start)', `${N} (${kinds.pending}/${kinds.token}/${kinds.logout}/${kinds.revoked})`, 'all valid');
    record(SECTION, 'real daemon kills: old state / new state', `${outcomes.old} / ${outcomes.new}`, 'never a mix');
  });
});

describe('power cut: the page cache lost', () => {
  async function authorizedStack(): Promise<{ s: Stack; good: string }> {
    const s = await Stack.start({ profile: 'lcd20x4', keypadMode: 'keys' });
    stacks.push(s);
    const d = s.spawn(['run', '--once']);
    await d.waitForState('awaiting_pin');
    const pin = await s.approve();
    for (const k of pin) s.sim.pressKey(k);
    assert.equal(await d.exited, 0, d.output.slice(-2000));
    return { s, good: await readFile(s.storePath, 'utf8') };
  }

  const damages: Array<[string, (file: string, good: string) => Promise<void>]> = [
    ['store truncated to 0 bytes', (f) => truncate(f, 0)],
    ['store zero-filled (length kept)', (f, good) => writeFile(f, Buffer.alloc(Buffer.byteLength(good)))],
    ['store cut in the middle', (f, good) => writeFile(f, good.slice(0, Math.floor(good.length / 2)))],
    ['store zero-filled tail (a lost last page)', (f, good) => writeFile(f, Buffer.concat([Buffer.from(good.slice(0, 40)), Buffer.alloc(4096)]))],
  ];

  it('a damaged store is kept aside, the log says where, the daemon carries on unauthorized', async () => {
    const { s, good } = await authorizedStack();
    let kept = 0;
    for (const [what, damage] of damages) {
      await damage(s.storePath, good);
      const damaged = await readFile(s.storePath);
      const d = s.spawn(['run']);
      const line = await d.waitForLog((l) => l.code === 'STORE_CORRUPT' && typeof l.kept === 'string', 15_000, `STORE_CORRUPT log for ${what}`);
      await d.waitForState('awaiting_pin');
      // the URL screen says why, in the title that its page number leaves (16 of 20 columns)
      await s.waitForScreen((rows) => rows[0]?.startsWith('Store was reset') === true && rows.some((r) => r.includes('PIN: _')), 15_000, 'the URL screen titled Store was reset');
      assert.ok(String(line.msg).includes(String(line.kept)), 'the message names where the file was kept');
      assert.deepEqual(await readFile(String(line.kept)), damaged, `${what}: the damaged file is kept byte for byte`);
      assert.equal((await stat(String(line.kept))).mode & 0o777, 0o600);
      assert.equal(await d.stop('SIGTERM'), 0);
      kept++;
      await writeFile(s.storePath, good, { mode: 0o600 });
    }
    record(SECTION, 'power cuts on the store file: kept aside, started unauthorized', `${kept}/${damages.length}`, 'all');
  });

  it('a zero-filled or cut temp file next to a good store is removed; the token survives', async () => {
    const { s, good } = await authorizedStack();
    const tmp = path.join(path.dirname(s.storePath), `${path.basename(s.storePath)}.tmp-999999-deadbeef0000`);
    await writeFile(tmp, Buffer.alloc(4096));
    await writeFile(`${tmp}1`, good.slice(0, 100));
    const d = s.spawn(['run']);
    await d.waitForState('authorized');
    await s.waitForText('@twitterapi');
    // The planted leftovers; a temp file of the running daemon's own write in flight (the
    // verification it records) is not one.
    const names = await readdir(path.dirname(s.storePath));
    assert.deepEqual(names.filter((n) => n.includes('.tmp-999999-')), []);
    assert.equal(await d.stop('SIGTERM'), 0);
    record(SECTION, 'power cut with a damaged temp file: token kept, temp removed', 'yes', 'yes');
  });

  it('the rename was lost (only a temp file on disk): starts unauthorized', async () => {
    const { s, good } = await authorizedStack();
    await rm(s.storePath);
    await writeFile(path.join(path.dirname(s.storePath), `${path.basename(s.storePath)}.tmp-1-aa`), good);
    const d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    assert.equal(await d.stop('SIGTERM'), 0);
  });

  it('the display tells the person the store was damaged', async () => {
    const { s } = await authorizedStack();
    await writeFile(s.storePath, Buffer.alloc(100));
    const d = s.spawn(['run']);
    await d.waitForState('awaiting_pin');
    await s.waitForText(/store|reset|damag/i, 3000);
    await d.stop('SIGTERM');
  });
});
