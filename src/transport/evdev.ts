/**
 * A Linux input event device (/dev/input/by-id/...-event-kbd) as a read-only Transport: the
 * raw `struct input_event` bytes come out as 'data' (src/device/keypad/evdev.ts decodes them).
 *
 * It takes the device exclusively with the EVIOCGRAB ioctl, so the digits typed for a PIN do
 * not also reach a console login on the board. Node has no ioctl(): it is libc's, called
 * through koffi (an FFI whose npm package ships prebuilt N-API binaries for linux x64, arm64
 * and armhf, so nothing is compiled on the Pi; docs/hardware.md says why this one).
 *
 * Reads are plain fs reads on the file descriptor, one at a time (a blocked read holds one
 * libuv thread-pool thread while the keypad is idle). An unplug ends a pending read with
 * ENODEV, and the by-id link disappears (watched like a serial port's). close() revokes the
 * device (EVIOCREVOKE), which wakes the pending read, and closes the descriptor without
 * waiting for that read, so stopping never waits for a key press.
 *
 * A named pipe (FIFO) may stand in for the device (the simulator's USB numpad, a program
 * that types for a person; keypad.grab false): it is read as a stream, and its writer
 * closing it is an unplug.
 */
import { EventEmitter } from 'node:events';
import { close as closeFd, existsSync, fstat, open as openFd, read as readFd } from 'node:fs';
import { Socket } from 'node:net';
import type { Logger } from 'pino';
import { PinauthError } from '../errors.js';
import { disconnectedError } from './errors.js';
import { identityOfFd, watchForVanish } from './path-watch.js';
import type { Transport, TransportEvents } from './types.js';

/** _IOW('E', 0x90, int) and _IOW('E', 0x91, int) from linux/input.h (the generic _IOC layout: x86, arm, arm64, riscv). */
export const EVIOCGRAB = 0x40044590;
export const EVIOCREVOKE = 0x40044591;

/** ioctl(fd, request, int) -> 0, or an errno. */
export type IntIoctl = (fd: number, request: number, arg: number) => number;

export interface EvdevTransportOptions {
  path: string;
  logger: Logger;
  /** Take the device exclusively (EVIOCGRAB); a device that refuses is not used. */
  grab: boolean;
  /** The ioctl; default libc's through koffi, loaded on first use. */
  ioctl?: IntIoctl;
  /** Watch the path for disappearance. Default: true when it exists at open. */
  watchPath?: boolean;
  /** Bytes per read (a multiple of both event sizes). */
  readSize?: number;
}

let libcIoctl: IntIoctl | null = null;

/** libc's ioctl with one int argument, through koffi. */
export async function systemIoctl(): Promise<IntIoctl> {
  if (libcIoctl) return libcIoctl;
  const { default: koffi } = await import('koffi');
  const ioctl = koffi.load('libc.so.6').func('int ioctl(int fd, unsigned long request, ...)');
  libcIoctl = (fd, request, arg) => (ioctl(fd, request, 'int', arg) === 0 ? 0 : koffi.errno());
  return libcIoctl;
}

export class EvdevTransport extends EventEmitter<TransportEvents> implements Transport {
  readonly description: string;
  readonly #opts: EvdevTransportOptions;
  #fd: number | null = null;
  #ioctl: IntIoctl | null = null;
  #closing = false;
  #closed: Promise<void> | null = null;
  #finish: ((err: (Error & { disconnected?: boolean }) | null) => void) | null = null;

  constructor(opts: EvdevTransportOptions) {
    super();
    this.#opts = opts;
    this.description = `${opts.path} (input events)`;
  }

  get isOpen(): boolean {
    return this.#fd !== null;
  }

