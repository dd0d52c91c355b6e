import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  DEFAULT_LK_KEYMAP,
  loadConfig,
  resolveConfig,
  discoverConfigFile,
  ConfigError,
  configSchema,
  type FileConfig,
} from '../../src/config/index.js';
import { isPinauthError, PinauthError } from '../../src/errors.js';
import { tempDir } from '../helpers/config-tmp.js';
import { isLoopbackHost } from '../../src/oauth/url-policy.js';

const KEY = 'ck-config-file-key';
const SECRET = 'CANARY-consumer-secret-in-file';
const ENV: NodeJS.ProcessEnv = { HOME: '/home/pi' };
const base: FileConfig = {
  provider: { preset: 'twitter' },
  credentials: { consumerKey: KEY, consumerSecret: SECRET },
  display: { port: '/dev/serial/by-id/usb-pico-if00' },
};

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    assert.equal(e.code, 'CONFIG_INVALID');
    assert.equal(e.exitCode, 3);
    // the message lists the same lines
    for (const p of e.problems) assert.ok(e.message.includes(p));
    return e.problems;
  }
  assert.fail('expected a CONFIG_INVALID error');
}

async function problemsOfAsync(p: Promise<unknown>): Promise<readonly string[]> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    return e.problems;
  }
  assert.fail('expected a CONFIG_INVALID error');
}

describe('schema errors', () => {
  test('every error at once, one `path: message` line each', () => {
    const problems = problemsOf(() =>
      resolveConfig(
        {
          provider: { preset: 'twitter', colour: 'red' },
          display: { cols: 4, rows: 9, driver: 'lcd' },
          keypad: { maxLineBytes: 'long' },
          daemon: { pinTries: 0 },
          log: { level: 'loud' },
        },
        { env: ENV },
      ),
    );
    assert.deepEqual([...problems].sort(), [
      '/daemon/pinTries: must be >= 1',
      '/display/cols: must be >= 8',
      '/display/driver: must be one of "pinpad", "text", "console", "matrix-orbital", "serlcd"',
      '/display/rows: must be <= 8',
      '/keypad/maxLineBytes: must be integer',
      '/log/level: must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent"',
      '/provider/colour: unknown property',
    ]);
  });

  test('a missing provider and a non-object root', () => {
    assert.deepEqual(problemsOf(() => resolveConfig({}, { env: ENV })), ['/provider: is required']);
    assert.deepEqual(problemsOf(() => resolveConfig([1], { env: ENV })), ['/: must be object']);
  });

  test('overrides are merged before validation and validated too', () => {
    const cfg = resolveConfig(base, { env: ENV, overrides: { display: { cols: 20, rows: 4 } } });
    assert.equal(cfg.display.cols, 20);
    assert.equal(cfg.display.port, '/dev/serial/by-id/usb-pico-if00');
    assert.deepEqual(problemsOf(() => resolveConfig(base, { env: ENV, overrides: { display: { cols: 41 } } })), [
      '/display/cols: must be <= 40',
    ]);
  });

  test('the exported schema is the one used', () => {
    assert.equal(configSchema.properties.display.properties.cols.minimum, 8);
    assert.equal(configSchema.additionalProperties, false);
  });

  test('semantic problems are collected together', () => {
    const problems = problemsOf(() =>
      resolveConfig(
        {
          ...base,
          provider: { preset: 'generic', baseUrl: 'https://auth.example.com/oauth', pin: { digits: 6, template: '##-##' } },
          display: { port: 'ttyUSB0' },
          keypad: { port: 'tcp://127.0.0.1:70000' },
          daemon: { backoff: { initialMs: 5000, maxMs: 1000 } },
        },
        { env: ENV },
      ),
    );
    assert.deepEqual([...problems].sort(), [
      '/daemon/backoff/maxMs: must be >= initialMs',
      '/display/port: must be an absolute device path (e.g. /dev/serial/by-id/...), tcp://host:port or stdio',
      '/keypad/port: must be tcp://host:port',
      '/provider/accessTokenUrl: is required for the generic preset',
      '/provider/authorizeUrl: is required for the generic preset',
      '/provider/pin/template: must have exactly 6 "#" (one per digit), has 4',
      '/provider/requestTokenUrl: is required for the generic preset',
    ]);
  });

  test('ports: device paths, tcp://host:port, stdio only for the console', () => {
    const tcp = resolveConfig({ ...base, display: { driver: 'text', port: 'tcp://127.0.0.1:4001' } }, { env: ENV });
    assert.equal(tcp.display.port, 'tcp://127.0.0.1:4001');
    assert.equal(tcp.keypad.mode, 'line');
    assert.deepEqual(problemsOf(() => resolveConfig({ ...base, display: { port: 'stdio' } }, { env: ENV })), [
      '/display/port: stdio is only for the console driver',
    ]);
    assert.deepEqual(problemsOf(() => resolveConfig({ ...base, display: {} }, { env: ENV })), [
      '/display/port: is required for the pinpad driver (e.g. /dev/serial/by-id/usb-...-if00-port0 or tcp://host:port)',
    ]);
    const console = resolveConfig({ ...base, display: { driver: 'console' } }, { env: ENV });
    assert.equal(console.display.port, 'stdio');
    // the keypad on the display's own port is the same device
    const same = resolveConfig({ ...base, keypad: { port: '/dev/serial/by-id/usb-pico-if00' } }, { env: ENV });
    assert.equal(same.keypad.port, null);
  });
});

