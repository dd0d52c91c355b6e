#!/usr/bin/env node
/**
 * dist/pinauthd-start.cjs (copied there by scripts/build.mjs): what the systemd unit runs. It
 * runs the bundle next to it, dist/pinauthd.cjs, exactly like `node dist/pinauthd.cjs` would
 * (a CommonJS module: module, exports, require, __filename, __dirname), but compiles it with a
 * V8 code cache of its own, so that a start after the first skips parsing and compiling the
 * bundle's functions that start-up runs (docs/performance.md). Node's built-in code cache
 * does not cover our code. Nothing else: no V8 flags, no preloading.
 *
 * Where: $CACHE_DIRECTORY (systemd CacheDirectory=pinauthd; the first of several), else the
 * bundle's directory if this process may write there, else no cache at all.
 *
 * File name: pinauthd.<bundle hash>.<runtime hash>.v8cache. The bundle hash is of its bytes
 * (V8 itself only compares the source's length, so an edited bundle of the same length would
 * otherwise run the old code); the runtime hash is of the node version, V8 version, arch,
 * process.execArgv and NODE_OPTIONS (V8 rejects a cache made under other flags; keying on
 * them keeps two configurations from overwriting each other's cache). The file holds a
 * SHA-256 of the bundle hash, the runtime hash and the V8 data, then the data: a torn or
 * corrupted file, or one made for another bundle or runtime under this name, is never handed
 * to V8 (Node 20's V8 checks a checksum of its own, newer V8 releases do not; V8 compares only
 * the source's length and its flags).
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
const path = require('node:path');
const vm = require('node:vm');
const crypto = require('node:crypto');
const Module = require('node:module');

const BUNDLE = path.join(__dirname, 'pinauthd.cjs');
const WRITE_AFTER_MS = 5000;
const DIGEST = 32; // a SHA-256 at the start of the file (digestOf)

const bytes = fs.readFileSync(BUNDLE);
const sha256 = (...parts) => parts.reduce((h, p) => h.update(p), crypto.createHash('sha256')).digest();
const bundleHash = sha256(bytes);
const runtimeHash = sha256(
  JSON.stringify([process.version, process.versions.v8, process.arch, process.execArgv, process.env.NODE_OPTIONS ?? '']),
);
const bundleKey = bundleHash.toString('hex').slice(0, 16);
const runtimeKey = runtimeHash.toString('hex').slice(0, 8);
// what the file's first DIGEST bytes must be for these V8 data
const digestOf = (data) => sha256(bundleHash, runtimeHash, data);

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
    if (file.length > DIGEST && digestOf(data).equals(file.subarray(0, DIGEST))) cachedData = data;
  } catch {
    // missing or unreadable: run without
  }
}

// Node's own CommonJS wrapper; a #! line becomes a comment (it is only valid at the very start).
let source = bytes.toString('utf8');
if (source.startsWith('#!')) source = `//${source.slice(2)}`;
const wrapped = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
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
      fs.writeFileSync(tmp, Buffer.concat([digestOf(data), data]), { mode: 0o600 });
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
script.runInThisContext()(bundleModule.exports, Module.createRequire(BUNDLE), bundleModule, BUNDLE, __dirname);
