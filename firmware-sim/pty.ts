/**
 * The simulator on a real pseudo-terminal pair, so the daemon opens a tty path through
 * serialport exactly as it would open /dev/ttyUSB0. socat owns the pair; killing it is a
 * real unplug (the host's reads fail and its path disappears).
 *
 * The simulator's own end is opened with node:fs + tty streams, not serialport, so the
 * device side shares no code with the host's serial stack.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tty from 'node:tty';
import type { SimDevice } from './device.js';

export interface PtySimOptions {
  device: SimDevice;
  /** Where to put the two links (created if missing, kept on close); a fresh temp dir (removed on close) by default. */
  dir?: string;
  /** Power-cycle the device on replug (fresh HELLO, blank screen), as a USB-powered board does. Default true. */
  resetOnReplug?: boolean;
  /** How long to wait for socat to set up the pair. Default 5000 ms. */
  startTimeoutMs?: number;
  socatPath?: string;
}

export interface PtySim {
  /** The link the daemon opens (like /dev/serial/by-id/...). */
  readonly hostPath: string;
  /** The simulator's own end. */
  readonly devicePath: string;
  readonly plugged: boolean;
  /** Kill socat: the host's port fails and hostPath disappears. */
  unplug(): Promise<void>;
  /** Start socat again with the same links and reattach the device. */
  replug(): Promise<void>;
  /** Unplug and clean up; safe to call twice. */
  close(): Promise<void>;
}

export const SOCAT_MISSING_MESSAGE =
  'socat is not installed; the PTY simulator needs it. Run scripts/ensure-socat.sh (or apt-get install socat).';

export async function startPtySim(options: PtySimOptions): Promise<PtySim> {
  const { device } = options;
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await fs.promises.mkdtemp(path.join(os.tmpdir(), 'pinpad-sim-')));
  const hostPath = path.join(dir, 'pinpad-host');
  const devicePath = path.join(dir, 'pinpad-device');
  if (!ownDir) await fs.promises.mkdir(dir, { recursive: true });
  const socatPath = options.socatPath ?? 'socat';
  const timeoutMs = options.startTimeoutMs ?? 5000;

  let socat: ChildProcess | null = null;
  let stream: tty.ReadStream | null = null;
  let closed = false;

  const onOutput = (chunk: Buffer): void => {
    // Nothing listens while unplugged: the bytes are lost, as on a dead UART.
    if (stream && !stream.destroyed) stream.write(chunk);
  };

  const detach = (): void => {
    device.off('output', onOutput);
    if (stream) {
      stream.removeAllListeners('data');
      stream.destroy();
      stream = null;
    }
  };

  const plugIn = async (): Promise<void> => {
    const proc = await spawnSocat(socatPath, devicePath, hostPath, timeoutMs);
    socat = proc;
    proc.once('exit', () => {
      if (socat !== proc) return;
      socat = null;
      detach();
    });
    try {
      await Promise.all([fs.promises.lstat(hostPath), fs.promises.lstat(devicePath)]);
      const fd = fs.openSync(devicePath, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
      const s = new tty.ReadStream(fd);
      s.on('data', (chunk: Buffer) => device.feed(chunk));
      // EIO when socat goes away; the exit handler detaches.
      s.on('error', () => {});
      stream = s;
      device.on('output', onOutput);
    } catch (err) {
      await unplug();
      throw err;
    }
  };

  const unplug = async (): Promise<void> => {
    const proc = socat;
    if (proc) {
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      await exited;
    }
    detach();
    // socat removes its links on exit; make sure, so the path really disappears.
    await Promise.all([hostPath, devicePath].map((p) => fs.promises.rm(p, { force: true })));
  };

  await plugIn();

  return {
    hostPath,
    devicePath,
    get plugged() {
      return socat !== null;
    },
    unplug,
    async replug() {
      if (closed) throw new Error('PtySim is closed');
      if (socat) return;
      await plugIn();
      if (options.resetOnReplug ?? true) device.reset();
    },
    async close() {
      if (closed) return;
      closed = true;
      await unplug();
      if (ownDir) await fs.promises.rm(dir, { recursive: true, force: true });
    },
  };
}

/** Start `socat -d -d pty,... pty,...` and resolve once both ends exist. */
function spawnSocat(socatPath: string, devicePath: string, hostPath: string, timeoutMs: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      socatPath,
      ['-d', '-d', `pty,raw,echo=0,link=${devicePath}`, `pty,raw,echo=0,link=${hostPath}`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    let settled = false;
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error(`socat did not set up the PTY pair within ${timeoutMs} ms: ${lastLines(log)}`)), timeoutMs);
    proc.once('error', (err: NodeJS.ErrnoException) => {
      fail(err.code === 'ENOENT' ? new Error(SOCAT_MISSING_MESSAGE) : err);
    });
    proc.once('exit', (code, signal) => fail(new Error(`socat exited (${code ?? signal}) before the PTY pair was ready: ${lastLines(log)}`)));
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (text: string) => {
      if (settled) return; // keep draining so socat never blocks on a full pipe
      log += text;
      if (log.includes('starting data transfer loop')) {
        settled = true;
        clearTimeout(timer);
        resolve(proc);
      }
    });
  });
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-2).join(' | ') || '(no output)';
}
