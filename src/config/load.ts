/**
 * Load, validate and resolve the configuration. Nothing else runs before this: every problem
 * is reported at once, one `path: message` line each, in a single CONFIG_INVALID error.
 */
import { statSync } from 'node:fs';
import { readSmallFile, SmallFileRefused } from '../small-file.js';
import os from 'node:os';
import path from 'node:path';
import type { ErrorObject } from 'ajv';
import { PinauthError } from '../errors.js';
import { normalizeProxySetting, parseProxyUrl } from '../oauth/proxy-policy.js';
import { isLoopbackHost } from '../oauth/url-policy.js';
import { validateFileConfigSchema } from '../generated/config-validator.js';
import { describeJsonError } from './json-position.js';
import { PRESETS } from './presets.js';
import { LOG_LEVELS, type DeepPartial, type FileConfig, type LogLevel } from './schema.js';
import { envSecrets, readExternalSecrets, whereToPutSecret, type ExternalSecrets, type SecretName } from './secrets.js';
import type { Config, Credentials, DisplayConfig, KeypadConfig, ProviderConfig, ProxyConfig, SerialSettings } from './types.js';

export const DEFAULT_CONFIG_FILE = '/etc/pinauthd/config.json';
const MAX_CONFIG_BYTES = 1024 * 1024;

export const DEFAULT_SERIAL: Readonly<SerialSettings> = Object.freeze({
  baudRate: 9600,
  dataBits: 8,
  parity: 'none',
  stopBits: 1,
  flowControl: 'none',
});

const PROVIDER_DEFAULTS = {
  signatureMethod: 'HMAC-SHA1',
  timeoutMs: 15000,
  maxReplyBytes: 65536,
  requestTokenTtlSec: 900,
  minVerifyIntervalSec: 60,
} as const;

/**
 * Used when no config file exists at all: Twitter, with the display and keypad on the
 * terminal (stdio), since no serial port can be guessed. Credentials must come from
 * systemd credentials or the environment.
 */
export const BUILTIN_FILE_CONFIG: Readonly<FileConfig> = Object.freeze<FileConfig>({
  provider: { preset: 'twitter' },
  display: { driver: 'console' },
});

/** A CONFIG_INVALID error that also carries its problem lines, for tests and `doctor`. */
export class ConfigError extends PinauthError {
  readonly problems: readonly string[];
  constructor(source: string, problems: string[]) {
    super('CONFIG_INVALID', `invalid configuration (${source}):\n${problems.join('\n')}`);
    this.problems = problems;
  }
}

export interface ResolveOptions {
  /** Absolute path the config came from (messages, relative store path); null: built-in. */
  file?: string | null;
  env?: NodeJS.ProcessEnv;
  /** Merged over the file before validation (CLI flags, the lead's demo config). */
  overrides?: DeepPartial<FileConfig>;
  /**
   * Secrets from systemd credentials and the environment (readExternalSecrets). When
   * omitted, only plain PINAUTHD_CONSUMER_KEY/SECRET variables are looked at, so that this
   * function stays free of I/O.
   */
  secrets?: ExternalSecrets;
  /**
   * false: a missing consumer key/secret is not an error but '' with source 'missing'
   * (read-only commands like `status` that never talk to the provider). Default true.
   */
  requireSecrets?: boolean;
}

export interface LoadOptions {
  /** undefined: discover; null: built-in defaults only; a path: that file (must exist). */
  file?: string | null;
  env?: NodeJS.ProcessEnv;
  overrides?: DeepPartial<FileConfig>;
  /** See ResolveOptions.requireSecrets; false also tolerates unreadable secret files. */
  requireSecrets?: boolean;
}

// ---------------------------------------------------------------------------------------
// schema validation

