#!/usr/bin/env node
/**
 * `npm run test:node-versions`: the whole `npm test` under each Node.js major pinauthd supports
 * besides the one running it (20, 22, 24), so that a change is checked on the versions a board
 * can have (trixie's Node 20, NodeSource's 22 and 24) on one machine without installing them.
 *
 * The official Node.js binaries come from the npm registry's node-linux-<arch> packages (the
 * ones the `node` package installs), fetched with `npm pack` into .cache/node-versions/ and
 * run from there; nothing is installed system-wide. Linux x64 and arm64 only.
 *
 *   npm run test:node-versions               # 22 and 24, the newest of each major
 *   npm run test:node-versions -- 22.23.5    # exact versions or majors
 *   npm run test:node-versions -- --unit 24  # test/unit only (about a minute a version)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = path.join(ROOT, '.cache/node-versions');
const ARCH = { x64: 'x64', arm64: 'arm64' }[process.arch];

const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const wanted = args.filter((a) => !a.startsWith('--'));
if (wanted.some((v) => !/^\d+(\.\d+\.\d+)?$/.test(v))) {
  console.error('usage: node-versions.mjs [--unit] [MAJOR|X.Y.Z ...]');
  process.exit(2);
}
if (process.platform !== 'linux' || !ARCH) {
  console.error(`node-versions: the registry's Node.js packages are for linux x64 and arm64, not ${process.platform} ${process.arch}`);
  process.exit(2);
}

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', ...opts });
  if (r.error) throw r.error;
  return r;
}

/** The newest published X.Y.Z of node-linux-<arch> for a major, or the exact version given. */
function resolve(version) {
  if (version.includes('.')) return version;
  const r = run('npm', ['view', `node-linux-${ARCH}@${version}`, 'version', '--json']);
  if (r.status !== 0) throw new Error(`npm view node-linux-${ARCH}@${version}: ${r.stderr.trim()}`);
  const found = JSON.parse(r.stdout);
  const list = Array.isArray(found) ? found : [found];
  return list.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).at(-1);
}

/** The bin/ directory of that Node.js, fetched once into the cache. */
function fetchNode(version) {
  const dir = path.join(CACHE, version);
  const bin = path.join(dir, 'package/bin');
  if (existsSync(path.join(bin, 'node'))) return bin;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const packed = run('npm', ['pack', `node-linux-${ARCH}@${version}`, '--pack-destination', dir, '--silent']);
  if (packed.status !== 0) throw new Error(`npm pack node-linux-${ARCH}@${version}: ${packed.stderr.trim()}`);
  const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  const untar = run('tar', ['-xzf', path.join(dir, tgz), '-C', dir]);
  if (untar.status !== 0) throw new Error(`tar: ${untar.stderr.trim()}`);
  rmSync(path.join(dir, tgz));
  return bin;
}

const versions = (wanted.length ? wanted : ['22', '24']).map(resolve);
const results = [];
for (const version of versions) {
  const bin = fetchNode(version);
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
  const reported = run('node', ['-v'], { env }).stdout.trim();
  console.log(`\n=== Node.js ${reported} (${bin})`);
  const started = Date.now();
  // The same commands as `npm test` (or its unit part), with this node first on PATH: npm,
  // tsx and every process the tests spawn (they use process.execPath) run on it.
  const r = spawnSync('npm', ['run', unitOnly ? 'test:unit' : 'test', '--silent'], { cwd: ROOT, env, stdio: 'inherit' });
  results.push({ version: reported, ok: r.status === 0, seconds: Math.round((Date.now() - started) / 1000) });
}
console.log('\nnode version  result  seconds');
for (const r of results) console.log(`${r.version.padEnd(12)}  ${r.ok ? 'pass' : 'FAIL'}    ${r.seconds}`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
