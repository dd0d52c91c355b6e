/**
 * The client examples of docs/using-the-token.md, run as they are printed (only the socket
 * path is this test's) against the real daemon's API socket and the local provider: the Node
 * ones (undici, node:http) always, the Python one (requests-unixsocket) when a python3 with
 * that module is there (.ci/run installs Debian's python3-requests-unixsocket).
 * A block is an example when `<!-- example: NAME -->` comes right before its fence.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import MarkdownIt from 'markdown-it';
import { DaemonProcess, Stack } from '../helpers/stack.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DOC = path.join(ROOT, 'docs/using-the-token.md');
const DOC_SOCKET = '/run/pinauthd/api.sock';
const run = promisify(execFile);

async function examples(): Promise<Map<string, string>> {
  const tokens = new MarkdownIt({ html: true }).parse(await readFile(DOC, 'utf8'), {});
  const found = new Map<string, string>();
  tokens.forEach((t, i) => {
    const m = t.type === 'html_block' ? /^<!--\s*example:\s*([\w-]+)\s*-->$/.exec(t.content.trim()) : null;
    if (m && tokens[i + 1]?.type === 'fence') found.set(m[1]!, tokens[i + 1]!.content);
  });
  return found;
}

/** The example with this test's socket in place of the documented one (which it must name). */
function withSocket(code: string, socket: string): string {
  const encoded = encodeURIComponent(DOC_SOCKET);
  assert.ok(code.includes(DOC_SOCKET) || code.includes(encoded), 'the example names /run/pinauthd/api.sock');
  return code.split(DOC_SOCKET).join(socket).split(encoded).join(encodeURIComponent(socket));
}

/** A python3 that has requests_unixsocket (the first python3 on PATH may be another one). */
function pythonWithModule(): string | null {
  for (const py of ['python3', '/usr/bin/python3']) {
    if (spawnSync(py, ['-c', 'import requests_unixsocket'], { stdio: 'ignore' }).status === 0) return py;
  }
  return null;
}

describe('docs/using-the-token.md examples, run against the daemon', () => {
  let s: Stack;
  let d: DaemonProcess;
  let sock: string;
  let dir: string;
  let code: Map<string, string>;
  const apiCalls = () => d.logs.filter((l) => l.msg === 'api request').map((l) => `${String(l.method)} ${String(l.path)} ${String(l.status)}`);

  before(async () => {
    code = await examples();
    s = await Stack.start({ profile: 'lcd20x4', keypadMode: 'keys', config: (c) => (c.proxy = { socket: path.join(path.dirname(c.store.path), '..', 'api.sock') }) });
    sock = s.fileConfig.proxy.socket;
    d = s.spawn(['run']);
    await s.authorize(d);
    // the examples import their packages from this checkout's node_modules, as from a project's
    dir = await mkdtemp(path.join(os.tmpdir(), 'pinauthd-examples-'));
    await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  });
  after(async () => {
    await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('has the three examples', () => {
    assert.deepEqual([...code.keys()].sort(), ['node-http', 'node-undici', 'python']);
  });

  it('Node with undici: GET /2/users/me prints the username, the JSON POST reaches /2/tweets', async () => {
    const file = path.join(dir, 'undici-example.mjs');
    await writeFile(file, withSocket(code.get('node-undici')!, sock));
    const before = apiCalls().length;
    const r = await run(process.execPath, [file], { cwd: dir, timeout: 30_000 });
    assert.equal(r.stdout, 'twitterapi\n');
    await d.waitFor(() => apiCalls().length >= before + 2, 'both calls logged', 10_000);
    assert.deepEqual(apiCalls().slice(before), ['GET /2/users/me 200', 'POST /2/tweets 201']);
  });

  it('Node with node:http: prints the status and the body', async () => {
    const file = path.join(dir, 'http-example.mjs');
    await writeFile(file, withSocket(code.get('node-http')!, sock));
    const r = await run(process.execPath, [file], { cwd: dir, timeout: 30_000 });
    const [status, ...body] = r.stdout.trim().split(' ');
    assert.equal(status, '200');
    assert.equal(JSON.parse(body.join(' ')).data.username, 'twitterapi');
  });

  const py = pythonWithModule();
  it('Python with requests-unixsocket: the username, then a JSON and a form POST', { skip: py ? false : 'no python3 with requests_unixsocket (apt install python3-requests-unixsocket)' }, async () => {
    const file = path.join(dir, 'example.py');
    await writeFile(file, withSocket(code.get('python')!, sock));
    const before = apiCalls().length;
    const r = await run(py!, [file], { cwd: dir, timeout: 30_000 });
    assert.equal(r.stdout, 'twitterapi\n');
    await d.waitFor(() => apiCalls().length >= before + 3, 'three calls logged', 10_000);
    assert.deepEqual(apiCalls().slice(before), ['GET /2/users/me 200', 'POST /2/tweets 201', 'POST /1.1/statuses/update.json 200']);
  });
});
