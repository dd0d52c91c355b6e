/**
 * `pinauthd doctor`: check what usually goes wrong on a board, and say for each finding
 * what to do in one line. It never prints a secret and never takes the serial port away
 * from a running daemon.
 */
import { constants } from 'node:fs';
import { access, readdir, readFile, realpath, stat } from 'node:fs/promises';
import net from 'node:net';
import { basename, dirname } from 'node:path';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { toPinauthError } from '../errors.js';
import { sendRequest } from '../oauth/http.js';
import { describeProxy, PROXY_VARIABLES, proxyFor } from '../oauth/proxy-policy.js';
import { checkTlsEnvironment } from '../oauth/url-policy.js';
import { readStoreSnapshot } from '../store/token-store.js';
import { listSerialPorts } from '../transport/serial.js';
import { askDaemon, controlSocketPath } from '../service/control.js';
import { apiSocketReport } from '../proxy/socket-path.js';
import type { CommonOptions } from './operator.js';
import { serviceEnvironment, UNIT_FILE } from './service-env.js';
import { printJson, printLine } from './output.js';

export type Severity = 'ok' | 'warn' | 'fail' | 'info';
export interface Finding {
  check: string;
  severity: Severity;
  detail: string;
  fix?: string;
}

/** Clock skew beyond this makes providers reject signatures (Twitter allows about 5 minutes). */
const SKEW_WARN_MS = 30_000;
const SKEW_FAIL_MS = 240_000;

async function processRunning(name: string): Promise<boolean> {
  const pids = await readdir('/proc').catch(() => [] as string[]);
  for (const pid of pids) {
    if (!/^\d+$/.test(pid)) continue;
    const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
    if (comm.trim() === name) return true;
  }
  return false;
}

/** The device path with its links resolved; null, with a finding saying what to do, when it does not exist. */
async function existingPath(check: string, port: string, fix: string, out: Finding[]): Promise<string | null> {
  try {
    return await realpath(port);
  } catch {
    out.push({ check, severity: 'fail', detail: `${port} does not exist`, fix });
    return null;
  }
}

/** A USB keypad read as a Linux input device (keypad.driver "evdev"): read access and a stable name. */
async function checkInputPath(port: string, out: Finding[]): Promise<void> {
  const check = 'keypad device';
  const real = await existingPath(check, port, 'plug the keypad in, or set the right path (ls -l /dev/input/by-id/ lists USB keyboards and keypads as ...-event-kbd)', out);
  if (real === null) return;
  try {
    await access(real, constants.R_OK);
    out.push({ check, severity: 'ok', detail: `${port} -> ${real} is readable` });
  } catch {
    out.push({
      check,
      severity: 'fail',
      detail: `no permission to read ${real}`,
      fix: 'add the user to the input group (sudo usermod -aG input $USER, then log in again); the systemd unit has SupplementaryGroups=input',
    });
  }
  if (/^\/dev\/input\/event\d+$/.test(port)) {
    const byId = (await readdir('/dev/input/by-id').catch(() => [] as string[])).filter((n) => n.endsWith('-event-kbd'));
    out.push({
      check: 'keypad device name',
      severity: 'warn',
      detail: `${port} may become another event number after a replug or a reboot`,
      fix: byId.length ? `use a stable name: ${byId.map((n) => `/dev/input/by-id/${n}`).join(' or ')}` : 'use the stable /dev/input/by-id/...-event-kbd name',
    });
  }
}

