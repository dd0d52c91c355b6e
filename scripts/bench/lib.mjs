// Small helpers for the benchmark: statistics, /proc readers, and the minimum number of
// pinpad bytes that turn one screen into another.
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * What the service runs: the node flags of the unit's ExecStart line, and its script (the
 * loader, dist/pinauthd-start.cjs, which runs the bundle with a V8 code cache) in dist/.
 */
export function unitCommand() {
  const line = /^ExecStart=(.*)$/m.exec(readFileSync(path.join(ROOT, 'systemd/pinauthd.service'), 'utf8'))?.[1] ?? '';
  const words = line.trim().split(/\s+/);
  const script = words.findIndex((w) => /\.(c|m)?js$/.test(w));
  return [words.slice(1, script), path.join(ROOT, 'dist', path.basename(words[script]))];
}

export function median(xs) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** VmHWM (peak) and VmRSS (now) of a live process, in KiB. */
export function memoryOf(pid) {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { hwmKb: kb('VmHWM'), rssKb: kb('VmRSS') };
}

/** utime + stime of a live process, in clock ticks (USER_HZ, 100 on Linux). */
export function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  return Number(fields[11]) + Number(fields[12]);
}
export const TICK_MS = 10;

const line = (s) => s.length + 1; // + LF

/** Cheapest cover of the changed cells of one row by `AT c r text` spans (a small DP over runs). */
function atCost(r, before, after, cols) {
  const runs = [];
  for (let c = 0; c < cols; c++) {
    if ((before[c] ?? ' ') === (after[c] ?? ' ')) continue;
    const last = runs[runs.length - 1];
    if (last && last[1] === c - 1) last[1] = c;
    else runs.push([c, c]);
  }
  if (runs.length === 0) return 0;
  const dp = new Array(runs.length + 1).fill(Infinity);
  dp[0] = 0;
  for (let j = 1; j <= runs.length; j++) {
    for (let i = 1; i <= j; i++) {
      const [start] = runs[i - 1];
      const end = runs[j - 1][1];
      const text = after.padEnd(cols).slice(start, end + 1);
      dp[j] = Math.min(dp[j], dp[i - 1] + line(`AT ${start} ${r} ${text}`));
    }
  }
  return dp[runs.length];
}

function rowCmd(r, text) {
  const t = text.trimEnd();
  return line(t.length ? `ROW ${r} ${t}` : `ROW ${r}`);
}

/**
 * The fewest host bytes that take the device from `before` to `after` (text rows and
 * cursor), with the pinpad commands of docs/protocol.md: per changed row the cheaper of ROW
 * and AT spans, or CLR and then ROW for every non-blank row, whichever is less; plus a CUR
 * command when the cursor changed.
 */
export function minimumBytes(before, after, cols) {
  let perRow = 0;
  let clear = line('CLR');
  for (let r = 0; r < after.rows.length; r++) {
    const b = (before.rows[r] ?? '').padEnd(cols);
    const a = (after.rows[r] ?? '').padEnd(cols);
    if (b !== a) perRow += Math.min(rowCmd(r, a), atCost(r, b, a, cols));
    if (a.trim().length) clear += rowCmd(r, a);
  }
  let cursor = 0;
  const bc = before.cursor;
  const ac = after.cursor;
  if (bc.visible !== ac.visible || (ac.visible && (bc.col !== ac.col || bc.row !== ac.row))) {
    cursor = ac.visible ? line(`CUR ${ac.col} ${ac.row}`) : line('CUR OFF');
  }
  return Math.min(perRow, clear) + cursor;
}

/**
 * The fewest bytes for a first frame after a (re)connect, when the host cannot know what
 * the device shows: CLR, every non-blank row, and the cursor state.
 */
export function minimumFirstFrame(after) {
  let bytes = line('CLR');
  after.rows.forEach((row, r) => {
    if (row.trim().length) bytes += rowCmd(r, row);
  });
  const c = after.cursor;
  return bytes + (c.visible ? line(`CUR ${c.col} ${c.row}`) : line('CUR OFF'));
}

/**
 * The daemon config every bench run uses: the local provider, a 20x4 pinpad display on the
 * simulator's port, the store in `dir`. Returns the config file and the store path.
 */
export async function writeDaemonConfig(dir, port, baseUrl, cols = 20) {
  const cfg = {
    provider: { preset: 'local', baseUrl, timeoutMs: 3000 },
    store: { path: path.join(dir, 'state', 'tokens.json') },
    display: { driver: 'pinpad', port, cols, rows: 4 },
    keypad: { mode: 'keys' },
    log: { level: 'info' },
  };
  const file = path.join(dir, 'config.json');
  await writeFile(file, JSON.stringify(cfg, null, 2));
  return { file, storePath: cfg.store.path };
}
