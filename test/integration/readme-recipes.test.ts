/**
 * The recipes of the README and docs/ run verbatim and print what their transcripts say
 * (scripts/readme-recipes.ts). In a network namespace of its own where the system allows one
 * (`unshare -rn`, loopback only), so the README's fixed port 8723 is free whatever else runs
 * on this machine; else on the host, where that port must be free.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { ROOT } from '../helpers/stack.js';
import { extractRecipes, normalise, shownCommand } from '../../scripts/readme-recipes.js';

const RUNNER = ['--import', 'tsx', path.join(ROOT, 'scripts/readme-recipes.ts')];

/** A private network namespace with loopback up, when the kernel and the user may have one. */
function namespaceWrapper(): string[] | null {
  const probe = spawnSync('unshare', ['-rn', 'sh', '-c', 'ip link set lo up'], { stdio: 'ignore' });
  return probe.status === 0 ? ['unshare', '-rn', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh'] : null;
}

async function portFree(port: number): Promise<boolean> {
  const srv = net.createServer();
  return new Promise((resolve) => {
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

test('the marked recipes are read as markdown-it reads the page', () => {
  const md = ['<!-- recipe: r, ready: up at x -->', '```sh', 'server   # runs', '```', '', '<!-- recipe: r, exit 3 -->', '```sh', 'a=1', '# a comment', 'cmd "$a"  # why', '```', '', '<!-- transcript: r -->', '```', '$ cmd "$a"', 'out', '```', ''].join('\n');
  const [r] = extractRecipes(md);
  assert.deepEqual(r!.terminals, [{ commands: ['server   # runs'], ready: 'up at x' }, { commands: ['a=1', 'cmd "$a"  # why'] }]);
  assert.equal(r!.exit, 3);
  assert.equal(r!.transcript, '$ cmd "$a"\nout\n');
  assert.equal(shownCommand('cmd "$a"  # why'), 'cmd "$a"');
  assert.equal(
    normalise('x?oauth_token=Ab-9_\n1234567\nsince 2026-12-06T01:52:07.715Z\n/tmp/co/x \n\n', '/tmp/co'),
    'x?oauth_token=<token>\n<pin>\nsince <time>\n/home/you/pinauthd/x\n',
  );
});

test('README and docs recipes run verbatim and print their transcripts', { timeout: 600_000 }, async () => {
  const wrapper = namespaceWrapper();
  if (!wrapper) assert.ok(await portFree(8723), 'no network namespace here, and port 8723 is taken: the README recipes need it');
  const argv = [...(wrapper ?? []), process.execPath, ...RUNNER];
  const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  assert.equal(code, 0, out);
  assert.match(out, /^ok: README\.md console-login$/m);
  assert.match(out, /^ok: docs\/configuration\.md config-error$/m);
});