describe('files', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(() => cleanup());

  test('a missing file', async () => {
    const file = path.join(dir, 'nope.json');
    const problems = await problemsOfAsync(loadConfig({ file, env: ENV }));
    assert.deepEqual(problems, [`${file}: not found`]);
  });

  test('a directory instead of a file', async () => {
    const problems = await problemsOfAsync(loadConfig({ file: dir, env: ENV }));
    assert.deepEqual(problems, [`${dir}: is a directory`]);
  });

  test('invalid JSON names line and column, and never echoes the content', async () => {
    const file = path.join(dir, 'bad.json');
    await writeFile(file, `{\n  "credentials": { "consumerSecret": "${SECRET}" },\n  "provider": x\n}\n`);
    const problems = await problemsOfAsync(loadConfig({ file, env: ENV }));
    assert.deepEqual(problems, [`${file}:3:15: invalid JSON (unexpected character)`]);

    const doubleComma = `{ "credentials": { "consumerSecret": "${SECRET}" },, }`;
    await writeFile(file, doubleComma);
    const p2 = await problemsOfAsync(loadConfig({ file, env: ENV }));
    // the column of the second comma (1-based)
    assert.deepEqual(p2, [`${file}:1:${doubleComma.indexOf(',,') + 2}: invalid JSON (Expected double-quoted property name)`]);

    await writeFile(file, `{ "credentials": { "consumerSecret": "${SECRET}"`);
    const p3 = await problemsOfAsync(loadConfig({ file, env: ENV }));
    assert.match(p3[0]!, /:1:\d+: invalid JSON/);
    for (const p of [...problems, ...p2, ...p3]) assert.ok(!p.includes(SECRET));
  });

  test('a valid file, with a UTF-8 BOM, and a relative store path resolved from its directory', async () => {
    const file = path.join(dir, 'ok.json');
    await writeFile(file, `\uFEFF${JSON.stringify({ ...base, store: { path: 'state/tokens.json' } })}`);
    const cfg = await loadConfig({ file, env: ENV });
    assert.equal(cfg.file, file);
    assert.equal(cfg.store.path, path.join(dir, 'state', 'tokens.json'));
    assert.deepEqual(cfg.credentials.source, { consumerKey: `config:${file}`, consumerSecret: `config:${file}` });
  });

  test('config/pinauthd.example.json is valid (secrets from the environment)', async () => {
    const cfg = await loadConfig({
      file: path.join(import.meta.dirname, '../../config/pinauthd.example.json'),
      env: { ...ENV, PINAUTHD_CONSUMER_KEY: 'k', PINAUTHD_CONSUMER_SECRET: 's' },
    });
    assert.equal(cfg.provider.name, 'twitter');
    // The one default port: the name the udev rule's active line gives the device.
    const rules = await readFile(path.join(import.meta.dirname, '../../systemd/99-pinauthd.rules'), 'utf8');
    const active = rules.split('\n').filter((l) => l.startsWith('SUBSYSTEM=='));
    assert.equal(active.length, 1);
    assert.equal(cfg.display.port, `/dev/${/SYMLINK\+="([^"]+)"/.exec(active[0]!)![1]}`);
  });

  test('config/backpack-numpad.example.json (the default shopping list) is valid', async () => {
    const cfg = await loadConfig({
      file: path.join(import.meta.dirname, '../../config/backpack-numpad.example.json'),
      env: { ...ENV, PINAUTHD_CONSUMER_KEY: 'k', PINAUTHD_CONSUMER_SECRET: 's' },
    });
    assert.deepEqual([cfg.display.driver, cfg.keypad.driver, cfg.keypad.grab], ['matrix-orbital', 'evdev', true]);
    assert.match(cfg.keypad.port!, /^\/dev\/input\/by-id\/.*-event-kbd$/);
  });

  test('discovery: PINAUTHD_CONFIG, then CONFIGURATION_DIRECTORY, then the default file, else none', async () => {
    const confDir = path.join(dir, 'etc');
    await mkdir(confDir, { recursive: true });
    const missingDefault = path.join(dir, 'no-such', 'config.json');
    assert.equal(await discoverConfigFile({ CONFIGURATION_DIRECTORY: confDir }, missingDefault), null);
    await writeFile(path.join(confDir, 'config.json'), JSON.stringify(base));
    assert.equal(await discoverConfigFile({ CONFIGURATION_DIRECTORY: confDir }, missingDefault), path.join(confDir, 'config.json'));
    assert.equal(
      await discoverConfigFile({ CONFIGURATION_DIRECTORY: confDir, PINAUTHD_CONFIG: 'x.json' }, missingDefault),
      path.resolve('x.json'),
    );
    const viaEnv = await loadConfig({ env: { ...ENV, CONFIGURATION_DIRECTORY: confDir } });
    assert.equal(viaEnv.file, path.join(confDir, 'config.json'));
    // an explicit PINAUTHD_CONFIG must exist
    await assert.rejects(loadConfig({ env: { ...ENV, PINAUTHD_CONFIG: path.join(dir, 'gone.json') } }), (e) =>
      isPinauthError(e, 'CONFIG_INVALID'),
    );
  });

  test('no file at all: built-in defaults on the console, needing credentials', async () => {
    await assert.rejects(loadConfig({ file: null, env: ENV }), (e) => isPinauthError(e, 'CONFIG_SECRET_MISSING'));
    const cfg = await loadConfig({ file: null, env: { ...ENV, PINAUTHD_CONSUMER_KEY: 'k', PINAUTHD_CONSUMER_SECRET: 's' } });
    assert.equal(cfg.file, null);
    assert.equal(cfg.provider.name, 'twitter');
    assert.deepEqual([cfg.display.driver, cfg.display.port, cfg.keypad.mode], ['console', 'stdio', 'line']);
  });
});

