/**
 * A byte pipe to a device: a serial port, a TCP serial bridge, or stdio. Only
 * src/transport/ knows which; the device layer above it sees bytes in and bytes out.
 */
import type { EventEmitter } from 'node:events';

export interface TransportEvents {
  /** Bytes from the device. */
  data: [Buffer];
  /** The pipe is open (also after a reopen). */
  open: [];
  /**
   * The pipe went away. `error` is null for a close we asked for, and carries
   * `disconnected: true` for an unplug, a dropped TCP link or a vanished device path.
   */
  close: [error: (Error & { disconnected?: boolean }) | null];
  /**
   * No byte will come any more, for good, while writes still go out: stdin at its end
   * (Ctrl-D, a closed pipe) with stdout still there. Only the console's stdio has it.
   */
  ended: [];
}

export interface Transport extends EventEmitter<TransportEvents> {
  /** For logs and messages, e.g. `/dev/ttyUSB0 @ 9600` or `tcp://127.0.0.1:4001`. */
  readonly description: string;
  readonly isOpen: boolean;
  /**
   * Set by open() when the input cannot give a byte ever (the console's stdin at /dev/null or
   * an empty file): known at once, not after a first read, so that nothing is asked of the
   * provider for nobody. `ended` may still follow.
   */
  readonly endedAtOpen?: boolean;
  /** Open once; rejects with a PinauthError (DEVICE_NOT_FOUND / DEVICE_PERMISSION / DEVICE_BUSY). */
  open(): Promise<void>;
  /** Resolves when the bytes are handed to the OS (drained). Rejects when closed. */
  write(data: Buffer | string): Promise<void>;
  /** Idempotent; resolves when closed. */
  close(): Promise<void>;
}
