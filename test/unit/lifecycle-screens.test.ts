/**
 * Every notice and error screen on the two common LCDs (16x2, 20x4): nothing cut, a notice
 * never beside a page indicator, tries left stated as such, a new URL said to be new.
 * The flow runs through the real machine (transition) so the states are the ones it makes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { layout, wrap, type Grid } from '../../src/device/display/layout.js';
import { ErrorCodes, PinauthError, type ErrorCode } from '../../src/errors.js';
import { transition, type MachineSettings, type State } from '../../src/lifecycle/machine.js';
import { NEW_CODE, noticeLines, pinMistakeLines, viewFor } from '../../src/lifecycle/screens.js';
import type { PendingAuthorization } from '../../src/store/types.js';
import type { View } from '../../src/device/types.js';
import { DEFAULT_MACHINE_SETTINGS } from '../helpers/machine-settings.js';

const GRIDS: Grid[] = [
  { cols: 16, rows: 2 },
  { cols: 20, rows: 4 },
];
const NOW = Date.parse('2026-12-01T12:00:00Z');
const settings: MachineSettings = DEFAULT_MACHINE_SETTINGS;
const pending = (token: string): PendingAuthorization => ({
  provider: 'twitter',
  consumerKey: 'ck',
  token,
  tokenSecret: 's',
  authorizeUrl: `https://api.x.com/oauth/authorize?oauth_token=${token}`,
  issuedAt: new Date(NOW).toISOString(),
});
const OLD = pending('OLDxxxxxxxxxxxxxxxxxxxxxxxxxxxxx');
const NEW = pending('NEWyyyyyyyyyyyyyyyyyyyyyyyyyyyyy');
const err = (code: ErrorCode) => new PinauthError(code, code);
const view = (s: State, entered = ''): View => viewFor(s, { pinDigits: 7, entered });
const pages = (v: View, g: Grid) => {
  const n = layout(v, g, { now: NOW }).pages;
  return Array.from({ length: Math.max(1, n) }, (_, p) => layout(v, g, { page: p, now: NOW }));
};
const words = (lines: readonly string[]) => lines.join(' ').split(' ').filter(Boolean);

/** Wrong PINs from the first URL, through the machine: tries left, then a new URL. */
function wrongPins(): State[] {
  const seen: State[] = [];
  let s: State = transition({ name: 'requesting' }, { type: 'requested', pending: OLD, now: NOW }, settings).state;
  seen.push(s);
  for (let i = 0; i < settings.pinTries; i++) {
    s = transition(s, { type: 'pin', pin: '1234567' }, settings).state;
    s = transition(s, { type: 'exchange_failed', error: err('OAUTH_WRONG_PIN'), now: NOW }, settings).state;
    if (s.name === 'requesting') s = transition(s, { type: 'requested', pending: NEW, now: NOW }, settings).state;
    seen.push(s);
  }
  return seen;
}

test('wrong PINs: tries left stated as such, then "New code" on the new URL', () => {
  const [first, wrong1, wrong2, renewed] = wrongPins();
  assert.deepEqual(view(first!).lines, []);
  assert.deepEqual(view(wrong1!).lines, ['Wrong PIN', '2 tries left']);
  assert.deepEqual(view(wrong2!).lines, ['Wrong PIN', '1 try left']);
  assert.equal(renewed!.name === 'awaiting_pin' && renewed.pending.token, NEW.token);
  assert.deepEqual(view(renewed!).lines, ['Wrong PIN', 'New code: open the link again']);
});