describe('presets', () => {
  const env = ENV;
  test('twitter: api.x.com, authorize or authenticate, verify and invalidate, 7 digits', () => {
    const p = resolveConfig(base, { env }).provider;
    assert.deepEqual(
      [p.requestTokenUrl, p.authorizeUrl, p.accessTokenUrl, p.verifyUrl, p.invalidateUrl],
      [
        'https://api.x.com/oauth/request_token',
        'https://api.x.com/oauth/authorize',
        'https://api.x.com/oauth/access_token',
        'https://api.x.com/1.1/account/verify_credentials.json',
        'https://api.x.com/1.1/oauth/invalidate_token',
      ],
    );
    assert.deepEqual([p.name, p.signatureMethod, p.pin, p.requestTokenTtlSec, p.allowHttpLoopback], ['twitter', 'HMAC-SHA1', { digits: 7 }, 900, false]);
    assert.deepEqual([p.timeoutMs, p.maxReplyBytes], [15000, 65536]);
    const auth = resolveConfig({ ...base, provider: { preset: 'twitter', authorize: 'authenticate' } }, { env }).provider;
    assert.equal(auth.authorizeUrl, 'https://api.x.com/oauth/authenticate');
    const old = resolveConfig({ ...base, provider: { preset: 'twitter', baseUrl: 'https://api.twitter.com' } }, { env }).provider;
    assert.equal(old.accessTokenUrl, 'https://api.twitter.com/oauth/access_token');
    assert.equal(old.verifyUrl, 'https://api.twitter.com/1.1/account/verify_credentials.json');
  });

  test('twitter options pass through; absent ones stay absent', () => {
    const p = resolveConfig(
      { ...base, provider: { preset: 'twitter', accessType: 'read', forceLogin: true, screenName: 'board_owner' } },
      { env },
    ).provider;
    assert.deepEqual([p.accessType, p.forceLogin, p.screenName], ['read', true, 'board_owner']);
    assert.ok(!('accessType' in resolveConfig(base, { env }).provider));
  });

  test('flickr: 9 digits as ###-###-###, no verify, no invalidate', () => {
    const p = resolveConfig({ ...base, provider: { preset: 'flickr' } }, { env }).provider;
    assert.equal(p.requestTokenUrl, 'https://www.flickr.com/services/oauth/request_token');
    assert.equal(p.authorizeUrl, 'https://www.flickr.com/services/oauth/authorize');
    assert.equal(p.accessTokenUrl, 'https://www.flickr.com/services/oauth/access_token');
    assert.deepEqual([p.verifyUrl, p.invalidateUrl, p.pin], [null, null, { digits: 9, template: '###-###-###' }]);
    assert.deepEqual(problemsOf(() => resolveConfig({ ...base, provider: { preset: 'flickr', authorize: 'authenticate' } }, { env })), [
      '/provider/authorize: the flickr preset has no authenticate page; use "authorize" or set authorizeUrl',
    ]);
  });

  test('smugmug: 6 digits, its own endpoint names', () => {
    const p = resolveConfig({ ...base, provider: { preset: 'smugmug' } }, { env }).provider;
    assert.equal(p.requestTokenUrl, 'https://api.smugmug.com/services/oauth/1.0a/getRequestToken');
    assert.equal(p.authorizeUrl, 'https://api.smugmug.com/services/oauth/1.0a/authorize');
    assert.equal(p.accessTokenUrl, 'https://api.smugmug.com/services/oauth/1.0a/getAccessToken');
    assert.deepEqual(p.pin, { digits: 6 });
  });

  test('local: http to loopback, Twitter paths; http elsewhere or without the flag refused', () => {
    const p = resolveConfig({ ...base, provider: { preset: 'local' } }, { env }).provider;
    assert.equal(p.requestTokenUrl, 'http://127.0.0.1:8723/oauth/request_token');
    assert.equal(p.verifyUrl, 'http://127.0.0.1:8723/1.1/account/verify_credentials.json');
    assert.equal(p.allowHttpLoopback, true);
    const moved = resolveConfig({ ...base, provider: { preset: 'local', baseUrl: 'http://localhost:9999/' } }, { env }).provider;
    assert.equal(moved.accessTokenUrl, 'http://localhost:9999/oauth/access_token');
    assert.deepEqual(problemsOf(() => resolveConfig({ ...base, provider: { preset: 'local', allowHttpLoopback: false } }, { env })), [
      '/provider/baseUrl: plain http to a loopback host needs provider.allowHttpLoopback: true',
    ]);
    assert.deepEqual(problemsOf(() => resolveConfig({ ...base, provider: { preset: 'local', baseUrl: 'http://10.0.0.2:8723' } }, { env })), [
      '/provider/baseUrl: must be https (plain http is allowed only to a loopback host)',
    ]);
    // The config accepts exactly the loopback hosts the OAuth client sends plain http to (one
    // check, src/oauth/url-policy.ts): it accepted fewer, and so told a user who wrote
    // *.localhost or an IPv4-mapped ::ffff:127.0.0.1 that the client would refuse it.
    for (const loop of ['http://app.localhost:8723', 'http://[::ffff:127.0.0.1]:8723', 'http://[::1]:8723', 'http://127.1.2.3:8723']) {
      const ok = resolveConfig({ ...base, provider: { preset: 'local', baseUrl: loop } }, { env }).provider;
      assert.ok(isLoopbackHost(new URL(ok.requestTokenUrl).hostname), loop);
    }
    for (const far of ['http://localhost.example.com:8723', 'http://[::ffff:10.0.0.1]:8723', 'http://128.0.0.1:8723']) {
      assert.deepEqual(problemsOf(() => resolveConfig({ ...base, provider: { preset: 'local', baseUrl: far } }, { env })), [
        '/provider/baseUrl: must be https (plain http is allowed only to a loopback host)',
      ], far);
    }
    assert.deepEqual(problemsOf(() => resolveConfig({ ...base, provider: { preset: 'local', signatureMethod: 'PLAINTEXT' } }, { env })), [
      '/provider/baseUrl: PLAINTEXT signatures send the secrets themselves and need https',
    ]);
  });

  test('generic: absolute URLs, verify/invalidate optional, pin required', () => {
    const p = resolveConfig(
      {
        ...base,
        provider: {
          preset: 'generic',
          requestTokenUrl: 'https://auth.example.com/rt',
          authorizeUrl: 'https://auth.example.com/authorize',
          accessTokenUrl: 'https://auth.example.com/at',
          pin: { digits: 8 },
          signatureMethod: 'PLAINTEXT',
        },
      },
      { env },
    ).provider;
    assert.deepEqual([p.name, p.verifyUrl, p.invalidateUrl, p.signatureMethod], ['generic', null, null, 'PLAINTEXT']);
    const problems = problemsOf(() =>
      resolveConfig({ ...base, provider: { preset: 'generic', requestTokenUrl: 'rt', authorizeUrl: 'ftp://x/a', accessTokenUrl: 'https://u:p@x/at' } }, { env }),
    );
    assert.deepEqual([...problems].sort(), [
      '/provider/accessTokenUrl: must not contain a user name or password',
      '/provider/authorizeUrl: must be an https URL',
      '/provider/pin: is required for the generic preset',
      '/provider/requestTokenUrl: is relative, so provider.baseUrl is required',
    ]);
  });

  test('verifyUrl: null switches verification off', () => {
    const p = resolveConfig({ ...base, provider: { preset: 'twitter', verifyUrl: null, invalidateUrl: null } }, { env }).provider;
    assert.deepEqual([p.verifyUrl, p.invalidateUrl], [null, null]);
  });
});