async function checkSerialPath(role: string, port: string, daemonRunning: boolean, out: Finding[]): Promise<void> {
  const check = `${role} port`;
  if (port === 'stdio') {
    out.push({ check, severity: 'info', detail: 'the terminal (console driver)' });
    return;
  }
  if (port.startsWith('tcp://')) {
    const u = new URL(port);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: u.hostname, port: Number(u.port) });
      const done = (v: boolean) => {
        s.destroy();
        resolve(v);
      };
      s.setTimeout(3000, () => done(false));
      s.on('connect', () => done(true));
      s.on('error', () => done(false));
    });
    out.push(
      ok || daemonRunning
        ? { check, severity: 'ok', detail: `${port} ${ok ? 'accepts connections' : 'is in use by the running daemon'}` }
        : { check, severity: 'fail', detail: `${port} does not accept connections`, fix: 'start the serial bridge (ser2net) or correct the host:port in the config' },
    );
    return;
  }
  const real = await existingPath(check, port, 'plug the device in, or set the right path (ls -l /dev/serial/by-id/ lists USB serial devices by name)', out);
  if (real === null) return;
  const dev = basename(real);
  try {
    await access(real, constants.R_OK | constants.W_OK);
    out.push({ check, severity: 'ok', detail: `${port} -> ${real} is readable and writable` });
  } catch {
    out.push({
      check,
      severity: 'fail',
      detail: `no permission to open ${real}`,
      fix: `add the user to the dialout group (sudo usermod -aG dialout $USER, then log in again); the systemd unit has SupplementaryGroups=dialout`,
    });
  }
  if (!port.startsWith('/dev/serial/by-id/') && /^tty(USB|ACM)\d+$/.test(dev)) {
    const byId = await readdir('/dev/serial/by-id').catch(() => [] as string[]);
    out.push({
      check: `${role} port name`,
      severity: 'warn',
      detail: `${port} may become another ttyUSB/ttyACM number after a replug`,
      fix: byId.length ? `use a stable name: ${byId.map((n) => `/dev/serial/by-id/${n}`).join(' or ')}` : 'use the stable /dev/serial/by-id/... name or the udev rule in systemd/99-pinauthd.rules',
    });
  }
  if (/^tty(AMA|S)\d+$/.test(dev) || /serial[01]$/.test(port)) {
    const cmdline = await readFile('/proc/cmdline', 'utf8').catch(() => '');
    if (new RegExp(`console=(${dev}|serial0|serial1)\\b`).test(cmdline)) {
      out.push({
        check: `${role} port console`,
        severity: 'fail',
        detail: `the kernel uses ${dev} as a serial console (console= in /proc/cmdline): it will write to your display and read your keypad`,
        fix: 'sudo raspi-config -> Interface Options -> Serial Port: login shell over serial No, hardware enabled Yes; then reboot',
      });
    }
  }
  if (/^ttyACM\d+$/.test(dev) && (await processRunning('ModemManager'))) {
    out.push({
      check: `${role} port ModemManager`,
      severity: 'warn',
      detail: 'ModemManager is running and probes new ttyACM devices (it sends AT commands and holds the port for a while)',
      fix: 'sudo systemctl disable --now ModemManager, or add ENV{ID_MM_DEVICE_IGNORE}="1" to the udev rule for this device',
    });
  }
  if (!daemonRunning) {
    const lockFile = `/var/lock/LCK..${dev}`;
    const lockHolder = await readFile(lockFile, 'utf8').catch(() => null);
    if (lockHolder !== null) {
      out.push({ check: `${role} port lock`, severity: 'warn', detail: `${lockFile} says process ${lockHolder.trim()} holds the port`, fix: 'stop that program (minicom, screen, another daemon) or remove the stale lock file' });
    }
  }
}

/**
 * The environment the service starts with, as its installed unit says (Environment=,
 * EnvironmentFile=); this shell's when no unit is installed here. The findings say which, and
 * name (never show) the proxy variables of this shell that the service does not have.
 */
async function serviceEnv(unitFile: string, out: Finding[]): Promise<NodeJS.ProcessEnv> {
  const check = 'service environment';
  let svc;
  try {
    svc = await serviceEnvironment(unitFile);
  } catch (e) {
    out.push({ check, severity: 'warn', detail: `cannot read ${unitFile} (${toPinauthError(e).message}): the proxy is judged with this shell's environment` });
    return process.env;
  }
  if (svc === null) {
    out.push({ check, severity: 'info', detail: `${unitFile} is not installed: the proxy is judged with this shell's environment` });
    return process.env;
  }
  out.push({ check, severity: 'info', detail: `the proxy is judged as the service reads it: ${svc.files.join(', ')}` });
  for (const u of svc.unreadable) {
    out.push({ check, severity: 'warn', detail: `${u.file}: ${u.why}`, fix: 'run doctor as root (sudo pinauthd doctor); the service reads this file as root' });
  }
  const differs = PROXY_VARIABLES.filter((n) => (process.env[n] ?? '') !== (svc.env[n] ?? ''));
  if (differs.length > 0) {
    out.push({
      check,
      severity: 'info',
      detail: `this shell's ${differs.join(', ')} ${differs.length > 1 ? 'differ' : 'differs'} from the service's, which does not see this shell`,
      fix: 'put the proxy the service needs in /etc/pinauthd/environment, then systemctl restart pinauthd (docs/systemd.md, "Behind an HTTP proxy")',
    });
  }
  return svc.env;
}