test('16x2 and 20x4: a notice has a page of its own with no page indicator; the URL pages follow', () => {
  const [, wrong1, , renewed] = wrongPins();
  const expected = {
    '16x2': [
      ['Wrong PIN', '2 tries left'],
      ['New code: open', 'the link again'],
    ],
    '20x4': [
      ['Wrong PIN', '2 tries left', '#: show the link', 'PIN: _______ 15m'],
      ['Wrong PIN', 'New code: open the', 'link again', 'PIN: _______ 15m'],
    ],
  };
  for (const g of GRIDS) {
    const key = `${g.cols}x${g.rows}` as keyof typeof expected;
    for (const [i, s] of [wrong1!, renewed!].entries()) {
      const frames = pages(view(s), g);
      assert.deepEqual(frames[0]!.rows, expected[key][i], key);
      assert.equal(frames[0]!.notice, true);
      // The URL pages say "Open link:" beside their indicator, counted among URL pages only.
      const urlPages = frames.slice(1);
      assert.ok(urlPages.length >= 2, key);
      urlPages.forEach((f, p) => assert.equal(f.rows[0], `${'Open link:'.padEnd(g.cols - 4)} ${p + 1}/${urlPages.length}`, key));
      // Joined, the URL pages give the whole URL, the new one after a renewal.
      const url = s.name === 'awaiting_pin' ? s.pending.authorizeUrl : '';
      assert.equal(urlPages.flatMap((f) => f.rows.slice(1, g.rows === 2 ? 2 : 3)).join(''), url.replace('https://', ''), key);
    }
  }
});

test('16x2: typing on the notice page keeps the notice headline and shows the entry', () => {
  const [, wrong1] = wrongPins();
  const f = layout(view(wrong1!, '12'), { cols: 16, rows: 2 }, { now: NOW });
  assert.deepEqual(f.rows, ['Wrong PIN', 'PIN: 12_____ 15m']);
  assert.deepEqual(f.cursor, { col: 7, row: 1 });
});

test('the first URL screen has no notice page', () => {
  const [first] = wrongPins();
  for (const g of GRIDS) {
    const f = layout(view(first!), g, { now: NOW });
    assert.match(f.rows[0]!, /^Open link: +1\/\d$/);
    assert.equal(f.notice, undefined);
  }
});

/** Every notice the URL screen can carry. */
function everyNotice(): Array<{ name: string; state: State }> {
  const base = { name: 'awaiting_pin' as const, pending: OLD, expiresAt: NOW + 900_000, triesLeft: 3 };
  const out: Array<{ name: string; state: State }> = [];
  for (const code of Object.keys(ErrorCodes) as ErrorCode[]) out.push({ name: code, state: { ...base, notice: err(code) } });
  for (const mistake of ['length', 'not_digits'] as const) {
    out.push({ name: mistake, state: { ...base, notice: new PinauthError('PIN_FORMAT', mistake, { short: pinMistakeLines(mistake, 7) }) } });
  }
  out.push({ name: 'newCode (expired)', state: { ...base, newCode: true } });
  out.push({ name: 'newCode (reply lost)', state: { ...base, newCode: true, notice: err('OAUTH_REPLY_LOST') } });
  out.push({ name: 'last try', state: { ...base, triesLeft: 1, notice: err('OAUTH_WRONG_PIN') } });
  return out;
}

test('every notice: whole words, what to do always shown; all of it on 20x4', () => {
  for (const { name, state } of everyNotice()) {
    const notice = noticeLines(state as Extract<State, { name: 'awaiting_pin' }>);
    assert.ok(notice.length >= 1 && notice.length <= 2, name);
    for (const l of notice) assert.ok(l.length <= 16 || l === NEW_CODE, `${name}: "${l}" is longer than 16`);
    for (const g of GRIDS) {
      const lines = notice.flatMap((l) => wrap(l, g.cols));
      const f0 = layout(view(state), g, { now: NOW });
      // What to do (the last line) is always on screen, unbroken.
      assert.ok(words(f0.rows).join(' ').includes(words([notice.at(-1)!]).join(' ')), `${name} on ${g.cols}x${g.rows}: ${f0.rows.join('|')}`);
      if (g.rows === 2 && lines.length > 2) continue;
      const f = f0;
      // On its own page (two rows) or, a one-row notice on a 20x4, below the URL's title.
      const at = f.rows.indexOf(lines[0]!);
      assert.deepEqual(f.rows.slice(at, at + lines.length), lines, `${name} on ${g.cols}x${g.rows}`);
      // No "n/m" beside a notice: it would read as a count of tries.
      for (const r of f.rows.slice(at, at + lines.length)) assert.doesNotMatch(r, /\d+\/\d+$/, name);
    }
  }
});