describe('defaults', () => {
  test('display, keypad, serial, daemon, log', () => {
    const cfg = resolveConfig(base, { env: ENV });
    const serial = { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1, flowControl: 'none' };
    assert.deepEqual(cfg.display, { driver: 'pinpad', port: '/dev/serial/by-id/usb-pico-if00', cols: 16, rows: 2, serial, setSize: true });
    assert.deepEqual(cfg.keypad, {
      driver: 'lines', port: null, mode: 'keys', delimiter: 'LF', autoSubmit: true, maxLineBytes: 128, serial, keymap: DEFAULT_LK_KEYMAP, grab: true,
    });
    assert.deepEqual(cfg.daemon, {
      verifyIntervalSec: 86400,
      verifyOnStart: true,
      pinTries: 3,
      quietAfterUnusedCodes: 3,
      backoff: { initialMs: 1000, maxMs: 300000 },
      reconnect: { initialMs: 500, maxMs: 30000 },
    });
    assert.equal(cfg.log.level, 'info');
  });

  test('top-level serial is the default for both ports; each port overrides field by field', () => {
    const cfg = resolveConfig(
      { ...base, serial: { baudRate: 115200, parity: 'even' }, display: { ...base.display, serial: { baudRate: 19200 } } },
      { env: ENV },
    );
    assert.deepEqual([cfg.display.serial.baudRate, cfg.display.serial.parity], [19200, 'even']);
    assert.deepEqual([cfg.keypad.serial.baudRate, cfg.keypad.serial.parity, cfg.keypad.serial.dataBits], [115200, 'even', 8]);
  });

  test('store path: STATE_DIRECTORY, then XDG_STATE_HOME, then ~/.local/state', () => {
    const at = (env: NodeJS.ProcessEnv) => resolveConfig(base, { env }).store.path;
    assert.equal(at({ STATE_DIRECTORY: '/var/lib/pinauthd', XDG_STATE_HOME: '/x', HOME: '/home/pi' }), '/var/lib/pinauthd/tokens.json');
    assert.equal(at({ XDG_STATE_HOME: '/home/pi/.state', HOME: '/home/pi' }), '/home/pi/.state/pinauthd/tokens.json');
    assert.equal(at({ HOME: '/home/pi' }), '/home/pi/.local/state/pinauthd/tokens.json');
  });

  test('PINAUTHD_LOG_LEVEL overrides the file and is validated', () => {
    assert.equal(resolveConfig({ ...base, log: { level: 'warn' } }, { env: { ...ENV, PINAUTHD_LOG_LEVEL: 'debug' } }).log.level, 'debug');
    assert.deepEqual(problemsOf(() => resolveConfig(base, { env: { ...ENV, PINAUTHD_LOG_LEVEL: 'chatty' } })), [
      'PINAUTHD_LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent',
    ]);
  });

  test('verifyIntervalSec may not undercut the provider minimum', () => {
    assert.deepEqual(problemsOf(() => resolveConfig({ ...base, daemon: { verifyIntervalSec: 30 } }, { env: ENV })), [
      '/daemon/verifyIntervalSec: must be >= 60 (provider.minVerifyIntervalSec)',
    ]);
  });
});

