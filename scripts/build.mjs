#!/usr/bin/env node
/**
 * The production bundle (run after `tsc`, which still type-checks and emits dist/src/ for the
 * tests): src/cli.ts and everything it imports in one CommonJS file, dist/pinauthd.cjs, which
 * the systemd unit runs. Bundling replaces ~150 module resolutions and file reads with one;
 * CommonJS rather than ESM because an ES module entry makes Node start its ES module loader
 * (a dozen more built-ins to compile, a module job per file: ~2 ms here, ~5 ms with a V8 flag
 * on the command line, which makes V8 reject Node's code cache for built-ins). Code behind `import()` (the daemon, the other commands, the QR encoder, the
 * HTTP client) is still only *evaluated* when it is imported: esbuild wraps it in an init
 * function; V8 only pre-parses it.
 *
 * The JSON-schema validators are generated code already (scripts/generate-validators.ts,
 * src/generated/): Ajv's compiler is not in the bundle.
 *
 * serialport and koffi stay external: their native binaries are found relative to their own
 * packages.
 *
 * Nothing in it is edited or swapped: the packages' own code, bundled as it is. What
 * start-up does not need is loaded later by our own code (import() of the daemon, the other
 * commands, the HTTP client, node:https), not by changing theirs.
 * web-streams-polyfill (121 KB), which fetch-blob requires only where Node has no
 * ReadableStream (before 16.5), stays out of the bundle: that require() goes to
 * node_modules, where npm installed it.
 * The whole bundle is minified (fewer bytes to read and parse); the source map is written
 * next to it for reading stack traces, and not loaded at run time.
 *
 * The unit runs it through dist/pinauthd-start.cjs (copied from scripts/pinauthd-start.cjs),
 * which compiles the bundle with a V8 code cache of its own (docs/performance.md). That
 * loader compiles it with vm.Script, which has no import(): the build fails if the bundle
 * has one.
 */
import { build } from 'esbuild';
import { chmod, copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// the ESM bundle of earlier builds
await rm(path.join(root, 'dist/pinauthd-chunks'), { recursive: true, force: true });
for (const f of ['pinauthd.mjs', 'pinauthd.mjs.map']) await rm(path.join(root, 'dist', f), { force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: ['src/cli.ts'],
  outfile: 'dist/pinauthd.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // import() of what stays outside the bundle (node:https, node:http) as a require() in a
  // promise: a real import() would start the ES module loader just for that
  supported: { 'dynamic-import': false },
  // web-streams-polyfill: fetch-blob requires it only where Node has no ReadableStream
  external: ['serialport', '@serialport/bindings-cpp', 'koffi', 'web-streams-polyfill'],
  legalComments: 'none',
  minify: true,
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
});
await writeFile(path.join(root, 'dist/pinauthd.meta.json'), JSON.stringify(result.metafile));
const bundled = await readFile(path.join(root, 'dist/pinauthd.cjs'), 'utf8');
if (/\bimport\(/.test(bundled)) throw new Error('dist/pinauthd.cjs contains import(): dist/pinauthd-start.cjs runs it with vm.Script, which cannot import()');
await copyFile(path.join(root, 'scripts/pinauthd-start.cjs'), path.join(root, 'dist/pinauthd-start.cjs'));
await chmod(path.join(root, 'dist/pinauthd-start.cjs'), 0o755);
