#!/usr/bin/env node
/**
 * Runs the recipes of the README (and docs/*.md) verbatim and compares what they print with
 * the transcripts printed beside them, so that a newcomer who copies a block gets what the
 * page says.
 *
 *   node --import tsx scripts/readme-recipes.ts [FILE.md ...]    (test/integration/readme-recipes.test.ts runs it)
 *
 * A recipe is a ```sh block right after `<!-- recipe: NAME -->`. A recipe in two terminals is
 * two such blocks: `<!-- recipe: NAME, ready: TEXT -->` for the first (a server), and the
 * second starts once the first has printed TEXT, as a person would wait for it. `exit N`
 * says the last command fails with status N. A transcript is the fenced block after
 * `<!-- transcript: NAME -->`: what the last terminal shows, each command as `$ command`
 * (its comment dropped) and what it printed, stdout and stderr together.
 *
 * The recipes run in a copy of this checkout in a temp dir (node_modules linked, dist/ copied
 * as `npm run build` left it), with timeouts, as a person would: when a terminal shows the local provider's authorize URL,
 * the person approves it (the provider's control endpoint) and types the PIN (echoed, as a
 * terminal would). Loopback only: the test runs this in a network namespace of its own, so
 * the README's port 8723 is free. Output is normalised before the comparison: request
 * tokens, the PIN, ISO times and the temp dir's path (shown as /home/you/pinauthd).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import MarkdownIt from 'markdown-it';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** A recipe's terminals together: the first build in a fresh copy takes a while on a small machine. */
const RECIPE_TIMEOUT_MS = 240_000;
export const SHOWN_CHECKOUT = '/home/you/pinauthd';

export interface Terminal {
  commands: string[];
  ready?: string;
}
export interface Recipe {
  name: string;
  file: string;
  terminals: Terminal[];
  transcript: string | null;
  /** The last terminal's exit status (default 0). */
  exit: number;
}

/** The recipes and transcripts of a markdown text, as markdown-it reads it. */
export function extractRecipes(markdown: string, file = 'README.md'): Recipe[] {
  const tokens = new MarkdownIt({ html: true }).parse(markdown, {});
  const recipes = new Map<string, Recipe>();
  const get = (name: string) => recipes.get(name) ?? (recipes.set(name, { name, file, terminals: [], transcript: null, exit: 0 }).get(name) as Recipe);
  tokens.forEach((t, i) => {
    if (t.type !== 'html_block') return;
    const m = /^<!--\s*(recipe|transcript):\s*([\w-]+)((?:\s*,\s*[^,>]+)*)\s*-->\s*$/.exec(t.content.trim());
    if (!m) return;
    const fence = tokens[i + 1];
    if (fence?.type !== 'fence') throw new Error(`${file} line ${(t.map?.[0] ?? 0) + 1}: ${m[1]} ${m[2]} is not followed by a fenced block`);
    const recipe = get(m[2]!);
    if (m[1] === 'transcript') {
      recipe.transcript = fence.content;
      return;
    }
    const opts = new Map(
      m[3]!
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean)
        .map((o) => {
          const kv = /^(\w+)(?::\s*|\s+|$)(.*)$/.exec(o);
          return [kv?.[1] ?? o, (kv?.[2] ?? '').trim()] as const;
        }),
    );
    const terminal: Terminal = { commands: fence.content.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#')) };
    const ready = opts.get('ready');
    if (ready) terminal.ready = ready;
    if (opts.has('exit')) recipe.exit = Number(opts.get('exit'));
    recipe.terminals.push(terminal);
  });
  return [...recipes.values()];
}

/** A command as a transcript shows it: without its trailing comment. */
export function shownCommand(line: string): string {
  return line.replace(/\s+#\s.*$/, '').trimEnd();
}

export function normalise(text: string, checkout: string): string {
  return text
    .split(checkout)
    .join(SHOWN_CHECKOUT)
    .replace(/oauth_token=[\w-]+/g, 'oauth_token=<token>')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z/g, '<time>')
    .replace(/^\d{7}$/gm, '<pin>')
    .replace(/[ \t]+$/gm, '')
    .replace(/\n+$/, '\n');
}

/** A copy of the checkout's files (what git would check out, untracked ones too) with node_modules linked. */
function copyCheckout(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pinauthd-readme-'));
  const git = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' });
  const files = git.status === 0 ? git.stdout.split('\0').filter(Boolean) : walk(ROOT);
  for (const f of files) {
    const from = path.join(ROOT, f);
    if (!statSync(from, { throwIfNoEntry: false })?.isFile()) continue; // deleted, not yet committed
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    cpSync(from, path.join(dir, f));
  }
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  if (statSync(path.join(ROOT, 'dist'), { throwIfNoEntry: false })?.isDirectory()) cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
  return dir;
}

function walk(root: string, rel = ''): string[] {
  return readdirSync(path.join(root, rel), { withFileTypes: true }).flatMap((e) => {
    const p = path.join(rel, e.name);
    if (['node_modules', 'dist', '.git'].includes(e.name)) return [];
    return e.isDirectory() ? walk(root, p) : [p];
  });
}

/** What the person at a terminal does: approve a local-provider URL once, and type its PIN. */
async function playPerson(url: string, base: string): Promise<string> {
  const token = new URL(url).searchParams.get('oauth_token');
  const res = await fetch(`${base}/__control/approve`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ oauth_token: token }),
    signal: AbortSignal.timeout(5000),
  });
  const { pin } = (await res.json()) as { pin: string };
  return pin;
}