describe('secrets: credentials directory, then environment, then config file', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let file: string;
  before(async () => {
    ({ dir, cleanup } = await tempDir());
    file = path.join(dir, 'config.json');
    await writeFile(file, JSON.stringify(base));
  });
  after(() => cleanup());

  test('systemd credentials win over everything, trailing newline removed', async () => {
    const creds = path.join(dir, 'creds1');
    await mkdir(creds);
    await writeFile(path.join(creds, 'consumer_key'), 'key-from-credential\n');
    await writeFile(path.join(creds, 'consumer_secret'), 'secret-from-credential\n');
    const cfg = await loadConfig({
      file,
      env: { ...ENV, CREDENTIALS_DIRECTORY: creds, PINAUTHD_CONSUMER_KEY: 'env-key', PINAUTHD_CONSUMER_SECRET: 'env-secret' },
    });
    assert.equal(cfg.credentials.consumerKey, 'key-from-credential');
    assert.equal(cfg.credentials.consumerSecret, 'secret-from-credential');
    assert.deepEqual(cfg.credentials.source, {
      consumerKey: 'systemd-credential:consumer_key',
      consumerSecret: 'systemd-credential:consumer_secret',
    });
  });

  test('first found wins per value: a credential for one, the environment for the other', async () => {
    const creds = path.join(dir, 'creds2');
    await mkdir(creds);
    await writeFile(path.join(creds, 'consumer_secret'), 'secret-from-credential');
    const cfg = await loadConfig({ file, env: { ...ENV, CREDENTIALS_DIRECTORY: creds, PINAUTHD_CONSUMER_KEY: 'env-key' } });
    assert.deepEqual(cfg.credentials, {
      consumerKey: 'env-key',
      consumerSecret: 'secret-from-credential',
      source: { consumerKey: 'env:PINAUTHD_CONSUMER_KEY', consumerSecret: 'systemd-credential:consumer_secret' },
    });
  });

  test('the *_FILE variants; a plain variable wins over its _FILE', async () => {
    const secretFile = path.join(dir, 'secret.txt');
    await writeFile(secretFile, 'secret-from-file\r\n');
    const cfg = await loadConfig({ file, env: { ...ENV, PINAUTHD_CONSUMER_SECRET_FILE: secretFile } });
    assert.equal(cfg.credentials.consumerSecret, 'secret-from-file');
    assert.equal(cfg.credentials.source.consumerSecret, 'env:PINAUTHD_CONSUMER_SECRET_FILE');
    assert.equal(cfg.credentials.source.consumerKey, `config:${file}`);
    const both = await loadConfig({ file, env: { ...ENV, PINAUTHD_CONSUMER_SECRET: 'plain', PINAUTHD_CONSUMER_SECRET_FILE: secretFile } });
    assert.equal(both.credentials.consumerSecret, 'plain');
  });

  test('a _FILE that cannot be read, or an empty credential, is an error, not a fallback', async () => {
    await assert.rejects(
      loadConfig({ file, env: { ...ENV, PINAUTHD_CONSUMER_KEY_FILE: path.join(dir, 'missing') } }),
      (e) => isPinauthError(e, 'CONFIG_SECRET_MISSING') && /PINAUTHD_CONSUMER_KEY_FILE/.test(e.message),
    );
    const creds = path.join(dir, 'creds3');
    await mkdir(creds);
    await writeFile(path.join(creds, 'consumer_key'), '\n');
    await assert.rejects(
      loadConfig({ file, env: { ...ENV, CREDENTIALS_DIRECTORY: creds } }),
      (e) => isPinauthError(e, 'CONFIG_SECRET_MISSING') && /empty/.test(e.message),
    );
  });

  test('missing everywhere: CONFIG_SECRET_MISSING says where to put each, and leaks nothing', async () => {
    const bare = path.join(dir, 'bare.json');
    await writeFile(bare, JSON.stringify({ ...base, credentials: { consumerSecret: SECRET } }));
    let err: unknown;
    try {
      await loadConfig({ file: bare, env: ENV });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof PinauthError);
    assert.equal(err.code, 'CONFIG_SECRET_MISSING');
    assert.match(err.message, /consumer key/);
    assert.doesNotMatch(err.message, /consumer secret found/);
    for (const where of ['consumer_key', 'PINAUTHD_CONSUMER_KEY', 'PINAUTHD_CONSUMER_KEY_FILE', `credentials.consumerKey in ${bare}`]) {
      assert.ok(err.message.includes(where), where);
    }
    assert.ok(!err.message.includes(SECRET));
  });

  test('requireSecrets: false gives empty values with source "missing" instead of an error', async () => {
    const bare = path.join(dir, 'bare2.json');
    await writeFile(bare, JSON.stringify({ ...base, credentials: { consumerKey: 'k-in-file' } }));
    const cfg = await loadConfig({ file: bare, env: { ...ENV, PINAUTHD_CONSUMER_SECRET_FILE: path.join(dir, 'gone') }, requireSecrets: false });
    assert.deepEqual(cfg.credentials, {
      consumerKey: 'k-in-file',
      consumerSecret: '',
      source: { consumerKey: `config:${bare}`, consumerSecret: 'missing' },
    });
  });

  test('an unreadable credential file is reported (not silently skipped): a symbolic link that loops', async () => {
    // what root cannot read either (open() fails with ELOOP), so this runs in CI, which is root
    const creds = path.join(dir, 'creds-loop');
    await mkdir(creds);
    await symlink('consumer_key', path.join(creds, 'consumer_key'));
    await assert.rejects(loadConfig({ file, env: { ...ENV, CREDENTIALS_DIRECTORY: creds } }), (e) =>
      isPinauthError(e, 'CONFIG_SECRET_MISSING') && /systemd credential consumer_key .*\(ELOOP\)/.test(e.message),
    );
  });

  test('an unreadable credential file is reported (not silently skipped): no read permission', async (t) => {
    if (process.getuid?.() === 0) return t.skip('root reads any file');
    const creds = path.join(dir, 'creds4');
    await mkdir(creds);
    await writeFile(path.join(creds, 'consumer_key'), 'k');
    await chmod(path.join(creds, 'consumer_key'), 0o000);
    await assert.rejects(loadConfig({ file, env: { ...ENV, CREDENTIALS_DIRECTORY: creds } }), (e) =>
      isPinauthError(e, 'CONFIG_SECRET_MISSING'),
    );
  });
});