/** Which proxy each origin pinauthd calls goes through (the OAuth endpoints, then the API origins the socket forwards to). */
function checkProxy(cfg: Config, env: NodeJS.ProcessEnv, out: Finding[]): boolean {
  const origins = [...new Set([new URL(cfg.provider.requestTokenUrl).origin, ...(cfg.proxy.enabled ? cfg.provider.apiOrigins : [])])];
  for (const origin of origins) {
    try {
      out.push({ check: 'proxy', severity: 'info', detail: `${origin}: ${describeProxy(proxyFor(new URL(origin), cfg.provider.proxy, env))}` });
    } catch (e) {
      out.push({ check: 'proxy', severity: 'fail', detail: toPinauthError(e).message, fix: 'correct or unset that proxy variable (http://[user:pass@]host:port), or set provider.proxy in the config' });
      return false;
    }
  }
  return true;
}

async function checkProvider(cfg: Config, env: NodeJS.ProcessEnv, out: Finding[]): Promise<void> {
  const url = cfg.provider.requestTokenUrl;
  if (!checkProxy(cfg, env, out)) return;
  const started = Date.now();
  try {
    // An unsigned request: any answer (it will be an error) proves the provider is reachable,
    // and its Date header tells our clock skew. Nothing is authorized by it.
    const reply = await sendRequest({ method: 'GET', url }, {
      timeoutMs: Math.min(cfg.provider.timeoutMs, 10_000),
      maxReplyBytes: 65_536,
      allowHttpLoopback: cfg.provider.allowHttpLoopback,
      proxy: cfg.provider.proxy,
      env,
    });
    const rtt = Date.now() - started;
    out.push({ check: 'provider', severity: 'ok', detail: `${new URL(url).origin} answered (HTTP ${reply.status}) in ${rtt} ms` });
    const date = reply.headers.get('date');
    const providerMs = date ? Date.parse(date) : Number.NaN;
    if (Number.isNaN(providerMs)) {
      out.push({ check: 'clock', severity: 'info', detail: 'the provider sent no Date header; clock skew unknown' });
      return;
    }
    const skew = providerMs - (started + rtt / 2);
    const secs = Math.round(skew / 1000);
    const severity: Severity = Math.abs(skew) > SKEW_FAIL_MS ? 'fail' : Math.abs(skew) > SKEW_WARN_MS ? 'warn' : 'ok';
    out.push({
      check: 'clock',
      severity,
      detail: `this clock is ${Math.abs(secs)} s ${skew > 0 ? 'behind' : 'ahead of'} the provider's`,
      ...(severity === 'ok' ? {} : { fix: 'enable time sync: sudo timedatectl set-ntp true (a Pi without an RTC boots with a stale clock; pinauthd corrects signatures by itself, but the clock should be right)' }),
    });
  } catch (e) {
    const err = toPinauthError(e);
    out.push({ check: 'provider', severity: 'fail', detail: `${new URL(url).origin}: ${err.message}`, fix: err.code === 'OAUTH_INSECURE' ? 'use https, or allowHttpLoopback for a provider on this machine' : /proxy/i.test(err.message) ? 'check the proxy (above), its credentials, or NO_PROXY' : 'check the network, DNS and the provider URL in the config' });
  }
}

async function checkStore(cfg: Config, out: Finding[]): Promise<void> {
  const snap = await readStoreSnapshot(cfg.store.path);
  const dir = dirname(cfg.store.path);
  const dirMode = await stat(dir).then((s) => s.mode & 0o777, () => null);
  if (dirMode !== null && dirMode & 0o077) {
    out.push({ check: 'store directory', severity: 'warn', detail: `${dir} is mode 0${dirMode.toString(8)}`, fix: `chmod 700 ${dir} (pinauthd repairs it at start)` });
  }
  switch (snap.state) {
    case 'missing':
      out.push({ check: 'store', severity: 'info', detail: `${cfg.store.path} does not exist yet (not authorized)` });
      break;
    case 'unreadable':
      out.push({ check: 'store', severity: 'warn', detail: `${cfg.store.path} cannot be read by this user`, fix: 'run doctor as root or as the service user (sudo pinauthd doctor)' });
      break;
    case 'corrupt':
      out.push({ check: 'store', severity: 'warn', detail: `${cfg.store.path} is damaged; the daemon will keep it aside and start unauthorized` });
      break;
    case 'ok': {
      const mode = snap.mode ?? 0;
      out.push(
        mode & 0o077
          ? { check: 'store', severity: 'warn', detail: `${cfg.store.path} is mode 0${(mode & 0o777).toString(8)}`, fix: `chmod 600 ${cfg.store.path} (pinauthd repairs it at start)` }
          : { check: 'store', severity: 'ok', detail: `${cfg.store.path}: ${snap.accounts.length} account(s), mode 0600` },
      );
    }
  }
  if (snap.corruptFiles.length) {
    out.push({ check: 'store backups', severity: 'info', detail: `damaged files kept aside: ${snap.corruptFiles.join(', ')}` });
  }
}

