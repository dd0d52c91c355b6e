import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { TokenStore, readStoreSnapshot, type Account, type PendingAuthorization } from '../../src/store/index.js';
import { isPinauthError } from '../../src/errors.js';
import { tempDir } from '../helpers/config-tmp.js';
import { capturingLogger } from '../helpers/store-log.js';

const silent = pino({ level: 'silent' });

function account(over: Partial<Account> = {}): Account {
  return {
    provider: 'twitter',
    consumerKey: 'ck1',
    userId: '6253282',
    screenName: 'twitterapi',
    token: '6253282-access-token',
    tokenSecret: 'access-token-secret',
    createdAt: '2026-01-02T03:04:05.000Z',
    verifiedAt: null,
    ...over,
  };
}

function pending(over: Partial<PendingAuthorization> = {}): PendingAuthorization {
  return {
    provider: 'twitter',
    consumerKey: 'ck1',
    token: 'request-token',
    tokenSecret: 'request-token-secret',
    authorizeUrl: 'https://api.x.com/oauth/authorize?oauth_token=request-token',
    issuedAt: '2026-01-02T03:00:00.000Z',
    ...over,
  };
}

const mode = async (p: string) => (await stat(p)).mode & 0o777;

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir('pinauthd-store-')));
afterEach(() => cleanup());

describe('round trip and modes', () => {
  test('a state directory reached through our own link opens (systemd: /var/lib/pinauthd -> private/pinauthd)', async () => {
    await mkdir(path.join(dir, 'private', 'pinauthd'), { recursive: true, mode: 0o700 });
    await symlink('private/pinauthd', path.join(dir, 'pinauthd'));
    const file = path.join(dir, 'pinauthd', 'tokens.json');
    const store = await TokenStore.open(file, silent);
    await store.saveAccount(account());
    await store.close();
    assert.deepEqual(JSON.parse(await readFile(path.join(dir, 'private', 'pinauthd', 'tokens.json'), 'utf8')).accounts, [account()]);
  });

  test('data survives a close and a reopen, and is what the file holds', async () => {
    const file = path.join(dir, 'state', 'tokens.json');
    const store = await TokenStore.open(file, silent);
    assert.deepEqual(store.data, { version: 1, accounts: [], pending: null });
    assert.equal(store.recoveredFrom, null);
    await store.savePending(pending());
    assert.deepEqual(store.pending('twitter', 'ck1'), pending());
    assert.equal(store.pending('twitter', 'other'), null);
    await store.saveAccount(account());
    assert.equal(store.pending('twitter', 'ck1'), null, 'saving the account clears its pending authorization');
    await store.markVerified('twitter', 'ck1', new Date('2026-01-03T00:00:00Z'));
    await store.markVerified('twitter', 'nobody', new Date());
    assert.equal(store.account('twitter', 'nobody'), null);
    await store.saveAccount(account({ consumerKey: 'ck2', screenName: 'second' }));
    await store.close();

    const onDisk = JSON.parse(await readFile(file, 'utf8'));
    const again = await TokenStore.open(file, silent);
    assert.deepEqual(again.data, onDisk);
    assert.equal(again.account('twitter', 'ck1')?.verifiedAt, '2026-01-03T00:00:00.000Z');
    assert.equal(again.account('twitter', 'ck2')?.screenName, 'second');
    await again.removeAccount('twitter', 'ck1');
    assert.equal(again.account('twitter', 'ck1'), null);
    await again.removeAccount('twitter', 'ck1');
    await again.clearPending();
    await again.close();
    assert.equal(JSON.parse(await readFile(file, 'utf8')).accounts.length, 1);
  });

  test('saveAccount replaces the account for the same provider and consumer key', async () => {
    const store = await TokenStore.open(path.join(dir, 'tokens.json'), silent);
    await store.saveAccount(account({ token: 'old' }));
    await store.saveAccount(account({ token: 'new' }));
    await store.saveAccount(account({ provider: 'flickr', token: 'other' }));
    assert.deepEqual(store.data.accounts.map((a) => a.token), ['new', 'other']);
  });

  test('the directory is created 0700 and the file written 0600', async () => {
    const file = path.join(dir, 'a', 'b', 'tokens.json');
    const store = await TokenStore.open(file, silent);
    await store.saveAccount(account());
    assert.equal(await mode(path.dirname(file)), 0o700);
    assert.equal(await mode(file), 0o600);
    // no temp file left behind
    assert.deepEqual(await readdir(path.dirname(file)), ['tokens.json']);
    await store.close();
  });

  test('a group/other readable directory and file are repaired to 0700/0600 with a warning', async () => {
    const sub = path.join(dir, 'state');
    await mkdir(sub, { mode: 0o755 });
    await chmod(sub, 0o755);
    const file = path.join(sub, 'tokens.json');
    await writeFile(file, JSON.stringify({ version: 1, accounts: [account()], pending: null }));
    await chmod(file, 0o644);
    const { logger, lines } = capturingLogger();
    const store = await TokenStore.open(file, logger);
    assert.equal(await mode(sub), 0o700);
    assert.equal(await mode(file), 0o600);
    const warns = lines.filter((l) => l.level === 40).map((l) => String(l.msg));
    assert.equal(warns.length, 2);
    assert.match(warns[0]!, /directory.*repaired to 0700/);
    assert.match(warns[1]!, /file.*repaired to 0600/);
    assert.equal(store.account('twitter', 'ck1')?.token, account().token, 'the data was kept');
    await store.close();
  });

  test('a shared sticky directory (like /tmp) is refused, not chmodded', async () => {
    const shared = path.join(dir, 'shared');
    await mkdir(shared);
    await chmod(shared, 0o1777);
    await assert.rejects(TokenStore.open(path.join(shared, 'tokens.json'), silent), (e) => isPinauthError(e, 'STORE_PERMISSIONS'));
    assert.equal((await stat(shared)).mode & 0o7777, 0o1777);
  });
});

