#!/usr/bin/env node
/**
 * dist/pinauthd-start.cjs (copied there by scripts/build.mjs): what the systemd unit runs. It
 * runs the bundle next to it, dist/pinauthd.cjs, exactly like `node dist/pinauthd.cjs` would
 * (a CommonJS module: module, exports, require, __filename, __dirname), but compiles it with a
 * V8 code cache of its own, so that a start after the first skips parsing and compiling the
 * bundle's functions that start-up runs (docs/performance.md: ~12-17 ms of ~105-120 ms on
 * Node 20). Node's built-in code cache does not cover our code. It also sets the run's V8
 * flags (V8_FLAGS, below), at run time.
 *
 * Where: $CACHE_DIRECTORY (systemd CacheDirectory=pinauthd; the first of several), else the
 * bundle's directory if this process may write there, else no cache at all.
 *
 * File name: pinauthd.<bundle hash>.<runtime hash>.v8cache. The bundle hash is of its bytes
 * (V8 itself only compares the source's length, so an edited bundle of the same length would
 * otherwise run the old code); the runtime hash is of the node version, V8 version, arch,
 * process.execArgv, NODE_OPTIONS and V8_FLAGS (V8 rejects a cache made under other flags;
 * keying on them keeps two configurations from overwriting each other's cache). The file holds a
 * SHA-256 of the V8 data, then the data: a torn or corrupted file is never handed to V8
 * (Node 20's V8 checks a checksum of its own; newer V8 releases skip that check).
 *
 * When there is no usable cache (missing, wrong checksum, or V8 sets cachedDataRejected),
 * the bundle runs without one and a fresh cache is written WRITE_AFTER_MS later, or at exit
 * if that comes first, with script.createCachedData(): it then holds every function
 * compiled so far, i.e. the whole start-up path. Written to a temp file and renamed; caches
 * of other bundles are deleted then. Nothing about the cache can fail start-up: every error
 * reading or writing it is ignored (a read-only or missing directory means no cache).
 */
'use strict';
const fs = require('node:fs');
// PINAUTHD_TRACE_STARTUP=1: the start-up steps (src/startup-trace.ts), printed at exit
const mark = process.env.PINAUTHD_TRACE_STARTUP === '1' ? traceStartup() : () => {};
function traceStartup() {
  const steps = [];
  // with the built-in modules each step loaded (process.moduleLoadList is Node's own record)
  let seen = 0;
  const builtins = () => {
    const loaded = process.moduleLoadList.slice(seen).filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13));
    seen = process.moduleLoadList.length;
    return loaded.length ? `  [built-ins: ${loaded.join(' ')}]` : '';
  };
  builtins();
  const record = (step) => steps.length < 40 && steps.push(`${performance.now().toFixed(1).padStart(7)} ms  ${step}${builtins()}`);
  globalThis.__pinauthdStartupMark = record;
  process.on('exit', () => fs.writeSync(2, `pinauthd start-up (ms since the process started):\n${steps.join('\n')}\n`));
  return record;
}
mark('loader started');
const path = require('node:path');
const vm = require('node:vm');
const crypto = require('node:crypto');

/*
 * V8 for a small, mostly idle daemon, for the whole run: pinauthd's work is a few hundred
 * function calls per screen, so its JavaScript runs in V8's interpreter only (no TurboFan,
 * no Sparkplug: their compile jobs and code took ~4 MiB of peak memory and a second core
 * during start-up), and the young generation stays at its first size instead of doubling
 * (~2 MiB). docs/performance.md: peak RSS over the whole flow 57.9 -> 50.4 MiB, start-up no
 * slower, PIN to durable ~5 -> ~7 ms. These are runtime flags because on the command line
 * (like any V8 flag) they would make V8 reject Node's code cache for every built-in loaded
 * after bootstrap (~13 ms). Set at run time they do the same for built-ins loaded *after*
 * them: so the ones the bundle loads before its first screen are loaded first, here (the
 * rest: node:https for an https provider ~1 ms more, and the control socket's and heap
 * guard's after the first screen). `PINAUTHD_TRACE_STARTUP=1` lists the built-ins each step
 * loads.
 */