describe('off-the-shelf displays and keypads', () => {
  const KBD = '/dev/input/by-id/usb-Keypad-event-kbd';
  const BACKPACK = '/dev/serial/by-id/usb-Adafruit_backpack-if00';
  const cfg = (display: FileConfig['display'], keypad?: FileConfig['keypad']) =>
    resolveConfig({ ...base, display, ...(keypad ? { keypad } : {}) }, { env: ENV });

  test('the default shopping list: an Adafruit backpack and a USB numpad (evdev, grabbed)', () => {
    const c = cfg({ driver: 'matrix-orbital', port: BACKPACK, cols: 20, rows: 4 }, { driver: 'evdev', port: KBD });
    assert.deepEqual([c.display.driver, c.display.setSize, c.keypad.driver, c.keypad.port, c.keypad.grab, c.keypad.mode], ['matrix-orbital', true, 'evdev', KBD, true, 'keys']);
  });

  test('an LK module alone: its own keypad on the same line, with the documented default keymap', () => {
    const c = cfg({ driver: 'matrix-orbital', port: BACKPACK, cols: 20, rows: 4, setSize: false });
    assert.equal(c.keypad.driver, 'matrix-orbital');
    assert.equal(c.keypad.port, null);
    assert.deepEqual(c.keypad.keymap, DEFAULT_LK_KEYMAP);
    const remapped = cfg({ driver: 'matrix-orbital', port: BACKPACK }, { keymap: { '1': '1', E: '#' } });
    assert.deepEqual(remapped.keypad.keymap, { '1': '1', E: '#' });
  });

  test('clear messages for what cannot work', () => {
    assert.deepEqual(problemsOf(() => cfg({ driver: 'serlcd', port: BACKPACK })), [
      '/keypad/port: the serlcd display has no line keypad of its own: set keypad.driver "evdev" and keypad.port to the USB keypad (/dev/input/by-id/...-event-kbd), or keypad.port to a serial keypad',
    ]);
    assert.deepEqual(problemsOf(() => cfg({ driver: 'serlcd', port: BACKPACK }, { driver: 'evdev' })), [
      '/keypad/port: the evdev keypad needs its event device (ls /dev/input/by-id/, e.g. /dev/input/by-id/usb-...-event-kbd)',
    ]);
    assert.deepEqual(problemsOf(() => cfg({ driver: 'serlcd', port: BACKPACK }, { driver: 'evdev', port: 'tcp://127.0.0.1:4000', mode: 'line' })), [
      '/keypad/port: the evdev keypad needs its event device path (/dev/input/by-id/...-event-kbd)',
      '/keypad/mode: the evdev keypad sends single keys ("keys" mode)',
    ]);
    assert.deepEqual(problemsOf(() => cfg({ driver: 'pinpad', port: BACKPACK, setSize: true }, { driver: 'matrix-orbital', grab: false, keymap: {} })), [
      '/display/setSize: only for the matrix-orbital driver',
      '/keypad/driver: the matrix-orbital keypad is an LK module\'s, on its display\'s line: use it with display.driver "matrix-orbital" and no keypad.port',
      '/keypad/grab: only for the evdev keypad',
    ]);
    assert.deepEqual(problemsOf(() => cfg({ driver: 'matrix-orbital', port: BACKPACK, cols: 40, rows: 8 }, { driver: 'evdev', port: KBD })), [
      '/display/cols: the matrix-orbital driver drives character LCDs of up to 20 columns',
      '/display/rows: the matrix-orbital driver drives character LCDs of up to 4 rows',
    ]);
  });

  test('keymap keys are one printable character, values keypad keys', () => {
    assert.deepEqual(problemsOf(() => cfg({ driver: 'matrix-orbital', port: BACKPACK }, { keymap: { AB: '1', Z: 'X' } as Record<string, string> })), [
      '/keypad/keymap/AB: must be one printable ASCII character (a key code)',
      '/keypad/keymap/Z: must be one of "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#", "A", "B", "C", "D"',
    ]);
  });
});