describe('untrusted files are moved aside and kept', () => {
  const valid = JSON.stringify({ version: 1, accounts: [account()], pending: null });
  const cases: Record<string, string | Buffer> = {
    garbage: 'this is not json {',
    truncated: valid.slice(0, Math.floor(valid.length / 2)),
    'zero-filled': Buffer.alloc(4096),
    empty: '',
    null: 'null',
    'wrong shape': JSON.stringify({ version: 1, accounts: 'none', pending: null }),
    'missing fields': JSON.stringify({ version: 1, accounts: [{ provider: 'twitter' }], pending: null }),
    'other version': JSON.stringify({ version: 2, accounts: [], pending: null }),
    'bad date': JSON.stringify({ version: 1, accounts: [account({ createdAt: 'yesterday' })], pending: null }),
    array: '[]',
  };
  for (const [name, content] of Object.entries(cases)) {
    test(name, async () => {
      const file = path.join(dir, 'tokens.json');
      await writeFile(file, content, { mode: 0o600 });
      const { logger, lines } = capturingLogger();
      const store = await TokenStore.open(file, logger);
      assert.deepEqual(store.data, { version: 1, accounts: [], pending: null }, 'starts empty (unauthorized)');
      const kept = store.recoveredFrom;
      assert.ok(kept && path.basename(kept).startsWith('tokens.json.corrupt-'), String(kept));
      assert.deepEqual(await readFile(kept), Buffer.from(content), 'kept byte for byte');
      assert.equal(await mode(kept), 0o600);
      const errors = lines.filter((l) => l.level === 50);
      assert.equal(errors.length, 1, 'logged once at error');
      assert.equal(errors[0]!.kept, kept);
      assert.ok(String(errors[0]!.msg).includes(kept));
      // the store works afterwards, and the kept file stays
      await store.saveAccount(account());
      await store.close();
      assert.deepEqual(await readFile(kept), Buffer.from(content));
      assert.equal((await readdir(dir)).length, 2);
    });
  }

  test('a second recovery does not overwrite the first kept file', async () => {
    const file = path.join(dir, 'tokens.json');
    await writeFile(file, 'one');
    const s1 = await TokenStore.open(file, silent);
    await writeFile(file, 'two');
    const s2 = await TokenStore.open(file, silent);
    assert.notEqual(s1.recoveredFrom, s2.recoveredFrom);
    assert.equal(await readFile(s1.recoveredFrom!, 'utf8'), 'one');
    assert.equal(await readFile(s2.recoveredFrom!, 'utf8'), 'two');
  });
});

test('temp files left by a crash are removed at open; other files are not', async () => {
  const file = path.join(dir, 'tokens.json');
  await writeFile(file, JSON.stringify({ version: 1, accounts: [], pending: null }), { mode: 0o600 });
  await writeFile(path.join(dir, 'tokens.json.tmp-4242-deadbeef0000'), '{"half":');
  await writeFile(path.join(dir, 'unrelated.txt'), 'x');
  const store = await TokenStore.open(file, silent);
  assert.deepEqual((await readdir(dir)).sort(), ['tokens.json', 'unrelated.txt']);
  await store.close();
});