test('letters typed as a PIN say "Digits only"; a wrong length says how many digits', () => {
  assert.deepEqual(pinMistakeLines('not_digits', 7), ['Digits only', 'type the PIN']);
  assert.deepEqual(pinMistakeLines('length', 7), ['PIN: 7 digits', 'type it again']);
});

test('every error screen (waiting, requesting): the title is whole on 16x2 and 20x4, and its words show on 20x4', () => {
  for (const code of Object.keys(ErrorCodes) as ErrorCode[]) {
    const e = err(code);
    const states: State[] = [
      { name: 'waiting', error: e, until: NOW + 65_000, attempt: 1, then: { name: 'requesting' } },
      { name: 'requesting', reason: e },
    ];
    for (const s of states) {
      const v = view(s);
      for (const g of GRIDS) {
        const f = layout(v, g, { now: NOW });
        assert.equal(f.rows[0], v.title, `${code} ${s.name} ${g.cols}x${g.rows}`);
        if (g.rows === 4) assert.deepEqual(words(f.rows.slice(0, 1 + v.lines.length)), words([v.title, ...v.lines]), `${code} ${s.name}`);
      }
      if (s.name === 'waiting') assert.equal(layout(v, GRIDS[0]!, { now: NOW }).rows[1], 'retry in 2m');
    }
  }
});

test('storage screens, the quiet screen and no network yet: whole on 16x2 (title, then what matters), every word on 20x4', () => {
  const errno = (code: string) =>
    new PinauthError(code === 'EROFS' ? 'STORE_PERMISSIONS' : 'STORE_IO', `cannot write (${code})`, { cause: Object.assign(new Error(code), { code }) });
  const account = { provider: 'twitter', consumerKey: 'ck', userId: '1', screenName: 'x', token: 't', tokenSecret: 's', createdAt: new Date(NOW).toISOString(), verifiedAt: null };
  const cases: Array<{ state: State; rows16x2: string[] }> = [
    { state: { name: 'saving', account, failure: { error: errno('ENOSPC'), attempt: 1, retryAt: NOW + 5000 } }, rows16x2: ['Storage full', 'retry in 5s'] },
    { state: { name: 'saving', account, failure: { error: errno('EIO'), attempt: 1, retryAt: NOW + 5000 } }, rows16x2: ['Disk error', 'retry in 5s'] },
    { state: { name: 'no_store', error: errno('EROFS'), attempt: 1, retryAt: NOW + 65_000 }, rows16x2: ['Disk read-only', 'retry in 2m'] },
    { state: { name: 'quiet' }, rows16x2: ['Press #', 'for a new code'] },
    {
      state: { name: 'waiting', error: new PinauthError('OAUTH_NETWORK', 'no route'), attempt: 1, until: NOW + 5000, then: { name: 'requesting' }, offline: true },
      rows16x2: ['No network yet', 'retry in 5s'],
    },
    { state: { name: 'stopped', error: new PinauthError('STORE_PERMISSIONS', 'refusing to follow it') }, rows16x2: ['Store denied', 'see the log'] },
  ];
  for (const { state, rows16x2 } of cases) {
    const v = view(state);
    assert.deepEqual(layout(v, GRIDS[0]!, { now: NOW }).rows, rows16x2, state.name);
    const f = layout(v, GRIDS[1]!, { now: NOW });
    assert.deepEqual(words(f.rows.slice(0, 1 + v.lines.length)), words([v.title, ...v.lines]), `${state.name}: ${f.rows.join('|')}`);
  }
});
