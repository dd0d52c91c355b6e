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
 * serialport stays external: its native binding is found relative to its own package.
 *
 * What start-up does not need is kept out of it at bundle time (see docs/performance.md;
 * every package stays in use, only *when* it loads changes):
 * - node:https, node:zlib and node:child_process, as imported by node-fetch and by the
 *   systemd notifier, become lazy stand-ins that load the built-in at the first use (https
 *   pulls in tls; a loopback or http provider never needs it, zlib only a compressed reply,
 *   child_process only a NOTIFY_SOCKET);
 * - thread-stream (pino's worker-thread transports, which pinauthd never uses: it logs
 *   synchronously to fd 1) is required from node_modules only if a transport is made;
 * - web-streams-polyfill (121 KB), which fetch-blob requires only where Node has no
 *   globalThis.ReadableStream (before 16.5), is left out and required from node_modules then;
 *   fetch-blob's check itself reads globalThis.ReadableStream, a lazy global that makes Node
 *   load its web streams (~3 ms, ~0.8 MB, measured under a V8 flag): it asks `in` instead;
 * - node:assert, which sonic-boom requires at load time for one check in its close path,
 *   and node:worker_threads, which pino requires at load time for `isMainThread`, read only
 *   for an asynchronous destination (pinauthd's is synchronous): both are loaded at their
 *   first use (~2 ms and ~0.4 MB each, measured under a V8 flag).
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

/**
 * Built-ins that the named importers load only when first used: the import resolves to a
 * module whose exports call through to the real built-in, required at that first call.
 * The default export is a Proxy over the module object; named exports are functions that
 * forward (enough for the names these importers use: checked below at build time). For a
 * CommonJS importer (`cjs`), module.exports is that Proxy, callable when the module is a
 * function (node:assert).
 */
const LAZY_BUILTINS = [
  { importer: /node_modules[\\/]node-fetch[\\/]src[\\/]index\.js$/, builtins: ['node:https', 'node:zlib'] },
  { importer: /src[\\/]service[\\/]notify\.ts$/, builtins: ['node:child_process'] },
  { importer: /node_modules[\\/]sonic-boom[\\/]index\.js$/, builtins: ['assert'], cjs: true },
];
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    b.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (args) => {
      const rule = LAZY_BUILTINS.find((r) => r.importer.test(args.importer) && r.builtins.includes(args.path));
      return rule ? { path: args.path, namespace: rule.cjs ? 'lazy-builtin-cjs' : 'lazy-builtin' } : undefined;
    });
    const load = async (args) => {
      const real = await import(args.path);
      const names = Object.keys(real).filter((k) => k !== 'default' && /^[A-Za-z_$][\w$]*$/.test(k) && typeof real[k] === 'function');
      // an arrow function has no own non-configurable keys, so the Proxy may report the module's
      const target = typeof real.default === 'function' ? '() => {}' : '{}';
      const proxy = `new Proxy(${target}, {
  get: (_, k) => load()[k],
  has: (_, k) => k in load(),
  apply: (_, self, a) => Reflect.apply(load(), self, a),
  ownKeys: () => Reflect.ownKeys(load()),
  getOwnPropertyDescriptor: (_, k) => { const d = Object.getOwnPropertyDescriptor(load(), k); return d && { ...d, configurable: true }; },
})`;
      const head = `// ${args.path}, required at its first use (scripts/build.mjs)
let m;
const load = () => (m ??= require(${JSON.stringify(args.path)}));
`;
      return {
        loader: 'js',
        contents: args.namespace === 'lazy-builtin-cjs'
          ? `${head}module.exports = ${proxy};\n`
          : `${head}export default ${proxy};\n${names.map((n) => `export function ${n}(...a) { return load().${n}(...a); }`).join('\n')}\n`,
      };
    };
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, load);
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin-cjs' }, load);
  },
};

/**
 * Exact edits of dependency sources at bundle time (the build fails if one no longer
 * matches, e.g. after an upgrade: look again then):
 * - pino/lib/tools.js reads worker_threads' isMainThread only for an asynchronous
 *   destination, and pino/lib/transport.js node:module's createRequire only for a
 *   transport target: each is required at that use instead of at load time;
 * - fetch-blob/streams.cjs installs web streams when `!globalThis.ReadableStream`; reading
 *   that lazy global loads Node's web streams, `'ReadableStream' in globalThis` does not
 *   (Node 18+ always has it, so the polyfill branch is never taken there either way).
 */
const SOURCE_EDITS = [
  {
    file: /node_modules[\\/]pino[\\/]lib[\\/]tools\.js$/,
    edits: [
      ["const { isMainThread } = require('worker_threads')\n", '\n'],
      ['if (!opts.sync && isMainThread) {', "if (!opts.sync && require('worker_threads').isMainThread) {"],
    ],
  },
  {
    file: /node_modules[\\/]pino[\\/]lib[\\/]transport\.js$/,
    edits: [
      ["const { createRequire } = require('module')\n", '\n'],
      ['fixTarget = createRequire(context)', "fixTarget = require('module').createRequire(context)"],
    ],
  },
  {
    file: /node_modules[\\/]fetch-blob[\\/]streams\.cjs$/,
    edits: [['if (!globalThis.ReadableStream) {', "if (!('ReadableStream' in globalThis)) {"]],
  },
];
const sourceEdits = {
  name: 'source-edits',
  setup(b) {
    for (const { file, edits } of SOURCE_EDITS) {
      b.onLoad({ filter: file }, async (args) => {
        let text = await readFile(args.path, 'utf8');
        for (const [from, to] of edits) {
          if (text.split(from).length !== 2) throw new Error(`scripts/build.mjs: ${args.path} no longer has exactly one ${JSON.stringify(from)}`);
          text = text.replace(from, () => to);
        }
        return { contents: text, loader: 'js' };
      });
    }
  },
};

/**
 * thread-stream (pino's worker-thread transports) stays in node_modules and is required
 * when pino makes a transport, which pinauthd never asks for; pino requires it at load time.
 */
const lazyThreadStream = {
  name: 'lazy-thread-stream',
  setup(b) {
    b.onResolve({ filter: /^thread-stream$/ }, (args) =>
      args.namespace === 'lazy-thread-stream' ? { path: args.path, external: true } : { path: 'thread-stream', namespace: 'lazy-thread-stream' },
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-thread-stream' }, () => ({
      loader: 'js',
      contents: "let T; module.exports = function ThreadStream(...a) { T ??= require('thread-stream'); return new T(...a); };",
    }));
  },
};

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
  external: ['serialport', '@serialport/bindings-cpp', 'web-streams-polyfill'],
  plugins: [lazyBuiltins, lazyThreadStream, sourceEdits],
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