test('concurrent mutations are serialized and none is lost', async () => {
  const file = path.join(dir, 'tokens.json');
  const store = await TokenStore.open(file, silent);
  const n = 25;
  await Promise.all([
    ...Array.from({ length: n }, (_, i) => store.saveAccount(account({ consumerKey: `ck${i}` }))),
    store.savePending(pending({ consumerKey: 'ck-pending' })),
    ...Array.from({ length: n }, (_, i) => store.markVerified('twitter', `ck${i}`, new Date(Date.UTC(2026, 0, 1, 0, 0, i)))),
  ]);
  const check = (data: { accounts: Account[]; pending: PendingAuthorization | null }) => {
    assert.equal(data.accounts.length, n);
    for (let i = 0; i < n; i++) {
      const a = data.accounts.find((x) => x.consumerKey === `ck${i}`);
      assert.equal(a?.verifiedAt, new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString());
    }
    assert.equal(data.pending?.consumerKey, 'ck-pending');
  };
  check(store.data);
  check(JSON.parse(await readFile(file, 'utf8')));
  await store.close();
  assert.deepEqual(await readdir(dir), ['tokens.json']);
});

test('a failed write rejects and leaves the state as it was', async () => {
  const sub = path.join(dir, 'state');
  const file = path.join(sub, 'tokens.json');
  const store = await TokenStore.open(file, silent);
  await store.saveAccount(account());
  await rm(sub, { recursive: true });
  await assert.rejects(store.saveAccount(account({ consumerKey: 'ck2' })), (e) => isPinauthError(e, 'STORE_IO'));
  assert.deepEqual(store.data.accounts.map((a) => a.consumerKey), ['ck1']);
  // later mutations still run
  await mkdir(sub, { mode: 0o700 });
  await store.saveAccount(account({ consumerKey: 'ck3' }));
  assert.deepEqual(JSON.parse(await readFile(file, 'utf8')).accounts.map((a: Account) => a.consumerKey), ['ck1', 'ck3']);
  await store.close();
  await store.close();
  await assert.rejects(store.clearPending(), (e) => isPinauthError(e, 'STORE_IO'));
});

test('the consumer secret is never written, even if handed in by mistake', async () => {
  const file = path.join(dir, 'tokens.json');
  const store = await TokenStore.open(file, silent);
  const sloppy = {
    ...account(),
    consumerSecret: 'CANARY-consumer-secret-1',
    extra: { lang: 'en', consumer_secret: 'CANARY-consumer-secret-2', oauth_token_secret: 'CANARY-3' },
  } as Account;
  await store.saveAccount(sloppy);
  await store.savePending({ ...pending({ consumerKey: 'ck9' }), consumerSecret: 'CANARY-consumer-secret-4' } as PendingAuthorization);
  const text = await readFile(file, 'utf8');
  assert.doesNotMatch(text, /CANARY/);
  assert.match(text, /access-token-secret/, 'the token secret is stored (the file is the vault)');
  assert.deepEqual(store.account('twitter', 'ck1')?.extra, { lang: 'en' });
  assert.ok(!JSON.stringify(store.data).includes('CANARY'));
  await store.close();
});

test('data is a frozen copy', async () => {
  const store = await TokenStore.open(path.join(dir, 'tokens.json'), silent);
  await store.saveAccount(account());
  const d = store.data;
  assert.throws(() => {
    (d.accounts as Account[]).push(account());
  });
  const a = store.account('twitter', 'ck1')!;
  a.token = 'changed';
  assert.equal(store.account('twitter', 'ck1')!.token, account().token);
  await store.close();
});

describe('readStoreSnapshot never writes or moves anything', () => {
  test('missing', async () => {
    const snap = await readStoreSnapshot(path.join(dir, 'tokens.json'));
    assert.equal(snap.state, 'missing');
    assert.deepEqual(await readdir(dir), []);
  });

  test('ok, with the mode as found (0644 is not repaired)', async () => {
    const file = path.join(dir, 'tokens.json');
    await writeFile(file, JSON.stringify({ version: 1, accounts: [account()], pending: null }));
    await chmod(file, 0o644);
    const snap = await readStoreSnapshot(file);
    assert.equal(snap.state, 'ok');
    assert.equal(snap.accounts[0]!.screenName, 'twitterapi');
    assert.equal(snap.mode, 0o644);
    assert.equal(await mode(file), 0o644);
  });

  test('corrupt stays in place, and earlier kept files are listed', async () => {
    const file = path.join(dir, 'tokens.json');
    await writeFile(path.join(dir, 'tokens.json.corrupt-2026-01-01T00:00:00.000Z'), 'old');
    await writeFile(path.join(dir, 'tokens.json.tmp-1-aa'), 'half');
    await writeFile(file, Buffer.alloc(64));
    const snap = await readStoreSnapshot(file);
    assert.equal(snap.state, 'corrupt');
    assert.deepEqual(snap.corruptFiles, [path.join(dir, 'tokens.json.corrupt-2026-01-01T00:00:00.000Z')]);
    assert.deepEqual((await readdir(dir)).sort(), ['tokens.json', 'tokens.json.corrupt-2026-01-01T00:00:00.000Z', 'tokens.json.tmp-1-aa']);
    assert.deepEqual(await readFile(file), Buffer.alloc(64));
    const wrong = await readStoreSnapshot(file.replace('tokens', 'x'));
    assert.equal(wrong.state, 'missing');
  });
});

