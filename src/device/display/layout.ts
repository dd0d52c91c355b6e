/**
 * Pure layout: a View and a text grid -> the rows of text to show. No I/O, no clock of its
 * own (`now` is passed in), so every driver and every test sees the same frame.
 *
 * URL paging keeps chunk boundaries stable: chunk i is always characters
 * [i*cols, (i+1)*cols) of the URL without its scheme, whatever else is on screen, so a
 * person copying the URL by hand never sees the same characters twice or skips any.
 *
 * A URL view's `lines` are its notice (why it is shown again: a wrong PIN, a new code). On
 * small grids the notice gets page 0 to itself and the URL pages follow; the page indicator
 * counts URL pages and stands only beside the URL's title. A notice taller than its page
 * loses its first rows (why), never its last (what to do), except while the person types.
 */
import type { View } from '../types.js';

export interface Grid {
  cols: number;
  rows: number;
}

export interface Frame {
  /** Exactly grid.rows strings, each at most grid.cols printable ASCII characters, no trailing spaces. */
  rows: string[];
  /** The URL page shown (normalized) and how many there are (0 without a URL). */
  page: number;
  pages: number;
  /** Where the next PIN digit goes, when a PIN entry is on screen and not full. */
  cursor?: { col: number; row: number };
  /** This page is the notice page (page 0 of a URL view whose notice has no room beside the URL). */
  notice?: boolean;
}

export interface LayoutOptions {
  page?: number;
  now?: number;
}

/** Printable ASCII only: everything else becomes '?', tabs and newlines a space. */
export function toPrintable(text: string): string {
  return text.replace(/[\t\r\n]/g, ' ').replace(/[^\x20-\x7e]/g, '?');
}

