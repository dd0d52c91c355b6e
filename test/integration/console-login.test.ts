/**
 * `pinauthd login --console` as a person at a terminal meets it: short human warnings (not
 * the journal's JSON), "Digits only" for letters, Ctrl-C is no success (130), and an app the
 * provider refuses ends the command with its message and exit 4 instead of a long wait.
 * And `status`/`logout` before anything is set up say what they looked at.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { DaemonProcess, Stack } from '../helpers/stack.js';

/** The authorize URL's request token, once the console printed it. */
function printedToken(d: DaemonProcess): Promise<string> {
  return d.waitFor(() => /oauth_token=([\w-]+)/.exec(d.lines.join('\n'))?.[1], 'the authorize URL');
}

describe('login --console', () => {
  let s: Stack;
  before(async () => {
    s = await Stack.start({ profile: 'lcd20x4', keypadMode: 'keys' });
  });
  after(async () => {
    await s.close();
  });
  beforeEach(async () => {
    await s.reset();
  });

  it('Ctrl-C before a PIN exits 130, says nothing was stored, and stores nothing', async () => {
    const d = s.spawn(['login', '--console']);
    await printedToken(d);
    assert.equal(await d.stop('SIGINT'), 130, d.output.slice(-2000));
    assert.match(d.stderr.join(''), /interrupted before a PIN was accepted; nothing stored/);
    assert.equal((await s.readStore()).accounts.length, 0);
  });

  it('letters typed as the PIN: "Digits only" on the terminal; the right PIN then works', async () => {
    const d = s.spawn(['login', '--console']);
    const token = await printedToken(d);
    d.child.stdin!.write('abcdefg\n');
    await d.waitFor(() => d.lines.some((l) => l.includes('Digits only - type the PIN')), '"Digits only"');
    assert.doesNotMatch(d.stderr.join(''), /baud/);
    d.child.stdin!.end(`${s.provider.approve(token)}\n`);
    assert.equal(await d.exited, 0, d.output.slice(-2000));
  });

  it('a wrong consumer secret exits 4 with the message, at once', async () => {
    const d = s.spawn(['login', '--console'], { PINAUTHD_CONSUMER_KEY: 'pinauthd-demo-key', PINAUTHD_CONSUMER_SECRET: 'not-the-demo-secret' });
    assert.equal(await d.exited, 4, d.output.slice(-2000));
    assert.match(d.stderr.join(''), /^pinauthd: .*consumer/im);
    assert.ok(!d.output.includes('not-the-demo-secret'), 'the secret was printed');
  });

  it('warnings are short human lines on stderr, not JSON', async () => {
    s.provider.faults.fail5xx = { count: 1, endpoint: 'request_token' };
    const d = s.spawn(['login', '--console'], { PINAUTHD_LOG_LEVEL: 'warn' });
    await printedToken(d);
    const warning = await d.waitFor(() => d.stderr.join('').split('\n').find((l) => l.startsWith('pinauthd: warning: ')), 'a warning line');
    assert.doesNotMatch(d.stderr.join(''), /^\{/m, 'a JSON log line on the terminal');
    assert.match(warning, /503|provider/i);
    await d.stop('SIGINT');
  });
});

describe('status and logout with nothing set up', () => {
  let s: Stack;
  before(async () => {
    s = await Stack.start({ profile: 'lcd20x4', keypadMode: 'keys' });
  });
  after(async () => {
    await s.close();
  });

  it('status names the config and the store it read; logout says there is nothing to log out, without consumer credentials', async () => {
    await s.reset();
    // The stack's config without its credentials, as a fresh /etc/pinauthd/config.json is.
    const { credentials, ...bare } = s.fileConfig;
    void credentials;
    const cfg = path.join(s.dir, 'no-credentials.json');
    await writeFile(cfg, JSON.stringify(bare));
    const run = async (args: string[]) => {
      const d = new DaemonProcess([...args, '--config', cfg], s.env());
      const code = await d.exited;
      return { code, stdout: d.lines.join('\n'), stderr: d.stderr.join('') };
    };
    const st = await run(['status']);
    assert.equal(st.code, 1, st.stderr);
    assert.match(st.stdout, /account: none \(not authorized\)/);
    assert.ok(st.stdout.includes(`(config: ${cfg}; token store: ${s.storePath})`), st.stdout);
    const out = await run(['logout']);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /no account stored in .*: nothing to log out/);
  });
});
