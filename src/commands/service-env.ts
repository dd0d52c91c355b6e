/**
 * The environment the systemd service starts with: what its unit and drop-ins set with
 * `Environment=` and `EnvironmentFile=`, read the way systemd reads them. `pinauthd doctor`
 * judges the proxy (and NODE_TLS_REJECT_UNAUTHORIZED) with it, not with the environment of
 * the operator's shell, which the service never sees.
 *
 * systemd applies `Environment=` first; the files override it, in the order named. An empty
 * assignment resets the list. A file named with a leading `-` may be missing.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readSmallFile, SmallFileRefused } from '../small-file.js';

/** Where systemd/install.sh puts the unit. */
export const UNIT_FILE = '/etc/systemd/system/pinauthd.service';

/** A unit, a drop-in or an environment file larger than this is not read. */
const MAX_FILE_BYTES = 64 * 1024;
/** systemd takes only such names; it skips other lines with a warning. */
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface ServiceEnvironment {
  env: Record<string, string>;
  /** What was read, in order: the unit, its drop-ins, the environment files. */
  files: string[];
  /** Environment files the unit names that could not be read: what the service sees is then not all known. */
  unreadable: Array<{ file: string; why: string }>;
}

/** The text of a file we only read if it is small and regular; null when it does not exist. */
async function readText(file: string): Promise<string | null> {
  try {
    return (await readSmallFile(file, MAX_FILE_BYTES)).toString('utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

function whyUnreadable(e: unknown): string {
  if (e instanceof SmallFileRefused) return e.why;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return 'this user may not read it (systemd reads it as root: run sudo pinauthd doctor)';
  return code ?? String(e);
}

const isComment = (line: string) => /^\s*[#;]/.test(line);

/**
 * Lines ending in a backslash go on with the next line (systemd.syntax); comment lines, which
 * never go on, are left out, also between continued lines.
 */
function logicalLines(text: string, continuation: string): string[] {
  const out: string[] = [];
  let pending = '';
  for (const line of text.split(/\r?\n/)) {
    if (isComment(line)) continue;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + continuation;
      continue;
    }
    out.push(pending + line);
    pending = '';
  }
  if (pending) out.push(pending);
  return out;
}

/** The `[Service]` section's `key=value` assignments, in order. */
export function serviceAssignments(unitText: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let section = '';
  for (const line of logicalLines(unitText, ' ')) {
    const header = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    const eq = line.indexOf('=');
    if (section === 'Service' && eq > 0) out.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return out;
}

/** Whitespace-separated words, with "double" and 'single' quotes grouping and backslash escapes. */
function words(value: string): string[] {
  const out: string[] = [];
  let word: string | null = null;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < value.length) word += value[++i]!;
      else word += c;
    } else if (/\s/.test(c)) {
      if (word !== null) out.push(word);
      word = null;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (c === '\\' && i + 1 < value.length) {
      word = (word ?? '') + value[++i]!;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== null) out.push(word);
  return out;
}

/** An `EnvironmentFile=` file's variables: `KEY=value` lines, quotes and comments as systemd reads them. */
export function parseEnvironmentFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of logicalLines(text, '')) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim();
    if (!VARIABLE_NAME.test(key)) continue;
    const raw = line.slice(eq + 1).trim();
    // A value that is one quoted string keeps what is inside; otherwise the words as written.
    const quoted = /^(["'])(.*)\1$/.exec(raw);
    env[key] = quoted ? (quoted[1] === '"' ? quoted[2]!.replace(/\\(.)/g, '$1') : quoted[2]!) : raw.replace(/\\(.)/g, '$1');
  }
  return env;
}

/**
 * What a unit's `[Service]` assignments set: its `Environment=` variables and the
 * `EnvironmentFile=` entries (a leading `-`: may be missing), each list reset by an empty one.
 */
export function unitEnvironment(assignments: Array<[string, string]>): { env: Record<string, string>; envFiles: string[] } {
  const env: Record<string, string> = {};
  let envFiles: string[] = [];
  for (const [key, value] of assignments) {
    if (key === 'Environment') {
      if (value === '') for (const k of Object.keys(env)) delete env[k];
      for (const w of words(value)) {
        const eq = w.indexOf('=');
        if (eq > 0 && VARIABLE_NAME.test(w.slice(0, eq))) env[w.slice(0, eq)] = w.slice(eq + 1);
      }
    } else if (key === 'EnvironmentFile') {
      envFiles = value === '' ? [] : [...envFiles, value];
    }
  }
  return { env, envFiles };
}

/**
 * The service's environment as its installed unit says, or null when `unitFile` does not
 * exist (pinauthd is not installed as a service here).
 */
export async function serviceEnvironment(unitFile: string = UNIT_FILE): Promise<ServiceEnvironment | null> {
  const unitText = await readText(unitFile);
  if (unitText === null) return null;
  const files = [unitFile];
  const dropInDir = `${unitFile}.d`;
  const dropIns = (await readdir(dropInDir).catch(() => [] as string[])).filter((n) => n.endsWith('.conf')).sort();
  const assignments = serviceAssignments(unitText);
  for (const name of dropIns) {
    const text = await readText(join(dropInDir, name)).catch(() => null);
    if (text === null) continue;
    files.push(join(dropInDir, name));
    assignments.push(...serviceAssignments(text));
  }

  const { env, envFiles } = unitEnvironment(assignments);
  const unreadable: ServiceEnvironment['unreadable'] = [];
  for (const entry of envFiles) {
    const optional = entry.startsWith('-');
    const file = optional ? entry.slice(1) : entry;
    let text: string | null;
    try {
      text = await readText(file);
    } catch (e) {
      unreadable.push({ file, why: whyUnreadable(e) });
      continue;
    }
    if (text === null) {
      if (!optional) unreadable.push({ file, why: 'it does not exist, and the unit requires it: the service will not start' });
      continue;
    }
    files.push(file);
    Object.assign(env, parseEnvironmentFile(text));
  }
  return { env, files, unreadable };
}
