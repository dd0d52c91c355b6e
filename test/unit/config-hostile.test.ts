/** Regressions found by the reliability suite's config fuzz (test/reliability/hostile.test.ts). */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig, resolveConfig } from '../../src/config/index.js';
import { isPinauthError } from '../../src/errors.js';

const creds = { consumerKey: 'k', consumerSecret: 's' };

function configError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(isPinauthError(e, 'CONFIG_INVALID'), `not a config error: ${String(e)}`);
    return e.message;
  }
  assert.fail('accepted');
}

describe('hostile configs', () => {
  it('an unparsable provider.baseUrl is a config error, not a ReferenceError', () => {
    const msg = configError(() => resolveConfig({ provider: { preset: 'local', baseUrl: 'http://[::1' }, credentials: creds }, { env: {} }));
    assert.match(msg, /\/provider\/baseUrl: must be a valid URL/);
  });

  it('a deeply nested document is a config error, not a stack overflow', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    const msg = configError(() => resolveConfig({ provider: { preset: 'local' }, log: deep }, { env: {} }));
    assert.match(msg, /\/log\/a\/a.*nested deeper than 16 levels/);
  });

  it('a deeply nested file through loadConfig', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pinauthd-cfg-'));
    try {
      const file = path.join(dir, 'c.json');
      await writeFile(file, `${'['.repeat(200_000)}${']'.repeat(200_000)}`);
      await assert.rejects(loadConfig({ file, env: {} }), (e: unknown) => isPinauthError(e, 'CONFIG_INVALID') && /nested deeper/.test(e.message));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an ordinary config is not too deep', () => {
    const cfg = resolveConfig(
      { provider: { preset: 'local', baseUrl: 'http://127.0.0.1:1' }, credentials: creds, display: { port: 'tcp://127.0.0.1:2' }, daemon: { backoff: { initialMs: 100 } } },
      { env: {} },
    );
    assert.equal(cfg.daemon.backoff.initialMs, 100);
  });
});
