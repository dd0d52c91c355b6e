/**
 * Map OS / binding errors from opening a device to a PinauthError whose message says what
 * to check. The native binding reports strerror() text ("No such file or directory, cannot
 * open ..."), node:net reports err.code; both are handled.
 */
import { PinauthError } from '../errors.js';

type Kind = 'not-found' | 'permission' | 'busy' | 'other';

function classify(err: unknown): Kind {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  const msg = typeof e?.message === 'string' ? e.message : String(err);
  if (code === 'ENOENT' || code === 'ENODEV' || code === 'ENXIO' || /no such file|no such device|does not exist/i.test(msg)) return 'not-found';
  if (code === 'EACCES' || code === 'EPERM' || /permission denied|operation not permitted/i.test(msg)) return 'permission';
  if (code === 'EBUSY' || code === 'EAGAIN' || /resource busy|device or resource busy|cannot lock|is locked|temporarily unavailable/i.test(msg)) return 'busy';
  return 'other';
}

/** An error from opening a serial device path, with a checklist in the message. */
export function serialOpenError(path: string, err: unknown): PinauthError {
  const detail = err instanceof Error ? err.message : String(err);
  switch (classify(err)) {
    case 'not-found':
      return new PinauthError(
        'DEVICE_NOT_FOUND',
        `serial device ${path} not found (${detail}): is it plugged in, and is the path right? ` +
          'Prefer a stable name under /dev/serial/by-id/ (ls -l /dev/serial/by-id/).',
        { cause: err },
      );
    case 'permission':
      return new PinauthError(
        'DEVICE_PERMISSION',
        `no permission to open ${path} (${detail}): add the service user to the dialout group ` +
          '(sudo usermod -aG dialout USER, then log in again), or check DeviceAllow= in the unit.',
        { cause: err },
      );
    case 'busy':
      return new PinauthError(
        'DEVICE_BUSY',
        `${path} is busy (${detail}): another process holds it, such as ModemManager, a serial ` +
          'console (console=serial0 on a Pi) or a terminal program; find it with: fuser -v ' + path,
        { cause: err },
      );
    default:
      return new PinauthError('DEVICE_NOT_FOUND', `cannot open serial device ${path}: ${detail}`, { cause: err });
  }
}

/** An error from connecting to a TCP serial bridge. */
export function tcpConnectError(target: string, err: unknown): PinauthError {
  const code = (err as { code?: unknown } | null)?.code;
  const detail = err instanceof Error ? err.message : String(err);
  const hint =
    code === 'ECONNREFUSED'
      ? 'nothing listens there: is the bridge (ser2net, Wi-Fi module) running and the port right?'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'the host name does not resolve: check the name or use an IP address'
        : 'is the bridge powered and reachable on the network?';
  return new PinauthError('DEVICE_NOT_FOUND', `cannot connect to ${target} (${detail}): ${hint}`, { cause: err });
}

/** The error carried by a 'close' event that was not asked for. */
export function disconnectedError(what: string, cause?: unknown): Error & { disconnected: true } {
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  const err = new PinauthError('DEVICE_DISCONNECTED', `${what} disconnected${detail}`, cause === undefined ? {} : { cause });
  return Object.assign(err, { disconnected: true as const });
}