const V8_FLAGS = '--no-turbofan --no-sparkplug --semi-space-growth-factor=1';
for (const builtin of ['node:fs/promises', 'node:os', 'node:net', 'node:http']) require(builtin);
void require('node:util').parseArgs; // a lazy getter: loads util's argument parser (the CLI's)
require('node:v8').setFlagsFromString(V8_FLAGS);
// The CommonJS Module class, as require('node:module') exports it, without loading that
// public module and the source-map support it requires (~1 ms when V8 compiles them from
// source; the bundle does not load it either, scripts/build.mjs).
const Module = module.constructor;

const BUNDLE = path.join(__dirname, 'pinauthd.cjs');
const WRITE_AFTER_MS = 5000;
const DIGEST = 32; // SHA-256 of the V8 data, at the start of the file

const bytes = fs.readFileSync(BUNDLE);
const sha256 = (...parts) => parts.reduce((h, p) => h.update(p), crypto.createHash('sha256')).digest();
const bundleKey = sha256(bytes).toString('hex').slice(0, 16);
const runtimeKey = sha256(
  JSON.stringify([process.version, process.versions.v8, process.arch, process.execArgv, process.env.NODE_OPTIONS ?? '', V8_FLAGS]),
).toString('hex').slice(0, 8);

function cacheDirectory() {
  const given = process.env.CACHE_DIRECTORY;
  if (given) return given.split(':')[0];
  try {
    fs.accessSync(__dirname, fs.constants.W_OK);
    return __dirname;
  } catch {
    return null;
  }
}
const dir = cacheDirectory();
const cacheFile = dir && path.join(dir, `pinauthd.${bundleKey}.${runtimeKey}.v8cache`);

let cachedData;
if (cacheFile) {
  try {
    const file = fs.readFileSync(cacheFile);
    const data = file.subarray(DIGEST);
    if (file.length > DIGEST && sha256(data).equals(file.subarray(0, DIGEST))) cachedData = data;
  } catch {
    // missing or unreadable: run without
  }
}

// Node's own CommonJS wrapper; a #! line becomes a comment (it is only valid at the very start).
let source = bytes.toString('utf8');
if (source.startsWith('#!')) source = `//${source.slice(2)}`;
const wrapped = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
mark('bundle and code cache read');
let script;
try {
  script = new vm.Script(wrapped, { filename: BUNDLE, cachedData });
} catch (err) {
  if (!cachedData) throw err;
  script = new vm.Script(wrapped, { filename: BUNDLE });
  cachedData = undefined;
}

if (cacheFile && (!cachedData || script.cachedDataRejected)) {
  let written = false;
  const write = () => {
    if (written) return;
    written = true;
    clearTimeout(timer);
    process.removeListener('exit', write);
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    try {
      const data = script.createCachedData();
      fs.writeFileSync(tmp, Buffer.concat([sha256(data), data]), { mode: 0o600 });
      fs.renameSync(tmp, cacheFile);
      for (const name of fs.readdirSync(dir)) {
        // caches (and stray temp files) of other bundles
        if (name.startsWith('pinauthd.') && name.includes('.v8cache') && !name.startsWith(`pinauthd.${bundleKey}.`)) {
          fs.rmSync(path.join(dir, name), { force: true });
        }
      }
    } catch {
      try {
        fs.rmSync(tmp, { force: true });
      } catch {
        // a read-only directory: nothing was written
      }
    }
  };
  const timer = setTimeout(write, WRITE_AFTER_MS);
  timer.unref();
  process.once('exit', write);
}

const bundleModule = new Module(BUNDLE, module);
bundleModule.filename = BUNDLE;
mark('bundle compiled');
script.runInThisContext()(bundleModule.exports, Module.createRequire(BUNDLE), bundleModule, BUNDLE, __dirname);