interface Running {
  child: ChildProcess;
  transcript: string[];
  exited: Promise<number | null>;
}

function runTerminal(terminal: Terminal, cwd: string, env: NodeJS.ProcessEnv): Running {
  // Each command as `$ command`, then the command itself: one shell, so `export` carries on.
  const script = ['set -e', ...terminal.commands.flatMap((c) => [`printf '%s\\n' ${shellQuote(`$ ${shownCommand(c)}`)}`, c])].join('\n');
  const file = path.join(cwd, `.recipe-${process.hrtime.bigint()}.sh`);
  writeFileSync(file, script);
  const child = spawn('bash', ['--noprofile', '--norc', file], { cwd, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  const transcript: string[] = [];
  const approved = new Set<string>();
  let pending = '';
  const onData = (chunk: Buffer) => {
    transcript.push(chunk.toString('utf8'));
    pending += chunk.toString('utf8');
    const m = /(http:\/\/127\.0\.0\.1:\d+)\/oauth\/authorize\?oauth_token=[\w-]+/.exec(pending);
    if (m && !approved.has(m[0])) {
      approved.add(m[0]);
      pending = '';
      void playPerson(m[0], m[1]!).then(
        (pin) => {
          // Typed once the prompt for it is there; a terminal echoes it.
          const type = () => {
            transcript.push(`${pin}\n`);
            child.stdin!.write(`${pin}\n`);
          };
          const wait = setInterval(() => {
            if (/PIN \(\d+ digits\)/.test(transcript.join(''))) {
              clearInterval(wait);
              type();
            }
          }, 20);
        },
        (e: unknown) => transcript.push(`[readme-recipes: could not approve ${m[0]}: ${String(e)}]\n`),
      );
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, transcript, exited };
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function killGroup(child: ChildProcess): void {
  if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  }
}

async function waitFor(cond: () => boolean, ms: number, what: string, exited: Promise<unknown>): Promise<void> {
  let done = false;
  void exited.then(() => (done = true));
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (done && !cond()) throw new Error(`${what}: the terminal ended first`);
    if (Date.now() > deadline) throw new Error(`${what}: timed out after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Outcome {
  name: string;
  ok: boolean;
  expected: string | null;
  actual: string;
  problem?: string;
}

export async function runRecipe(recipe: Recipe): Promise<Outcome> {
  const dir = copyCheckout();
  const home = path.join(dir, '.home');
  mkdirSync(home);
  // A clean environment, as a new user's shell has: no npm_* from an outer `npm test`, no pinauthd settings.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, LANG: 'C.UTF-8', TERM: 'dumb', TMPDIR: path.join(dir, '.tmp') };
  mkdirSync(env.TMPDIR!);
  const running: Running[] = [];
  const deadline = Date.now() + RECIPE_TIMEOUT_MS;
  try {
    let last: Running | undefined;
    for (const t of recipe.terminals) {
      last = runTerminal(t, dir, env);
      running.push(last);
      const r = last;
      if (t.ready) await waitFor(() => r.transcript.join('').includes(t.ready!), deadline - Date.now(), `${recipe.name}: waiting for "${t.ready}"`, r.exited);
    }
    const timer = setTimeout(() => running.forEach((r) => killGroup(r.child)), Math.max(0, deadline - Date.now()));
    const code = await last!.exited;
    clearTimeout(timer);
    const actual = normalise(last!.transcript.join(''), dir);
    if (code !== recipe.exit) return { name: recipe.name, ok: false, expected: recipe.transcript, actual, problem: `the last terminal exited ${code}, not ${recipe.exit}` };
    if (recipe.transcript === null) return { name: recipe.name, ok: true, expected: null, actual };
    const expected = normalise(recipe.transcript, SHOWN_CHECKOUT);
    return { name: recipe.name, ok: actual === expected, expected, actual, ...(actual === expected ? {} : { problem: 'the transcript differs' }) };
  } finally {
    running.forEach((r) => killGroup(r.child));
    await Promise.all(running.map((r) => r.exited));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The markdown files to run by default: the README and the docs. */
function defaultFiles(): string[] {
  const docs = readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => path.join(ROOT, 'docs', f));
  return [path.join(ROOT, 'README.md'), ...docs];
}

async function main(): Promise<number> {
  const files = process.argv.length > 2 ? process.argv.slice(2) : defaultFiles();
  const recipes = files.flatMap((f) => extractRecipes(readFileSync(f, 'utf8'), path.relative(ROOT, f)));
  if (!recipes.some((r) => r.file === 'README.md') && process.argv.length <= 2) {
    process.stderr.write('README.md: no recipes marked\n');
    return 1;
  }
  let failed = 0;
  for (const r of recipes) {
    if (r.terminals.length === 0) throw new Error(`${r.file}: transcript ${r.name} has no recipe`);
    const o = await runRecipe(r);
    process.stdout.write(`${o.ok ? 'ok' : 'FAILED'}: ${r.file} ${r.name}${o.problem ? ` (${o.problem})` : ''}\n`);
    if (!o.ok) {
      failed++;
      process.stdout.write(`--- README\n${o.expected ?? '(no transcript)'}\n--- printed\n${o.actual}\n`);
    }
  }
  return failed === 0 ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`readme-recipes: ${e instanceof Error ? e.stack : String(e)}\n`);
      process.exit(1);
    },
  );
}