/** `unitFile`: where the service's unit is (tests give their own). */
export async function runChecks(opts: CommonOptions, { unitFile = UNIT_FILE }: { unitFile?: string } = {}): Promise<Finding[]> {
  const out: Finding[] = [];
  const env = await serviceEnv(unitFile, out);
  for (const e of new Set([process.env, env])) {
    try {
      checkTlsEnvironment(e);
    } catch (err) {
      const where = e === process.env ? 'this shell' : 'the service (its unit or environment file)';
      out.push({ check: 'tls', severity: 'fail', detail: `${where}: ${toPinauthError(err).message}`, fix: 'unset NODE_TLS_REJECT_UNAUTHORIZED' });
    }
  }
  let cfg: Config;
  try {
    cfg = await loadConfig({ file: opts.configFile, env: process.env, requireSecrets: false });
    out.push({ check: 'config', severity: 'ok', detail: `${cfg.file ?? 'built-in defaults'}: provider ${cfg.provider.name}, display ${cfg.display.driver} on ${cfg.display.port}` });
  } catch (e) {
    out.push({ check: 'config', severity: 'fail', detail: toPinauthError(e).message, fix: 'correct the config file (every problem is listed as path: message)' });
    return out;
  }
  const src = cfg.credentials.source;
  out.push(
    cfg.credentials.consumerKey && cfg.credentials.consumerSecret
      ? { check: 'credentials', severity: 'ok', detail: `consumer key from ${src.consumerKey}, secret from ${src.consumerSecret}` }
      : { check: 'credentials', severity: 'fail', detail: 'consumer key or secret missing', fix: 'put them in /etc/pinauthd/consumer_key and consumer_secret (LoadCredential) or PINAUTHD_CONSUMER_KEY/SECRET' },
  );
  const live = await askDaemon(controlSocketPath(cfg.store.path), 'status', 2000);
  out.push(live?.ok ? { check: 'daemon', severity: 'info', detail: `running: ${(live.result as { state: string }).state}` } : { check: 'daemon', severity: 'info', detail: 'not running (or its control socket is not reachable by this user)' });
  await checkSerialPath('display', cfg.display.port, !!live?.ok, out);
  if (cfg.keypad.port && cfg.keypad.driver === 'evdev') await checkInputPath(cfg.keypad.port, out);
  else if (cfg.keypad.port) await checkSerialPath('keypad', cfg.keypad.port, !!live?.ok, out);
  const listed = await listSerialPorts();
  out.push(
    listed === null
      ? { check: 'serial ports', severity: 'info', detail: 'cannot list serial ports here (udevadm missing)' }
      : { check: 'serial ports', severity: 'info', detail: listed.length ? listed.map((p) => `${p.path}${p.manufacturer ? ` (${p.manufacturer})` : ''}`).join(', ') : 'none found' },
  );
  await checkProvider(cfg, env, out);
  await checkStore(cfg, out);
  const api = await apiSocketReport(cfg);
  if (api) {
    out.push({
      check: 'api socket',
      severity: api.usable ? 'ok' : api.access === 'denied' ? 'warn' : 'info',
      detail: api.detail,
      ...(api.access === 'denied' ? { fix: 'sudo usermod -aG pinauthd-api $USER, then log in again' } : {}),
    });
  }
  return out;
}

export async function doctor(opts: CommonOptions): Promise<number> {
  const findings = await runChecks(opts);
  if (opts.json) printJson(findings);
  else {
    const tag: Record<Severity, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', info: 'info' };
    for (const f of findings) {
      printLine(`${tag[f.severity]}  ${f.check}: ${f.detail}`);
      if (f.fix) printLine(`      fix: ${f.fix}`);
    }
  }
  return findings.some((f) => f.severity === 'fail') ? 1 : 0;
}