/** The URL as shown on a character display: without `https://` / `http://`. */
export function displayUrl(url: string): string {
  return toPrintable(url.replace(/^[a-z][a-z0-9+.-]*:\/\//i, ''));
}

/** The URL in fixed chunks of `cols` characters. */
export function urlChunks(url: string, cols: number): string[] {
  const text = displayUrl(url);
  const chunks: string[] = [];
  for (let i = 0; i < text.length; i += cols) chunks.push(text.slice(i, i + cols));
  return chunks;
}

export const PIN_PREFIX = 'PIN: ';

/** `PIN: 12_____`: the digits typed and a placeholder for each one still to come. */
export function pinEcho(entered: string, digits: number): string {
  const shown = toPrintable(entered).slice(0, digits);
  return PIN_PREFIX + shown + '_'.repeat(Math.max(0, digits - shown.length));
}

/**
 * The time left, as short as a small display needs: whole minutes (`15m`, rounded up) while
 * a minute or more is left, then seconds (`42s`). It changes once a minute for most of a
 * wait, so an idle daemon wakes and writes to the serial line once a minute, not every second.
 */
export function formatCountdown(msLeft: number): string {
  const total = Math.max(0, Math.ceil(msLeft / 1000));
  return total >= 60 ? `${Math.ceil(total / 60)}m` : `${total}s`;
}

/** Milliseconds until formatCountdown(until - now) shows something else (at least 50 ms). */
export function msUntilCountdownChanges(until: number, now: number): number {
  const left = until - now;
  if (left <= 0) return 60_000;
  const secs = Math.ceil(left / 1000);
  // The text changes when `left` drops to the next lower boundary: a whole minute while a
  // minute or more is left (the last one being the 60 s mark), then each second.
  const boundary = secs > 60 ? (Math.ceil(secs / 60) - 1) * 60_000 : (secs - 1) * 1000;
  return Math.max(50, left - boundary);
}

/** Word wrap to `cols`; words longer than a row are split. */
export function wrap(text: string, cols: number): string[] {
  const out: string[] = [];
  let row = '';
  for (const word of toPrintable(text).split(' ').filter((w) => w.length > 0)) {
    let w = word;
    if (row.length > 0 && row.length + 1 + w.length <= cols) {
      row += ' ' + w;
      continue;
    }
    if (row.length > 0) out.push(row);
    while (w.length > cols) {
      out.push(w.slice(0, cols));
      w = w.slice(cols);
    }
    row = w;
  }
  if (row.length > 0) out.push(row);
  return out;
}

function fit(text: string, cols: number): string {
  return toPrintable(text).slice(0, cols).trimEnd();
}

/**
 * The title with the URL's page indicator at the right, e.g. `Open link:   1/5`. The indicator
 * only ever stands beside the URL's title, never beside a notice (`Wrong PIN   1/5` would
 * read as "try 1 of 5").
 */
export function pageHeader(title: string, cols: number, page: number, pages: number): string {
  if (pages <= 1) return fit(title, cols);
  const indicator = `${page + 1}/${pages}`;
  if (indicator.length >= cols) return fit(indicator, cols);
  const room = cols - indicator.length - 1;
  return fit(title, room).padEnd(room) + ' ' + indicator;
}

function normalizePage(page: number, pages: number): number {
  if (pages <= 0) return 0;
  return ((Math.trunc(page) % pages) + pages) % pages;
}

/** On a notice page with a row to spare: how to get to the URL. */
export const NOTICE_HINT = '#: show the link';

/**
 * Where a URL view's notice (its `lines`: why the URL is shown again) goes. With room for the
 * title, the notice, a URL row and the footer, on the URL pages; otherwise (16x2, 20x4) on a
 * page of its own, page 0, before the URL pages.
 */
function noticePlacement(view: View, grid: Grid, now: number): 'none' | 'shared' | 'own-page' {
  if (!view.url || view.lines.length === 0) return 'none';
  const notice = view.lines.flatMap((l) => wrap(l, grid.cols)).length;
  return grid.rows - 1 - footerRows(view, grid, now).length - notice >= 1 ? 'shared' : 'own-page';
}

/** How many URL rows one page holds on this grid (the rest is title, notice, PIN, countdown). */
export function urlRowsPerPage(view: View, grid: Grid, now: number): number {
  if (!view.url) return 0;
  const body = grid.rows - 1;
  if (body <= 1) return 1;
  const notice = noticePlacement(view, grid, now) === 'shared' ? view.lines.flatMap((l) => wrap(l, grid.cols)).length : 0;
  return Math.max(1, Math.min(urlChunks(view.url, grid.cols).length, body - notice - footerRows(view, grid, now).length));
}

function footerRows(view: View, grid: Grid, now: number): string[] {
  const pin = view.pin ? pinEcho(view.pin.entered, view.pin.digits) : null;
  const left = view.countdown ? formatCountdown(view.countdown.until - now) : null;
  // A narrow column (beside a QR code) gets the time alone rather than a cut-off "15:0".
  const labelled = view.countdown && left ? `${view.countdown.label} ${left}` : null;
  const countdown = labelled !== null && labelled.length > grid.cols ? left : labelled;
  if (pin && countdown) {
    const combined = `${pin} ${left}`;
    return combined.length <= grid.cols ? [combined] : [pin, countdown];
  }
  return [pin, countdown].filter((r): r is string => r !== null);
}

export function layout(view: View, grid: Grid, opts: LayoutOptions = {}): Frame {
  const { cols } = grid;
  const rowsCount = Math.max(1, grid.rows);
  const now = opts.now ?? Date.now();
  const rows: string[] = [];
  let cursor: Frame['cursor'];
  const pinRow = (row: number): void => {
    if (view.pin && view.pin.entered.length < view.pin.digits) {
      const col = PIN_PREFIX.length + view.pin.entered.length;
      if (col < cols) cursor = { col, row };
    }
  };
  const typing = !!view.pin && view.pin.entered.length > 0;
  const whole = { cols, rows: rowsCount };

  const chunks = view.url ? urlChunks(view.url, cols) : [];
  const lines = view.lines.flatMap((l) => wrap(l, cols));
  const placement = noticePlacement(view, whole, now);
  const perPage = urlRowsPerPage(view, whole, now);
  const urlPages = chunks.length > 0 ? Math.ceil(chunks.length / perPage) : 0;
  const first = placement === 'own-page' ? 1 : 0;
  const pages = urlPages + first;
  const page = normalizePage(opts.page ?? 0, pages);
  const urlPage = page - first;
  const pageChunks = urlPage >= 0 ? chunks.slice(urlPage * perPage, urlPage * perPage + perPage) : [];
  const frame = (extra: Partial<Frame> = {}): Frame => ({ rows: rows.slice(0, rowsCount), page, pages, ...(cursor ? { cursor } : {}), ...extra });
  const footer = footerRows(view, whole, now).map((r) => fit(r, cols));

  if (urlPage < 0) {
    // The notice page: what happened and what to do, the PIN entry and the time left below.
    const shownFooter = rowsCount === 1 ? [] : footer.slice(0, typing ? 1 : Math.max(0, rowsCount - lines.length));
    const above = rowsCount - shownFooter.length;
    if (rowsCount === 1 && typing && view.pin) {
      rows.push(fit(pinEcho(view.pin.entered, view.pin.digits), cols));
      pinRow(0);
      return frame({ notice: true });
    }
    // Short of rows, the first lines (why) go: the last ones say what to do. While the person
    // types there is nothing more to do: the headline stays.
    rows.push(...(typing ? lines.slice(0, above) : lines.slice(Math.max(0, lines.length - above))));
    if (rows.length < above && NOTICE_HINT.length <= cols) rows.push(NOTICE_HINT);
    while (rows.length < above) rows.push('');
    if (view.pin && shownFooter.length > 0) pinRow(rows.length);
    rows.push(...shownFooter);
    return frame({ notice: true });
  }

  if (rowsCount === 1) {
    // One row: the entry while typing, else the URL, else the title.
    if (typing && view.pin) {
      rows.push(fit(pinEcho(view.pin.entered, view.pin.digits), cols));
      pinRow(0);
    } else rows.push(pageChunks[0] ?? fit(view.title, cols));
    return frame();
  }

  rows.push(chunks.length > 0 ? pageHeader(view.title, cols, urlPage, urlPages) : fit(view.title, cols));
  const body = rowsCount - 1;

  if (chunks.length > 0 && body === 1) {
    // 16x2: the second row is the URL, until the person starts typing the PIN.
    if (typing && footer.length > 0) {
      rows.push(footer[0]!);
      pinRow(1);
    } else rows.push(pageChunks[0] ?? '');
    return frame();
  }

  const shownFooter = footer.slice(0, Math.max(0, body - (chunks.length > 0 ? 1 : 0)));
  const middle: string[] = placement === 'shared' ? [...lines, ...pageChunks] : [...pageChunks];
  const room = body - shownFooter.length - middle.length;
  if (placement === 'none') middle.push(...lines.slice(0, Math.max(0, room)));
  while (middle.length < body - shownFooter.length) middle.push('');
  rows.push(...middle);
  if (view.pin && shownFooter.length > 0) pinRow(rows.length);
  rows.push(...shownFooter);
  return frame();
}
