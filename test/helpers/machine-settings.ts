/** The machine's settings at the shipped defaults, for tests of transition() (one copy for all of them). */
import type { MachineSettings } from '../../src/lifecycle/machine.js';

export const DEFAULT_MACHINE_SETTINGS: MachineSettings = Object.freeze({
  pinTries: 3,
  requestTokenTtlMs: 900_000,
  verifyIntervalMs: 86_400_000,
  verifyOnStart: true,
  backoff: { initialMs: 1000, maxMs: 300_000 },
  pinDigits: 7,
  once: false,
  attended: false,
  quietAfterUnusedCodes: 3,
  random: () => 0.5,
});
