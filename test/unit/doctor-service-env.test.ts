/**
 * `pinauthd doctor` judges the proxy as the service will: with the environment of its unit
 * (Environment=, EnvironmentFile=), not the operator's shell, and says which it used.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runChecks, type Finding } from '../../src/commands/doctor.js';
import { parseEnvironmentFile, serviceAssignments, serviceEnvironment } from '../../src/commands/service-env.js';
import { tempDir } from '../helpers/config-tmp.js';
import { startConnectProxy, type ConnectProxy } from '../helpers/connect-proxy.js';

describe('the service environment, read as systemd reads it', () => {
  it('an environment file: comments, quotes, continuations; names systemd would not take are skipped', () => {
    const text = [
      '# a comment',
      '; another',
      '',
      'HTTPS_PROXY=http://user:p%40ss@proxy.example:3128  ',
      '  NO_PROXY = localhost,.school.example',
      'QUOTED="  spaced \\"value\\" "',
      "SINGLE='a\\b'",
      'LONG=one\\',
      'two',
      '1BAD=x',
      'BAD-NAME=x',
      'no equals sign',
    ].join('\n');
    assert.deepEqual(parseEnvironmentFile(text), {
      HTTPS_PROXY: 'http://user:p%40ss@proxy.example:3128',
      NO_PROXY: 'localhost,.school.example',
      QUOTED: '  spaced "value" ',
      SINGLE: 'a\\b',
      LONG: 'onetwo',
    });
  });

  it("a unit: only the [Service] section's assignments, continued lines joined with a space", () => {
    const unit = '[Unit]\nEnvironment=NOT=this\n[Service]\n# Environment=COMMENTED=out\nEnvironment=A=1 \\\n  B=2\nEnvironmentFile=-/etc/pinauthd/environment\n[Install]\nWantedBy=multi-user.target\n';
    assert.deepEqual(serviceAssignments(unit), [
      ['Environment', 'A=1    B=2'],
      ['EnvironmentFile', '-/etc/pinauthd/environment'],
    ]);
  });

  let t: { dir: string; cleanup: () => Promise<void> };
  before(async () => {
    t = await tempDir();
  });
  after(async () => {
    await t.cleanup();
  });

  it('Environment= first, drop-ins after the unit, the files override in order; a missing "-" file is fine, a missing required one or a FIFO is reported', async () => {
    const dir = path.join(t.dir, 'env');
    await mkdir(path.join(dir, 'pinauthd.service.d'), { recursive: true });
    const envFile = path.join(dir, 'environment');
    await writeFile(envFile, 'HTTPS_PROXY=http://from-file:3128\n');
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const unit = path.join(dir, 'pinauthd.service');
    await writeFile(
      unit,
      `[Service]\nEnvironment=NODE_ENV=production "HTTPS_PROXY=http://from-unit:1" NO_PROXY=.example\nEnvironmentFile=-${envFile}\nEnvironmentFile=-${path.join(dir, 'absent')}\n`,
    );
    await writeFile(path.join(dir, 'pinauthd.service.d', '10-proxy.conf'), `[Service]\nEnvironment=ALL_PROXY=http://from-drop-in:8080\nEnvironmentFile=${fifo}\nEnvironmentFile=${path.join(dir, 'required')}\n`);
    const svc = await serviceEnvironment(unit);
    assert.deepEqual(svc?.env, { NODE_ENV: 'production', HTTPS_PROXY: 'http://from-file:3128', NO_PROXY: '.example', ALL_PROXY: 'http://from-drop-in:8080' });
    assert.deepEqual(svc?.files, [unit, path.join(dir, 'pinauthd.service.d', '10-proxy.conf'), envFile]);
    assert.deepEqual(
      svc?.unreadable.map((u) => [path.basename(u.file), u.why]),
      [
        ['fifo', 'is a FIFO, not a regular file'],
        ['required', 'it does not exist, and the unit requires it: the service will not start'],
      ],
    );
    assert.equal(await serviceEnvironment(path.join(dir, 'no-such.service')), null);
  });
});

describe('doctor judges the proxy with the service environment', () => {
  let t: { dir: string; cleanup: () => Promise<void> };
  let serviceProxy: ConnectProxy;
  let shellProxy: ConnectProxy;
  let config: string;
  const saved = process.env.HTTPS_PROXY;
  before(async () => {
    t = await tempDir();
    // The proxy refuses: doctor's provider check must still show it went there.
    serviceProxy = await startConnectProxy({ hosts: {}, refuseWith: 403 });
    shellProxy = await startConnectProxy({ hosts: {}, refuseWith: 403 });
    process.env.HTTPS_PROXY = shellProxy.url;
    config = path.join(t.dir, 'config.json');
    await writeFile(config, JSON.stringify({ provider: { preset: 'twitter' }, store: { path: path.join(t.dir, 'state', 'tokens.json') }, display: { driver: 'console' } }));
  });
  after(async () => {
    if (saved === undefined) delete process.env.HTTPS_PROXY;
    else process.env.HTTPS_PROXY = saved;
    await serviceProxy.close();
    await shellProxy.close();
    await t.cleanup();
  });
  const lines = (findings: Finding[], check: string) => findings.filter((f) => f.check === check).map((f) => `${f.severity} ${f.detail}`);
  const via = (port: number) => ['https://api.x.com', 'https://upload.twitter.com'].map((o) => `info ${o}: through http proxy 127.0.0.1:${port} (from HTTPS_PROXY)`);

  it("an installed unit: its environment file's proxy, not the shell's, and doctor says so", async () => {
    const envFile = path.join(t.dir, 'environment');
    await writeFile(envFile, `HTTPS_PROXY=${serviceProxy.url}\n`);
    const unit = path.join(t.dir, 'pinauthd.service');
    await writeFile(unit, `[Service]\nEnvironment=NODE_ENV=production\nEnvironmentFile=-${envFile}\n`);
    const findings = await runChecks({ configFile: config, json: false }, { unitFile: unit });
    const env = lines(findings, 'service environment');
    assert.ok(env.includes(`info the proxy is judged as the service reads it: ${unit}, ${envFile}`), env.join('\n'));
    assert.ok(env.some((l) => l.startsWith("info this shell's HTTPS_PROXY differs from the service's")), env.join('\n'));
    // The OAuth endpoints' origin, then the API origins the signing proxy forwards to.
    assert.deepEqual(lines(findings, 'proxy'), via(serviceProxy.port));
    assert.match(lines(findings, 'provider')[0] ?? '', /^fail .*403/);
    assert.deepEqual(serviceProxy.connects, ['api.x.com:443']);
    assert.deepEqual(shellProxy.connects, []);
  });

  it("no unit installed: the shell's environment, and doctor says so", async () => {
    serviceProxy.connects.length = 0;
    const findings = await runChecks({ configFile: config, json: false }, { unitFile: path.join(t.dir, 'not-installed.service') });
    assert.match(lines(findings, 'service environment').join('\n'), /not-installed\.service is not installed: the proxy is judged with this shell's environment/);
    assert.deepEqual(lines(findings, 'proxy'), via(shellProxy.port));
    assert.deepEqual(shellProxy.connects, ['api.x.com:443']);
    assert.deepEqual(serviceProxy.connects, []);
  });

  it("NODE_TLS_REJECT_UNAUTHORIZED=0 in the service's environment file fails, naming the service", async () => {
    const envFile = path.join(t.dir, 'insecure-environment');
    await writeFile(envFile, 'NODE_TLS_REJECT_UNAUTHORIZED=0\n');
    const unit = path.join(t.dir, 'insecure.service');
    await writeFile(unit, `[Service]\nEnvironmentFile=${envFile}\n`);
    const findings = await runChecks({ configFile: config, json: false }, { unitFile: unit });
    assert.match(lines(findings, 'tls').join('\n'), /^fail the service \(its unit or environment file\): NODE_TLS_REJECT_UNAUTHORIZED=0/);
  });
});
