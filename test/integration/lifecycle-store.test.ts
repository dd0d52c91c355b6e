/** A damaged token store at start: kept aside, the person told why, the flow carries on. */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, it } from 'node:test';
import { Stack } from '../helpers/stack.js';

let stack: Stack | undefined;
after(() => stack?.close());

it('a truncated store file is kept aside, the display says so next to the URL, and a new token is stored', async () => {
  const s = (stack = await Stack.start({ profile: 'lcd20x4', keypadMode: 'keys' }));
  const damaged = '{"version":1,"accounts":[{"provider":"local","consumerKey":"pinauthd-demo-ke';
  await mkdir(path.dirname(s.storePath), { recursive: true, mode: 0o700 });
  await writeFile(s.storePath, damaged, { mode: 0o600 });
  const d = s.spawn(['run']);
  await d.waitForLog((l) => l.level === 50 && /moved aside/.test(String(l.msg)) && typeof l.kept === 'string', 15_000, 'an error log naming the kept file');
  await d.waitForState('awaiting_pin');
  await s.waitForText('Store was reset');
  const kept = (await readdir(path.dirname(s.storePath))).filter((n) => n.startsWith('tokens.json.corrupt-'));
  assert.equal(kept.length, 1);
  assert.equal(await readFile(path.join(path.dirname(s.storePath), kept[0]!), 'utf8'), damaged, 'kept byte for byte');
  for (const k of await s.approve()) s.sim.pressKey(k);
  await d.waitForState('authorized');
  assert.equal((await s.readStore()).accounts[0].screenName, 'twitterapi');
});