describe('one bad record costs that record, never the records beside it', () => {
  const huge = 'T'.repeat(5000);
  test('an oversize pending request token is dropped with a warning; the account stays; no copy kept', async () => {
    const file = path.join(dir, 'tokens.json');
    await writeFile(file, JSON.stringify({ version: 1, accounts: [account()], pending: pending({ token: huge }) }), { mode: 0o600 });
    const { logger, lines } = capturingLogger();
    const store = await TokenStore.open(file, logger);
    assert.deepEqual(store.data.accounts, [account()]);
    assert.equal(store.data.pending, null);
    assert.equal(store.recoveredFrom, null);
    assert.equal(lines.filter((l) => l.level === 40 && l.record === 'pending').length, 1);
    await store.close();
    assert.deepEqual(await readdir(dir), ['tokens.json'], 'no quarantine file');
    // written back at once: the next start finds a clean file and says nothing
    const again = capturingLogger();
    const s2 = await TokenStore.open(file, again.logger);
    assert.deepEqual(s2.data.accounts, [account()]);
    assert.equal(again.lines.filter((l) => (l.level as number) >= 40).length, 0);
    await s2.close();
  });

  test('a bad account costs that account: the one beside it stays, the file as it was is kept once', async () => {
    const file = path.join(dir, 'tokens.json');
    const other = account({ provider: 'flickr', token: 'bad token\u001b[2J' });
    const content = JSON.stringify({ version: 1, accounts: [other, account()], pending: pending() });
    await writeFile(file, content, { mode: 0o600 });
    const { logger, lines } = capturingLogger();
    const store = await TokenStore.open(file, logger);
    assert.deepEqual(store.data.accounts, [account()]);
    assert.deepEqual(store.data.pending, pending());
    assert.ok(store.recoveredFrom);
    assert.equal(await readFile(store.recoveredFrom, 'utf8'), content);
    assert.equal(await mode(store.recoveredFrom), 0o600);
    assert.equal(lines.filter((l) => l.level === 50 && l.who === 'flickr user 6253282').length, 1);
    await store.close();
    const s2 = await TokenStore.open(file, silent);
    assert.equal(s2.recoveredFrom, null);
    await s2.close();
    assert.equal((await readdir(dir)).filter((n) => n.includes('.corrupt-')).length, 1, 'one copy, not one per start');
  });

  test('the wrong PINs typed for a pending request survive a reopen; a record from before the field reads as none; a bad count is refused', async () => {
    const file = path.join(dir, 'tokens.json');
    await writeFile(file, JSON.stringify({ version: 1, accounts: [], pending: pending() }), { mode: 0o600 });
    const store = await TokenStore.open(file, silent);
    assert.equal(store.pending('twitter', 'ck1')?.wrongPins ?? 0, 0);
    await store.savePending(pending({ wrongPins: 2 }));
    for (const bad of [-1, 1.5, 101, 1e9]) await assert.rejects(store.savePending(pending({ wrongPins: bad })), String(bad));
    await store.close();
    const s2 = await TokenStore.open(file, silent);
    assert.equal(s2.pending('twitter', 'ck1')?.wrongPins, 2);
    await s2.close();
    await writeFile(file, JSON.stringify({ version: 1, accounts: [account()], pending: { ...pending(), wrongPins: 'x' } }), { mode: 0o600 });
    const s3 = await TokenStore.open(file, silent);
    assert.deepEqual([s3.data.accounts.length, s3.data.pending], [1, null]);
    await s3.close();
  });

  test('the store refuses to write a record its reader would refuse', async () => {
    const file = path.join(dir, 'tokens.json');
    const store = await TokenStore.open(file, silent);
    await store.saveAccount(account());
    for (const bad of [pending({ token: huge }), pending({ tokenSecret: 'a\nb' })]) {
      await assert.rejects(store.savePending(bad), (e: unknown) => isPinauthError(e, 'STORE_IO') && !e.message.includes(huge));
    }
    await assert.rejects(store.saveAccount(account({ provider: 'x', screenName: 'n'.repeat(65) })));
    await store.close();
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')).accounts, [account()]);
  });

  test('status reads record by record too', async () => {
    const file = path.join(dir, 'tokens.json');
    await writeFile(file, JSON.stringify({ version: 1, accounts: [account({ token: huge }), account({ provider: 'y' })], pending: null }), { mode: 0o600 });
    const snap = await readStoreSnapshot(file);
    assert.equal(snap.state, 'ok');
    assert.deepEqual(snap.accounts.map((a) => a.provider), ['y']);
    assert.equal(snap.dropped?.length, 1);
  });
});
