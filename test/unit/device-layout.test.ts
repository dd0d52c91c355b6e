import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { displayUrl, formatCountdown, layout, msUntilCountdownChanges, pinEcho, urlChunks } from '../../src/device/display/layout.js';
import type { View } from '../../src/device/types.js';

const URL_88 = 'https://api.x.com/oauth/authorize?oauth_token=Z6eEdO8MOmk394WozF5oKyuAv855l4Mlqo7hhlSLik';
const NO_SCHEME = URL_88.slice('https://'.length);

const authView = (extra: Partial<View> = {}): View => ({
  state: 'awaiting_pin',
  title: 'Open on phone:',
  lines: [],
  url: URL_88,
  pin: { entered: '', digits: 7 },
  ...extra,
});

function allPages(view: View, cols: number, rows: number) {
  const first = layout(view, { cols, rows }, { now: 0 });
  return Array.from({ length: first.pages }, (_, p) => layout(view, { cols, rows }, { page: p, now: 0 }));
}

test('the test URL is the 88-character one', () => {
  assert.equal(URL_88.length, 88);
  assert.equal(displayUrl(URL_88), NO_SCHEME);
});

test('16x2: URL in 16-char pages with a page indicator; pages join back to the URL', () => {
  const frames = allPages(authView(), 16, 2);
  assert.equal(frames.length, 5);
  assert.deepEqual(frames[0]!.rows, ['Open on phon 1/5', 'api.x.com/oauth/']);
  assert.equal(frames[1]!.rows[1], 'authorize?oauth_');
  assert.equal(frames.map((f) => f.rows[1]).join(''), NO_SCHEME);
  for (const f of frames) for (const r of f.rows) assert.ok(r.length <= 16);
});

test('16x2: paging wraps around in both directions', () => {
  const v = authView();
  assert.equal(layout(v, { cols: 16, rows: 2 }, { page: 5 }).page, 0);
  assert.equal(layout(v, { cols: 16, rows: 2 }, { page: -1 }).page, 4);
});

test('16x2: once typing starts, the second row is the PIN echo with the cursor after it', () => {
  const f = layout(authView({ pin: { entered: '12', digits: 7 } }), { cols: 16, rows: 2 }, { now: 0 });
  assert.equal(f.rows[1], 'PIN: 12_____');
  assert.deepEqual(f.cursor, { col: 7, row: 1 });
});

test('20x4: two URL rows per page above the PIN row; chunk boundaries are stable', () => {
  const frames = allPages(authView(), 20, 4);
  assert.equal(frames.length, 2);
  assert.deepEqual(frames[0]!.rows, ['Open on phone:   1/2', 'api.x.com/oauth/auth', 'orize?oauth_token=Z6', 'PIN: _______']);
  const chunks = frames.flatMap((f) => f.rows.slice(1, 3)).filter((r) => r.length > 0);
  assert.deepEqual(chunks, urlChunks(URL_88, 20));
  assert.equal(chunks.join(''), NO_SCHEME);
  // Typing does not move the URL chunks.
  const typing = layout(authView({ pin: { entered: '123', digits: 7 } }), { cols: 20, rows: 4 }, { page: 1 });
  assert.deepEqual(typing.rows.slice(1, 3), frames[1]!.rows.slice(1, 3));
  assert.equal(typing.rows[3], 'PIN: 123____');
});

test('20x4: the countdown shares the PIN row when it fits', () => {
  const f = layout(authView({ countdown: { until: 754_000, label: 'expires' } }), { cols: 20, rows: 4 }, { now: 0 });
  assert.equal(f.rows[3], 'PIN: _______ 13m');
});

test('21x8: the whole URL fits on one page, below its notice, with the PIN', () => {
  const f = layout(authView({ lines: ['Wrong PIN', '2 tries left'], countdown: { until: 60_000, label: 'expires' } }), { cols: 21, rows: 8 }, { now: 0 });
  assert.equal(f.pages, 1);
  assert.equal(f.notice, undefined);
  assert.deepEqual(f.rows.slice(0, 3), ['Open on phone:', 'Wrong PIN', '2 tries left']);
  assert.equal(f.rows.slice(3, 7).join(''), NO_SCHEME);
  assert.equal(f.rows[7], 'PIN: _______ 1m');
  assert.equal(f.rows.length, 8);
});

test('no URL: title, wrapped lines, truncated to the screen, printable ASCII only', () => {
  const f = layout(
    { state: 'error', title: 'Authorized as @someone_with_a_long_name', lines: ['caf\u00e9 \u2713 line two is long enough to wrap', 'dropped'] },
    { cols: 16, rows: 3 },
  );
  assert.deepEqual(f.rows, ['Authorized as @s', 'caf? ? line two', 'is long enough']);
  assert.equal(f.pages, 0);
});

test('countdown: whole minutes rounded up while a minute is left, then seconds, never negative', () => {
  assert.equal(formatCountdown(754_000), '13m');
  assert.equal(formatCountdown(900_000), '15m');
  assert.equal(formatCountdown(60_000), '1m');
  assert.equal(formatCountdown(59_001), '1m');
  assert.equal(formatCountdown(59_000), '59s');
  assert.equal(formatCountdown(999), '1s');
  assert.equal(formatCountdown(-5), '0s');
  assert.equal(pinEcho('12', 7), 'PIN: 12_____');
});

test('property: every frame has exactly `rows` rows of at most `cols` printable ASCII', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 8, max: 40 }),
      fc.integer({ min: 1, max: 8 }),
      fc.string(),
      fc.array(fc.string(), { maxLength: 4 }),
      fc.option(fc.webUrl()),
      fc.option(fc.stringMatching(/^[0-9]{0,9}$/)),
      fc.integer({ min: -20, max: 20 }),
      (cols, rows, title, lines, url, entered, page) => {
        const view: View = { state: 's', title, lines, ...(url ? { url } : {}), ...(entered !== null ? { pin: { entered, digits: 9 } } : {}) };
        const f = layout(view, { cols, rows }, { page, now: 0 });
        assert.equal(f.rows.length, rows);
        for (const r of f.rows) {
          assert.ok(r.length <= cols);
          assert.match(r, /^[\x20-\x7e]*$/);
        }
        if (url && rows >= 2) {
          // Paging through every page shows the whole URL, in order.
          // (A notice, the view's lines, may take a page of its own: checked in lifecycle-screens.)
          const plain = { ...view, pin: undefined, lines: [] };
          const body = Array.from({ length: layout(plain, { cols, rows }).pages }, (_, p) => layout(plain, { cols, rows }, { page: p }));
          const perPage = Math.max(1, Math.min(urlChunks(url, cols).length, rows - 1));
          const text = body.map((b) => b.rows.slice(1, 1 + perPage).join('')).join('');
          assert.ok(text.startsWith(displayUrl(url)));
        }
      },
    ),
  );
});

test('the countdown is redrawn exactly when its text changes', () => {
  // Walk a 15-minute wait: every wake-up shows a different text, and there are 14 + 60 of them.
  const until = 900_000;
  let now = 0;
  let wakeUps = 0;
  let last = formatCountdown(until - now);
  while (now < until) {
    now += msUntilCountdownChanges(until, now);
    const text = formatCountdown(until - now);
    assert.notEqual(text, last, `woke at ${now} ms without a change`);
    last = text;
    wakeUps++;
  }
  assert.equal(last, '0s');
  assert.equal(wakeUps, 14 + 60);
});
