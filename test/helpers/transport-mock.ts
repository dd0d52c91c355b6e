/** Test seams for transports: a MockBinding that remembers the ports it opened. */
import { MockBinding, type MockPortBinding } from '@serialport/binding-mock';

export { MockBinding };

export interface TrackingBinding {
  binding: unknown;
  ports: MockPortBinding[];
  /** open() calls, failed ones included. */
  attempts(): number;
  last(): MockPortBinding;
}

export function trackingBinding(): TrackingBinding {
  const ports: MockPortBinding[] = [];
  let attempts = 0;
  const binding = {
    list: () => MockBinding.list(),
    open: async (options: Parameters<typeof MockBinding.open>[0]) => {
      attempts++;
      const port = await MockBinding.open(options);
      ports.push(port);
      return port;
    },
  };
  return {
    binding,
    ports,
    attempts: () => attempts,
    last: () => {
      const p = ports.at(-1);
      if (!p) throw new Error('no port opened yet');
      return p;
    },
  };
}

/** Simulate an unplug the way serialport's own tests do: the next read fails. */
export function unplug(port: MockPortBinding): void {
  port.read = async () => {
    throw Object.assign(new Error('device reports readiness to read but returned no data'), { code: 'EIO' });
  };
  // Wake the pending read so the failing read runs now.
  port.emitData(Buffer.alloc(0));
}

/** Wait (without timers) until `cond` holds; fails after `max` event-loop turns. */
export async function until(cond: () => boolean, what = 'condition', max = 20_000): Promise<void> {
  for (let i = 0; i < max; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export const SERIAL_9600 = { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1, flowControl: 'none' } as const;