function formatAjvError(e: ErrorObject): string {
  const at = e.instancePath || '';
  // A key that fails its propertyNames rule (keypad.keymap): name the key itself.
  if (e.propertyName !== undefined) return `${at}/${e.propertyName.slice(0, 40)}: must be one printable ASCII character (a key code)`;
  switch (e.keyword) {
    case 'propertyNames':
      return '';
    case 'additionalProperties':
      return `${at}/${String(e.params.additionalProperty)}: unknown property`;
    case 'required':
      return `${at}/${String(e.params.missingProperty)}: is required`;
    case 'enum':
      return `${at || '/'}: must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return `${at || '/'}: ${e.message ?? 'is invalid'}`;
  }
}

/** Validate (and fill schema defaults into) a parsed config; returns the problem lines. */
export function validateFileConfig(data: unknown): string[] {
  if (validateFileConfigSchema(data)) return [];
  const lines = (validateFileConfigSchema.errors ?? []).map(formatAjvError).filter((l) => l !== '');
  return [...new Set(lines)];
}

// ---------------------------------------------------------------------------------------
// helpers

/** The config is a few levels deep; anything deeper than this is not a config. */
export const MAX_CONFIG_DEPTH = 16;

/** A problem line when `value` nests deeper than MAX_CONFIG_DEPTH (checked without recursion), else null. */
export function nestingProblem(value: unknown): string | null {
  const stack: Array<[unknown, number, string]> = [[value, 0, '']];
  while (stack.length > 0) {
    const [v, depth, at] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= MAX_CONFIG_DEPTH) return `${at || '/'}: nested deeper than ${MAX_CONFIG_DEPTH} levels`;
    for (const [k, child] of Object.entries(v)) stack.push([child, depth + 1, `${at}/${k.slice(0, 40)}`]);
  }
  return null;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
  return out;
}

/** provider.proxy: null (not set: the environment decides), '' (none) or a usable proxy URL. */
function checkedProxy(value: string | undefined, problems: string[]): string | null {
  const setting = normalizeProxySetting(value);
  if (setting === null || setting === '') return setting;
  try {
    parseProxyUrl(setting, '/provider/proxy');
  } catch (e) {
    // the message names the setting, never its value (it may hold a password)
    problems.push((e as Error).message);
    return null;
  }
  return setting;
}

/** A device path, `tcp://host:port`, or `stdio`; returns a problem or null. */
function checkPort(value: string, allowStdio: boolean): string | null {
  if (value === 'stdio') return allowStdio ? null : 'stdio is only for the console driver';
  if (value.startsWith('tcp://')) {
    let u: URL;
    try {
      u = new URL(value);
    } catch {
      return 'must be tcp://host:port';
    }
    const port = Number(u.port);
    if (!u.hostname || !Number.isInteger(port) || port < 1 || port > 65535) return 'must be tcp://host:port';
    if ((u.pathname !== '' && u.pathname !== '/') || u.search || u.hash || u.username) {
      return 'must be tcp://host:port with nothing after the port';
    }
    return null;
  }
  if (!path.isAbsolute(value)) return 'must be an absolute device path (e.g. /dev/serial/by-id/...), tcp://host:port or stdio';
  if (/[\0\r\n]/.test(value)) return 'must not contain control characters';
  return null;
}

/**
 * Where the daemon binds the API socket when systemd does not pass one: the runtime directory
 * (RuntimeDirectory=) when there is one, else next to the token store.
 */
export function defaultProxySocket(storePath: string, env: NodeJS.ProcessEnv = process.env): string {
  const runtimeDir = env.RUNTIME_DIRECTORY?.split(':')[0];
  return path.join(runtimeDir || path.dirname(storePath), 'api.sock');
}

/** The default token store location, following systemd's and XDG's conventions. */
export function defaultStorePath(env: NodeJS.ProcessEnv = process.env): string {
  const stateDir = env.STATE_DIRECTORY?.split(':')[0];
  if (stateDir) return path.join(stateDir, 'tokens.json');
  if (env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME)) {
    return path.join(env.XDG_STATE_HOME, 'pinauthd', 'tokens.json');
  }
  return path.join(env.HOME || os.homedir(), '.local', 'state', 'pinauthd', 'tokens.json');
}

// ---------------------------------------------------------------------------------------
// resolution

function resolveProvider(fc: FileConfig, problems: string[]): ProviderConfig | null {
  const p = fc.provider!;
  const preset = PRESETS[p.preset];
  const allowHttpLoopback = p.allowHttpLoopback ?? preset.allowHttpLoopback ?? false;
  const signatureMethod = p.signatureMethod ?? preset.signatureMethod ?? PROVIDER_DEFAULTS.signatureMethod;

  let base: URL | null = null;
  // set before baseUrl itself is checked: checkUrl reads it (it was read in its temporal
  // dead zone before, and an unparsable baseUrl crashed with a ReferenceError)
  let baseInvalid = false;
  const baseText = p.baseUrl ?? preset.baseUrl;
  if (baseText !== undefined) {
    // a trailing slash so that relative paths are appended, not substituted for the last segment
    const withSlash = baseText.endsWith('/') ? baseText : `${baseText}/`;
    base = checkUrl('baseUrl', withSlash, null);
    baseInvalid = base === null;
  }

  function checkUrl(field: string, value: string, relativeTo: URL | null): URL | null {
    let u: URL;
    try {
      u = relativeTo ? new URL(value, relativeTo) : new URL(value);
    } catch {
      // a relative URL under a broken baseUrl: the baseUrl problem already says it
      if (baseInvalid && !/^[a-z][a-z0-9+.-]*:/i.test(value)) return null;
      problems.push(
        relativeTo || /^[a-z][a-z0-9+.-]*:/i.test(value)
          ? `/provider/${field}: must be a valid URL`
          : `/provider/${field}: is relative, so provider.baseUrl is required`,
      );
      return null;
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') {
      problems.push(`/provider/${field}: must be an https URL`);
      return null;
    }
    if (u.username || u.password) {
      problems.push(`/provider/${field}: must not contain a user name or password`);
      return null;
    }
    if (u.hash) {
      problems.push(`/provider/${field}: must not contain a #fragment`);
      return null;
    }
    if (u.protocol === 'http:') {
      if (!isLoopbackHost(u.hostname)) {
        problems.push(`/provider/${field}: must be https (plain http is allowed only to a loopback host)`);
        return null;
      }
      if (!allowHttpLoopback) {
        problems.push(`/provider/${field}: plain http to a loopback host needs provider.allowHttpLoopback: true`);
        return null;
      }
      if (signatureMethod === 'PLAINTEXT') {
        problems.push(`/provider/${field}: PLAINTEXT signatures send the secrets themselves and need https`);
        return null;
      }
    }
    return u;
  }

  function endpoint(field: string, value: string | undefined, required: boolean): string | null {
    if (value === undefined) {
      if (required) problems.push(`/provider/${field}: is required for the ${p.preset} preset`);
      return null;
    }
    return checkUrl(field, value, base)?.href ?? null;
  }

  let authorizeValue = p.authorizeUrl;
  if (authorizeValue === undefined) {
    if (p.authorize === 'authenticate') {
      authorizeValue = preset.authenticateUrl;
      if (authorizeValue === undefined) {
        problems.push(`/provider/authorize: the ${p.preset} preset has no authenticate page; use "authorize" or set authorizeUrl`);
      }
    } else {
      authorizeValue = preset.authorizeUrl;
    }
  }
  const requestTokenUrl = endpoint('requestTokenUrl', p.requestTokenUrl ?? preset.requestTokenUrl, true);
  const authorizeUrl =
    authorizeValue === undefined && p.authorize === 'authenticate' ? null : endpoint('authorizeUrl', authorizeValue, true);
  const accessTokenUrl = endpoint('accessTokenUrl', p.accessTokenUrl ?? preset.accessTokenUrl, true);
  const verifyValue = p.verifyUrl !== undefined ? p.verifyUrl : preset.verifyUrl ?? null;
  const invalidateValue = p.invalidateUrl !== undefined ? p.invalidateUrl : preset.invalidateUrl ?? null;
  const verifyUrl = verifyValue === null ? null : endpoint('verifyUrl', verifyValue, false);
  const invalidateUrl = invalidateValue === null ? null : endpoint('invalidateUrl', invalidateValue, false);

  // The signing proxy forwards to these origins only: checked like the endpoints (https, or
  // http to loopback when allowed), and nothing but an origin (no path, query or fragment).
  const apiOrigins: string[] = [];
  (p.apiOrigins ?? preset.apiOrigins ?? []).forEach((value, i) => {
    const u = checkUrl(`apiOrigins/${i}`, value, base);
    if (u === null) return;
    if (u.pathname !== '/' || u.search !== '') problems.push(`/provider/apiOrigins/${i}: must be an origin (scheme://host[:port]) without a path`);
    else if (!apiOrigins.includes(u.origin)) apiOrigins.push(u.origin);
  });

  // the authorize URL shown is `${authorizeUrl}?oauth_token=...`
  if (authorizeUrl && new URL(authorizeUrl).search) {
    problems.push('/provider/authorizeUrl: must not have a query string');
  }

  const pin = p.pin ?? preset.pin;
  if (!pin) {
    problems.push(`/provider/pin: is required for the ${p.preset} preset`);
  } else if (pin.template !== undefined) {
    const hashes = [...pin.template].filter((c) => c === '#').length;
    if (hashes !== pin.digits) {
      problems.push(`/provider/pin/template: must have exactly ${pin.digits} "#" (one per digit), has ${hashes}`);
    }
  }

  if (!requestTokenUrl || !authorizeUrl || !accessTokenUrl || !pin) return null;
  if ((verifyValue !== null && !verifyUrl) || (invalidateValue !== null && !invalidateUrl)) return null;

  const provider: ProviderConfig = {
    name: preset.name,
    requestTokenUrl,
    authorizeUrl,
    accessTokenUrl,
    verifyUrl,
    invalidateUrl,
    signatureMethod,
    pin: pin.template === undefined ? { digits: pin.digits } : { digits: pin.digits, template: pin.template },
    allowHttpLoopback,
    timeoutMs: p.timeoutMs ?? PROVIDER_DEFAULTS.timeoutMs,
    maxReplyBytes: p.maxReplyBytes ?? PROVIDER_DEFAULTS.maxReplyBytes,
    requestTokenTtlSec: p.requestTokenTtlSec ?? preset.requestTokenTtlSec ?? PROVIDER_DEFAULTS.requestTokenTtlSec,
    minVerifyIntervalSec: p.minVerifyIntervalSec ?? preset.minVerifyIntervalSec ?? PROVIDER_DEFAULTS.minVerifyIntervalSec,
    apiOrigins,
    proxy: checkedProxy(p.proxy, problems),
  };
  if (p.accessType !== undefined) provider.accessType = p.accessType;
  if (p.forceLogin !== undefined) provider.forceLogin = p.forceLogin;
  if (p.screenName !== undefined) provider.screenName = p.screenName;
  return provider;
}

/**
 * The key codes of an LK204-25 with a 4x4 keypad on rows 1-4, columns 1-4 of its connector
 * (the manual's table: 'A' at row 1 column 1, five codes a row), read as the common 4x4
 * keypad's legend 1 2 3 A / 4 5 6 B / 7 8 9 C / * 0 # D.
 */
export const DEFAULT_LK_KEYMAP: Readonly<Record<string, string>> = Object.freeze({
  A: '1', B: '2', C: '3', D: 'A',
  F: '4', G: '5', H: '6', I: 'B',
  K: '7', L: '8', M: '9', N: 'C',
  P: '*', Q: '0', R: '#', S: 'D',
});

/** Displays that are plain character LCDs driven by byte commands: 16x2 up to 20x4. */
const BYTE_LCDS: readonly string[] = ['matrix-orbital', 'serlcd'];

function resolveDevices(fc: FileConfig, problems: string[]): { display: DisplayConfig; keypad: KeypadConfig } {
  const d = fc.display ?? {};
  const k = fc.keypad ?? {};
  const driver = d.driver ?? 'pinpad';
  let port = d.port ?? (driver === 'console' ? 'stdio' : '');
  if (port === '') {
    problems.push(`/display/port: is required for the ${driver} driver (e.g. /dev/serial/by-id/usb-...-if00-port0 or tcp://host:port)`);
  } else {
    const problem = checkPort(port, driver === 'console');
    if (problem) problems.push(`/display/port: ${problem}`);
  }
  if (driver === 'console' && port !== 'stdio' && port !== '') {
    problems.push('/display/port: the console driver uses stdio');
    port = 'stdio';
  }
  if (BYTE_LCDS.includes(driver)) {
    if ((d.cols ?? 16) > 20) problems.push(`/display/cols: the ${driver} driver drives character LCDs of up to 20 columns`);
    if ((d.rows ?? 2) > 4) problems.push(`/display/rows: the ${driver} driver drives character LCDs of up to 4 rows`);
  }
  if (d.setSize !== undefined && driver !== 'matrix-orbital') problems.push('/display/setSize: only for the matrix-orbital driver');

  let keypadPort = k.port ?? null;
  // An LK module's keypad rides on the display's line; any other display needs a keypad of its own.
  const keypadDriver = k.driver ?? (driver === 'matrix-orbital' && keypadPort === null ? 'matrix-orbital' : 'lines');
  if (keypadPort !== null) {
    const problem = keypadDriver === 'evdev' ? checkEventDevice(keypadPort) : checkPort(keypadPort, true);
    if (problem) problems.push(`/keypad/port: ${problem}`);
    // the same device for both means one microcontroller drives both
    if (keypadPort === port) {
      if (keypadDriver === 'evdev') problems.push('/keypad/port: the evdev keypad is an input device, not the display\'s port');
      keypadPort = null;
    }
  }
  if (keypadDriver === 'evdev' && k.port == null) {
    problems.push('/keypad/port: the evdev keypad needs its event device (ls /dev/input/by-id/, e.g. /dev/input/by-id/usb-...-event-kbd)');
  }
  if (keypadDriver === 'matrix-orbital' && (driver !== 'matrix-orbital' || keypadPort !== null)) {
    problems.push('/keypad/driver: the matrix-orbital keypad is an LK module\'s, on its display\'s line: use it with display.driver "matrix-orbital" and no keypad.port');
  }
  if (keypadDriver === 'lines' && keypadPort === null && BYTE_LCDS.includes(driver)) {
    problems.push(
      `/keypad/port: the ${driver} display has no line keypad of its own: set keypad.driver "evdev" and keypad.port to the USB keypad (/dev/input/by-id/...-event-kbd), or keypad.port to a serial keypad` +
        (driver === 'matrix-orbital' ? ', or keypad.driver "matrix-orbital" for an LK module\'s keypad' : ''),
    );
  }
  const sendsKeys = keypadDriver !== 'lines';
  if (sendsKeys && k.mode === 'line') problems.push(`/keypad/mode: the ${keypadDriver} keypad sends single keys ("keys" mode)`);
  if (k.keymap !== undefined && keypadDriver !== 'matrix-orbital') problems.push('/keypad/keymap: only for the matrix-orbital keypad');
  if (k.grab !== undefined && keypadDriver !== 'evdev') problems.push('/keypad/grab: only for the evdev keypad');

  const base = { ...DEFAULT_SERIAL, ...fc.serial };
  const display: DisplayConfig = {
    driver,
    port,
    cols: d.cols ?? 16,
    rows: d.rows ?? 2,
    serial: { ...base, ...d.serial },
    setSize: d.setSize ?? true,
  };
  const keypad: KeypadConfig = {
    driver: keypadDriver,
    port: keypadPort,
    mode: sendsKeys ? 'keys' : (k.mode ?? (driver === 'pinpad' ? 'keys' : 'line')),
    delimiter: k.delimiter ?? 'LF',
    autoSubmit: k.autoSubmit ?? true,
    maxLineBytes: k.maxLineBytes ?? 128,
    serial: { ...base, ...k.serial },
    keymap: k.keymap ?? DEFAULT_LK_KEYMAP,
    grab: k.grab ?? true,
  };
  return { display, keypad };
}

/** An evdev keypad's path: an absolute path to its event device; returns a problem or null. */
function checkEventDevice(value: string): string | null {
  if (value === 'stdio' || value.startsWith('tcp://')) return 'the evdev keypad needs its event device path (/dev/input/by-id/...-event-kbd)';
  return checkPort(value, false);
}

function resolveCredentials(fc: FileConfig, file: string | null, secrets: ExternalSecrets, required: boolean): Credentials {
  const missing: string[] = [];
  const found: Partial<Record<SecretName, { value: string; source: string }>> = {};
  for (const name of ['consumerKey', 'consumerSecret'] as const) {
    const fromFile = fc.credentials?.[name];
    const hit = secrets[name] ?? (fromFile ? { value: fromFile, source: file ? `config:${file}` : 'config' } : undefined);
    if (hit) found[name] = hit;
    else if (!required) found[name] = { value: '', source: 'missing' };
    else missing.push(whereToPutSecret(name, file));
  }
  if (missing.length > 0) throw new PinauthError('CONFIG_SECRET_MISSING', missing.join('\n'));
  return {
    consumerKey: found.consumerKey!.value,
    consumerSecret: found.consumerSecret!.value,
    source: { consumerKey: found.consumerKey!.source, consumerSecret: found.consumerSecret!.source },
  };
}

/**
 * Validate a parsed config file (or an in-code one) and resolve it into the daemon's Config:
 * presets merged, defaults filled, URLs absolute, secrets found. Throws ConfigError
 * (CONFIG_INVALID) with every problem, or CONFIG_SECRET_MISSING.
 */
export function resolveConfig(fileConfig: unknown, opts: ResolveOptions = {}): Config {
  const file = opts.file ?? null;
  const env = opts.env ?? process.env;
  const source = file ?? 'no config file';
  // structuredClone, Ajv and deepMerge recurse: a deeply nested document would overflow the
  // stack (a RangeError and a stack trace instead of a config error)
  const tooDeep = nestingProblem(fileConfig);
  if (tooDeep) throw new ConfigError(source, [tooDeep]);
  // clone: Ajv's useDefaults writes into what it validates
  const data = deepMerge(structuredClone(fileConfig ?? {}), structuredClone(opts.overrides));
  const schemaProblems = validateFileConfig(data);
  if (schemaProblems.length > 0) throw new ConfigError(source, schemaProblems);
  const fc = data as FileConfig;

  const problems: string[] = [];
  const provider = resolveProvider(fc, problems);
  const { display, keypad } = resolveDevices(fc, problems);

  const daemon = fc.daemon as Config['daemon'];
  for (const which of ['backoff', 'reconnect'] as const) {
    if (daemon[which].maxMs < daemon[which].initialMs) problems.push(`/daemon/${which}/maxMs: must be >= initialMs`);
  }
  if (provider && daemon.verifyIntervalSec < provider.minVerifyIntervalSec) {
    problems.push(`/daemon/verifyIntervalSec: must be >= ${provider.minVerifyIntervalSec} (provider.minVerifyIntervalSec)`);
  }

  let level = fc.log!.level as LogLevel;
  const envLevel = env.PINAUTHD_LOG_LEVEL;
  if (envLevel !== undefined && envLevel !== '') {
    if ((LOG_LEVELS as readonly string[]).includes(envLevel)) level = envLevel as LogLevel;
    else problems.push(`PINAUTHD_LOG_LEVEL: must be one of ${LOG_LEVELS.join(', ')}`);
  }

  const storePath = fc.store?.path
    ? path.resolve(file ? path.dirname(file) : process.cwd(), fc.store.path)
    : defaultStorePath(env);

  const fp = fc.proxy as Required<NonNullable<FileConfig['proxy']>>;
  const proxy: ProxyConfig = {
    enabled: fp.enabled,
    socket: fp.socket ?? defaultProxySocket(storePath, env),
    methods: fp.methods,
    paths: fp.paths,
    maxBodyBytes: fp.maxBodyBytes,
    maxFormBytes: fp.maxFormBytes,
    maxReplyBytes: fp.maxReplyBytes,
    timeoutMs: fp.timeoutMs,
    maxConnections: fp.maxConnections,
    rateLimit: fp.rateLimit,
  };
  // sun_path holds 107 bytes and a terminating NUL
  if (Buffer.byteLength(proxy.socket) > 107) problems.push(`/proxy/socket: longer than 107 bytes (a Unix socket path limit): ${proxy.socket.slice(0, 60)}...`);

  if (problems.length > 0 || !provider) throw new ConfigError(source, problems);

  const credentials = resolveCredentials(fc, file, opts.secrets ?? envSecrets(env), opts.requireSecrets ?? true);
  return { file, provider, credentials, store: { path: storePath }, display, keypad, daemon, proxy, log: { level } };
}

// ---------------------------------------------------------------------------------------
// files

/** Synchronous, as the config file's read (src/small-file.ts): nothing else runs before it. */
function exists(file: string): boolean {
  try {
    statSync(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Which config file to read: $PINAUTHD_CONFIG (must exist), else
 * $CONFIGURATION_DIRECTORY/config.json, else /etc/pinauthd/config.json, each if it exists;
 * null when there is none (built-in defaults).
 */
export async function discoverConfigFile(
  env: NodeJS.ProcessEnv = process.env,
  defaultFile: string = DEFAULT_CONFIG_FILE,
): Promise<string | null> {
  if (env.PINAUTHD_CONFIG) return path.resolve(env.PINAUTHD_CONFIG);
  const confDir = env.CONFIGURATION_DIRECTORY?.split(':')[0];
  if (confDir) {
    const candidate = path.join(confDir, 'config.json');
    if (exists(candidate)) return candidate;
  }
  return exists(defaultFile) ? defaultFile : null;
}

/** Read and parse a config file; CONFIG_INVALID for a missing, unreadable or non-JSON file. */
export async function readConfigFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = (await readSmallFile(file, MAX_CONFIG_BYTES)).toString('utf8').replace(/^\uFEFF/, '');
  } catch (e) {
    if (e instanceof SmallFileRefused) throw new ConfigError(file, [`${file}: ${e.why}`]);
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'not found'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied (is it readable by the pinauthd user?)'
          : code === 'EISDIR'
            ? 'is a directory'
            : `cannot be read (${code ?? 'error'})`;
    throw new ConfigError(file, [`${file}: ${why}`]);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    const { line, column, reason } = describeJsonError(text, e);
    throw new ConfigError(file, [`${file}:${line}:${column}: invalid JSON (${reason})`]);
  }
}

/** Find, read, validate and resolve the configuration, secrets included. */
export async function loadConfig(opts: LoadOptions = {}): Promise<Config> {
  const env = opts.env ?? process.env;
  const file =
    opts.file === undefined ? await discoverConfigFile(env) : opts.file === null ? null : path.resolve(opts.file);
  const fileConfig = file === null ? BUILTIN_FILE_CONFIG : await readConfigFile(file);
  const requireSecrets = opts.requireSecrets ?? true;
  // read-only commands may run as a user who cannot read the credentials: settle for less
  const secrets = requireSecrets ? await readExternalSecrets(env) : await readExternalSecrets(env).catch(() => envSecrets(env));
  return resolveConfig(fileConfig, { file, env, overrides: opts.overrides, secrets, requireSecrets });
}
