/**
 * The simulator on a real pseudo-terminal, so the daemon opens a tty path through
 * serialport exactly as it would open /dev/ttyUSB0. socat owns the PTY and relays it to the
 * simulator over its stdin/stdout pipes (`socat pty,link=HOST STDIO`); killing socat is a
 * real unplug (the host's reads fail and its path disappears).
 *
 * The simulator's end is a pair of plain pipes, not serialport and not a second PTY, so
 * the device side shares no code with the host's serial stack and has nothing of its own
 * to go wrong across hundreds of fast unplug/replug cycles.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** What the link needs of a device: bytes in, bytes out, and a power cycle (SimDevice, or an emulated board). */
export interface PtyDevice {
  feed(chunk: Buffer): void;
  on(event: 'output', listener: (chunk: Buffer) => void): unknown;
  off(event: 'output', listener: (chunk: Buffer) => void): unknown;
  reset(): void;
}

export interface PtySimOptions {
  device: PtyDevice;
  /** Where to put the link (created if missing, kept on close); a fresh temp dir (removed on close) by default. */
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
  readonly plugged: boolean;
  /** Kill socat: the host's port fails and hostPath disappears. */
  unplug(): Promise<void>;
  /** Start socat again with the same link and reattach the device. */
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
  if (!ownDir) await fs.promises.mkdir(dir, { recursive: true });
  const socatPath = options.socatPath ?? 'socat';
  const timeoutMs = options.startTimeoutMs ?? 5000;

  let socat: ChildProcess | null = null;
  let closed = false;

  const onOutput = (chunk: Buffer): void => {
    // Nothing listens while unplugged: the bytes are lost, as on a dead UART.
    const stdin = socat?.stdin;
    if (stdin && stdin.writable) stdin.write(chunk);
  };

  const detach = (proc: ChildProcess): void => {
    device.off('output', onOutput);
    proc.stdout?.removeAllListeners('data');
  };

  const plugIn = async (): Promise<void> => {
    const proc = await spawnSocat(socatPath, hostPath, timeoutMs);
    socat = proc;
    proc.once('exit', () => {
      if (socat !== proc) return;
      socat = null;
      detach(proc);
    });
    // EPIPE when socat goes away; the exit handler detaches.
    proc.stdin!.on('error', () => {});
    proc.stdout!.on('data', (chunk: Buffer) => device.feed(chunk));
    device.on('output', onOutput);
    try {
      await fs.promises.lstat(hostPath);
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
      detach(proc);
    }
    // socat removes its link on exit; make sure, so the path really disappears.
    await fs.promises.rm(hostPath, { force: true });
  };

  await plugIn();

  return {
    hostPath,
    get plugged() {
      return socat !== null;
    },
    unplug,
    async replug() {
      if (closed) throw new Error('PtySim is closed');
      if (socat) return;
      // Powered up before the port appears, as a USB device is: a reset after the host could
      // open the port would blank a frame the host had already sent (what it boots with and
      // says while no one listens is lost, as on a real UART; the host asks again on open).
      if (options.resetOnReplug ?? true) device.reset();
      await plugIn();
    },
    async close() {
      if (closed) return;
      closed = true;
      await unplug();
      if (ownDir) await fs.promises.rm(dir, { recursive: true, force: true });
    },
  };
}

/** Start `socat -d -d pty,... STDIO` and resolve once the PTY and its link exist. */
function spawnSocat(socatPath: string, hostPath: string, timeoutMs: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const proc = spawn(socatPath, ['-d', '-d', `pty,raw,echo=0,link=${hostPath}`, 'STDIO'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let log = '';
    let settled = false;
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error(`socat did not set up the PTY within ${timeoutMs} ms: ${lastLines(log)}`)), timeoutMs);
    proc.once('error', (err: NodeJS.ErrnoException) => {
      fail(err.code === 'ENOENT' ? new Error(SOCAT_MISSING_MESSAGE) : err);
    });
    proc.once('exit', (code, signal) => fail(new Error(`socat exited (${code ?? signal}) before the PTY was ready: ${lastLines(log)}`)));
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