  async open(): Promise<void> {
    if (this.#fd !== null) throw new PinauthError('INTERNAL', `${this.description} is already open`);
    const path = this.#opts.path;
    let fd: number;
    try {
      fd = await new Promise<number>((resolve, reject) => openFd(path, 'r', (err, fd) => (err ? reject(err) : resolve(fd))));
    } catch (err) {
      throw inputOpenError(path, err);
    }
    const isFifo = await new Promise<boolean>((resolve) => fstat(fd, (err, st) => resolve(!err && st.isFIFO())));
    if (isFifo && this.#opts.grab) {
      closeFd(fd, () => {});
      throw grabError(path, 25);
    }
    if (!isFifo) {
      // Also without a grab: close() needs EVIOCREVOKE to wake a pending read.
      try {
        this.#ioctl = this.#opts.ioctl ?? (await systemIoctl());
      } catch (err) {
        closeFd(fd, () => {});
        throw new PinauthError('DEVICE_PROTOCOL', `cannot load koffi for the input device ioctls: ${(err as Error).message}`, { cause: err });
      }
      const errno = this.#opts.grab ? this.#ioctl(fd, EVIOCGRAB, 1) : 0;
      if (errno !== 0) {
        closeFd(fd, () => {});
        throw grabError(path, errno);
      }
    }
    this.#fd = fd;
    this.#closing = false;
    let resolveClosed!: () => void;
    this.#closed = new Promise((r) => (resolveClosed = r));
    let stopWatching = (): void => {};
    let finished = false;
    let pipe: Socket | null = null;
    const finish = (err: (Error & { disconnected?: boolean }) | null): void => {
      if (finished) return;
      finished = true;
      stopWatching();
      this.#fd = null;
      this.#finish = null;
      if (pipe) {
        pipe.destroy();
        resolveClosed();
      } else {
        // Wake a pending read and let go of the grab (the kernel drops it at close too).
        this.#ioctl?.(fd, EVIOCREVOKE, 0);
        closeFd(fd, () => resolveClosed());
      }
      this.emit('close', err);
    };
    this.#finish = finish;
    if (this.#opts.watchPath ?? existsSync(path)) {
      stopWatching = watchForVanish(path, this.#opts.logger, () => finish(disconnectedError(this.description, new Error(`${path} vanished`))), identityOfFd(fd) ?? undefined);
    }
    this.#opts.logger.debug({ port: this.description, grabbed: this.#opts.grab }, 'input device open');
    this.emit('open');
    if (isFifo) {
      pipe = new Socket({ fd, readable: true, writable: false });
      pipe.on('data', (chunk: Buffer) => this.emit('data', chunk));
      pipe.on('error', () => {});
      pipe.on('close', () => finish(this.#closing ? null : disconnectedError(this.description, new Error('end of input'))));
    } else this.#read(fd, Buffer.alloc(this.#opts.readSize ?? 24 * 16));
  }

  #read(fd: number, buf: Buffer): void {
    readFd(fd, buf, 0, buf.length, null, (err, n) => {
      if (this.#fd !== fd) return; // closed meanwhile: whatever this read brought is not ours
      // ENODEV: unplugged (0 bytes: never from an event device; taken as the same).
      if (err || n === 0) {
        this.#finish?.(this.#closing ? null : disconnectedError(this.description, err ?? new Error('end of input')));
        return;
      }
      this.emit('data', Buffer.from(buf.subarray(0, n)));
      this.#read(fd, buf);
    });
  }

  write(): Promise<void> {
    return Promise.reject(new PinauthError('INTERNAL', `${this.description} is an input device: nothing can be written to it`));
  }

  async close(): Promise<void> {
    if (this.#fd === null) return;
    this.#closing = true;
    this.#finish?.(null);
    await this.#closed;
  }
}

function inputOpenError(path: string, err: unknown): PinauthError {
  const code = (err as { code?: unknown } | null)?.code;
  const detail = err instanceof Error ? err.message : String(err);
  if (code === 'EACCES' || code === 'EPERM') {
    return new PinauthError(
      'DEVICE_PERMISSION',
      `no permission to read ${path} (${detail}): input devices are group input; add the service user to it ` +
        '(the unit has SupplementaryGroups=input and DeviceAllow=char-input r) or install systemd/99-pinauthd.rules',
      { cause: err },
    );
  }
  if (code === 'ENOENT' || code === 'ENODEV' || code === 'ENXIO') {
    return new PinauthError(
      'DEVICE_NOT_FOUND',
      `keypad ${path} not found (${detail}): is it plugged in? ls /dev/input/by-id/ lists keyboards as ...-event-kbd`,
      { cause: err },
    );
  }
  return new PinauthError('DEVICE_NOT_FOUND', `cannot open keypad ${path}: ${detail}`, { cause: err });
}

function grabError(path: string, errno: number): PinauthError {
  if (errno === 16) {
    return new PinauthError(
      'DEVICE_BUSY',
      `${path} is grabbed by another program (EBUSY): stop it (another pinauthd, evtest --grab, a kiosk program)`,
    );
  }
  if (errno === 25) {
    return new PinauthError(
      'DEVICE_PROTOCOL',
      `${path} is not an input event device (ENOTTY from EVIOCGRAB): point keypad.port at /dev/input/by-id/...-event-kbd`,
    );
  }
  return new PinauthError('DEVICE_PROTOCOL', `cannot take ${path} exclusively (EVIOCGRAB failed, errno ${errno})`);
}
