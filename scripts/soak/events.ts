/**
 * The soak's events: each one does what happens to a board in the field (or what its
 * operator does), through the same doors: the simulated pinpad's keys and its socat PTY,
 * the local provider's fault switches and clock, SIGHUP and the config file, the control
 * socket and the CLI. Each returns once the daemon has settled again (its log says so), and
 * names the action it took (the figures are per action).
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import type { SimDevice } from '../../firmware-sim/device.js';
import type { PtySim } from '../../firmware-sim/pty.js';
import type { LocalProvider } from '../../local-provider/provider.js';
import type { SoakDaemon } from './daemon.js';
import { unitCommand } from './unit.js';

export const EVENT_KINDS = ['verify', 'expiry', 'unplug', 'outage', 'skew', 'reload', 'command', 'reauth'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export interface SoakWorld {
  daemon: SoakDaemon;
  provider: LocalProvider;
  sim: SimDevice;
  link: PtySim;
  configPath: string;
  /** Where the loader keeps its code cache (the unit's CacheDirectory=). */
  cacheDir: string;
  /** The config file's content; reload events write variants of it. */
  config: Record<string, any>;
  random: () => number;
}

/** States the daemon rests in between events. */
const SETTLED = new Set(['authorized', 'awaiting_pin']);

/** Until the daemon rests in a settled state (it may be retrying, exchanging, ...). */
async function settled(w: SoakWorld): Promise<string> {
  while (!SETTLED.has(w.daemon.state)) {
    await w.daemon.waitForLog((l) => typeof l.msg === 'string' && SETTLED.has(l.msg.slice(6)) && l.msg.startsWith('state '), 'a settled state', 30_000);
  }
  return w.daemon.state;
}

function keys(w: SoakWorld, sequence: string): void {
  for (const k of sequence) w.sim.pressKey(k);
}

/** The request token on the screen, from the daemon's status. */
async function pendingToken(w: SoakWorld): Promise<string | null> {
  const st = await w.daemon.status();
  const url = st.state === 'awaiting_pin' ? st.pending?.authorizeUrl : undefined;
  return url ? new URL(url).searchParams.get('oauth_token') : null;
}

/** The person: approve on the provider's page, type the PIN. Resolves when authorized. */
async function authorize(w: SoakWorld): Promise<void> {
  const token = await pendingToken(w);
  let pin: string;
  try {
    if (!token) throw new Error('no pending request token');
    pin = w.provider.approve(token);
  } catch {
    // The code expired between status and approve: ask the keypad for a fresh one.
    const fresh = w.daemon.waitForState('awaiting_pin', 'requested');
    keys(w, '00#');
    await fresh;
    return;
  }
  const done = w.daemon.waitForLog((l) => l.msg === 'state authorized' || l.msg === 'state awaiting_pin', 'the exchange to finish');
  w.sim.typePin(pin, { submit: false }); // autoSubmit: the last digit sends it
  await done;
}

async function ensureAuthorized(w: SoakWorld): Promise<void> {
  for (let i = 0; i < 10; i++) {
    if ((await settled(w)) === 'authorized') return;
    await authorize(w);
  }
  throw new Error(`could not get the daemon authorized\n${w.daemon.tail()}`);
}

/** Authorized, a verification just done: the same moment of the daemon's cycle every time (nothing in flight). */
export async function quietMoment(w: SoakWorld): Promise<void> {
  await ensureAuthorized(w);
  await w.daemon.waitForState('authorized', 'verified');
  await w.daemon.settledStatus(); // its store write done
}

async function ensureAwaitingPin(w: SoakWorld): Promise<void> {
  if ((await settled(w)) === 'awaiting_pin') return;
  await reauthOverSocket(w);
}

/**
 * `pinauthd reauth` until the daemon takes it: one that lands while the daemon verifies (a
 * verification runs every second) is ignored, and the state in the answer says so.
 */
async function reauthOverSocket(w: SoakWorld): Promise<void> {
  const shown = w.daemon.waitForState('awaiting_pin', 'requested');
  for (;;) {
    const r = await w.daemon.ask('reauth');
    if (!r?.ok) throw new Error(`reauth over the control socket failed: ${JSON.stringify(r)}`);
    const state = (r.result as { state: string }).state;
    if (state !== 'authorized' && state !== 'verifying') break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await shown;
}

/** Requests the local provider has answered so far. */
export function providerCalls(p: LocalProvider): number {
  return Object.values(p.stats()).reduce((a, s) => a + s.requests, 0);
}

/** The shortest request-token lifetime the config takes (provider.requestTokenTtlSec). */
export const SHORT_TTL_SEC = 10;

/**
 * A board waiting for a PIN with nobody there, once after the rounds (its codes cannot be
 * compressed without a reload, and every later event would meet a board that went quiet):
 * codes that live SHORT_TTL_SEC (set by a reload), a fresh one asked for on the keypad, then
 * nobody: they expire unused until the daemon goes quiet (after `quietAfter` of them, the
 * default daemon.quietAfterUnusedCodes); then a code's lifetime more of quiet, in which nothing may reach the provider.
 */
export async function prepareUnattended(w: SoakWorld, quietAfter: number): Promise<Preparation> {
  await settled(w);
  w.config.provider.requestTokenTtlSec = SHORT_TTL_SEC;
  await writeFile(w.configPath, JSON.stringify(w.config));
  const reloaded = w.daemon.waitForLog((l) => l.msg === 'config reloaded', 'the reload');
  w.daemon.hup();
  await reloaded;
  await ensureAwaitingPin(w);
  return {
    run: async () => {
      const quiet = w.daemon.waitForState('quiet', undefined, (quietAfter + 2) * SHORT_TTL_SEC * 1000);
      keys(w, '00#');
      await quiet;
      const calls = providerCalls(w.provider);
      // What is measured is this window, not a wait for something to happen.
      await new Promise((r) => setTimeout(r, (SHORT_TTL_SEC + 2) * 1000));
      if (w.daemon.state !== 'quiet' || providerCalls(w.provider) !== calls) {
        throw new Error(`quiet did not hold for a code's lifetime: state ${w.daemon.state}, ${providerCalls(w.provider) - calls} provider calls\n${w.daemon.tail()}`);
      }
      return 'unattended';
    },
  };
}

export interface Preparation {
  /** Runs the event proper; resolves with the action's name once the daemon has settled. */
  run: () => Promise<string>;
}

/** Bring the daemon to where the event can happen (not measured), then hand back the event. */
export async function prepare(kind: EventKind, w: SoakWorld): Promise<Preparation> {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(w.random() * xs.length)]!;
  switch (kind) {
    case 'verify':
      // The verification timer (daemon.verifyIntervalSec: 1) fires; the token is checked and
      // the time of the check stored.
      await ensureAuthorized(w);
      return {
        run: async () => {
          await w.daemon.waitForState('authorized', 'verified');
          return 'verify';
        },
      };

    case 'expiry': {
      // The request token dies before a PIN comes: at the provider (the PIN is refused, the
      // daemon fetches a fresh code), or the person asks the keypad for a fresh one.
      await ensureAwaitingPin(w);
      const how = pick(['provider', 'keypad'] as const);
      return {
        run: async () => {
          const fresh = w.daemon.waitForState('awaiting_pin', 'requested');
          if (how === 'provider') {
            w.provider.faults.expireRequestTokens();
            w.sim.typePin('1234567', { submit: false });
          } else keys(w, '00#');
          await fresh;
          return `expiry:${how}`;
        },
      };
    }

    case 'unplug': {
      // The USB cable out (socat killed: reads fail, the device path disappears) and back in
      // after a while; the device power-cycles and the daemon redraws.
      await settled(w);
      const outFor = Math.floor(w.random() * 100);
      return {
        run: async () => {
          const gone = w.daemon.waitForLog((l) => l.msg === 'device unavailable; retrying', 'the unplug to be noticed');
          await w.link.unplug();
          await gone;
          await new Promise((r) => setTimeout(r, outFor));
          const back = w.daemon.waitForLog((l) => l.msg === 'device reconnected', 'the device to reconnect');
          await w.link.replug();
          await back;
          return 'unplug';
        },
      };
    }

    case 'outage': {
      // The provider down (5xx) or unreachable (connections reset) while the daemon needs it,
      // then back: a verification that fails and is retried with backoff, or a request for a
      // code that waits and retries.
      const state = await settled(w);
      const how = pick(['5xx', 'reset'] as const);
      return {
        run: async () => {
          const failed = state === 'authorized' ? w.daemon.waitForState('authorized', 'verify_failed') : w.daemon.waitForState('waiting', 'request_failed');
          if (how === '5xx') w.provider.faults.fail5xx = { count: 1_000_000, status: 503 };
          else w.provider.faults.drop = { count: 1_000_000, when: 'before' };
          if (state === 'awaiting_pin') keys(w, '00#');
          await failed;
          const recovered = state === 'authorized' ? w.daemon.waitForState('authorized', 'verified') : w.daemon.waitForState('awaiting_pin', 'requested');
          w.provider.faults.fail5xx = null;
          w.provider.faults.drop = null;
          await recovered;
          return `outage:${how}:${state === 'authorized' ? 'verify' : 'request'}`;
        },
      };
    }

    case 'skew': {
      // The board's clock and the provider's drift apart by more than the provider accepts
      // (an RTC-less board booting without NTP, or NTP stepping the clock): the provider
      // refuses the timestamp, the daemon corrects its offset from the Date header and retries,
      // on the next call: the verification (authorized) or a fresh code (waiting for a PIN).
      const state = await settled(w);
      // The other side of zero, at least 400 s out (the provider accepts 300 s): away from the
      // provider's current clock, which is the offset the daemon learnt last (a reload keeps it).
      const current = w.provider.faults.clockSkewSec;
      const next = (current > 0 ? -1 : current < 0 ? 1 : w.random() < 0.5 ? -1 : 1) * (400 + Math.floor(w.random() * 7200));
      return {
        run: async () => {
          const corrected = w.daemon.waitForLog((l) => l.msg === 'clock skew corrected', 'the clock skew to be corrected');
          const done = state === 'authorized' ? w.daemon.waitForState('authorized', 'verified') : w.daemon.waitForState('awaiting_pin', 'requested');
          w.provider.faults.clockSkewSec = next;
          if (state === 'awaiting_pin') keys(w, '00#');
          await corrected;
          await done;
          return `skew:${state === 'authorized' ? 'verify' : 'request'}`;
        },
      };
    }

    case 'reload': {
      // `systemctl reload pinauthd` after an edit: a changed setting, or (one time in eight)
      // a broken file, which is refused while the old config stays.
      await settled(w);
      const broken = w.random() < 1 / 8;
      const timeoutMs = w.config.provider.timeoutMs === 2000 ? 2500 : 2000;
      return {
        run: async () => {
          const text = broken ? JSON.stringify({ ...w.config, daemon: { ...w.config.daemon, verifyIntervalSec: 0 } }) : JSON.stringify({ ...w.config, provider: { ...w.config.provider, timeoutMs } });
          await writeFile(w.configPath, text);
          const answered = w.daemon.waitForLog((l) => l.msg === 'config reloaded' || (typeof l.msg === 'string' && l.msg.startsWith('config reload failed')), 'the reload');
          w.daemon.hup();
          const line = await answered;
          if (broken !== (line.msg !== 'config reloaded')) throw new Error(`reload: expected ${broken ? 'a refusal' : 'success'}, got "${line.msg}"`);
          if (broken) await writeFile(w.configPath, JSON.stringify(w.config));
          else w.config.provider.timeoutMs = timeoutMs;
          return `reload:${broken ? 'refused' : 'changed'}`;
        },
      };
    }

    case 'command': {
      // The operator: `pinauthd status` (mostly over the control socket directly, sometimes
      // the real CLI), `pinauthd logout`, `pinauthd reauth`.
      const state = await settled(w);
      const r = w.random();
      const what = r < 0.7 ? 'status' : r < 0.8 ? 'cli-status' : r < 0.9 || state !== 'authorized' ? 'logout' : 'reauth';
      // A logout with a token stored, and a reauth, start the PIN flow; a logout without one does nothing.
      const newCode = what === 'reauth' || (what === 'logout' && (await w.daemon.status()).account !== null);
      return {
        run: async () => {
          if (what === 'cli-status') {
            await cliStatus();
            return 'command:cli-status';
          }
          if (what === 'reauth') {
            await reauthOverSocket(w);
            return 'command:reauth';
          }
          const next = newCode ? w.daemon.waitForState('awaiting_pin', 'requested') : null;
          const answer = await w.daemon.ask(what);
          if (!answer?.ok) throw new Error(`${what} over the control socket failed: ${JSON.stringify(answer)}`);
          await next;
          return `command:${what}`;
        },
      };
    }

    case 'reauth': {
      // Re-authorization from the keypad (0000#, then # to confirm) or `pinauthd reauth`:
      // a new code, the person approves, types the PIN; the new token is stored and verified.
      await ensureAuthorized(w);
      const how = pick(['keypad', 'socket'] as const);
      return {
        run: async () => {
          if (how === 'keypad') {
            // Keys typed while the daemon verifies are not taken (the keypad is idle then):
            // type right after a verification, a second before the next.
            await w.daemon.waitForState('authorized', 'verified');
            const asked = w.daemon.waitForState('confirm_reauth');
            keys(w, '0000#');
            await asked;
            const shown = w.daemon.waitForState('awaiting_pin', 'requested');
            keys(w, '#');
            await shown;
          } else await reauthOverSocket(w);
          await authorize(w);
          await ensureAuthorized(w);
          return `reauth:${how}`;
        },
      };
    }
  }

  async function cliStatus(): Promise<void> {
    const unit = unitCommand();
    const child = spawn(process.execPath, [...unit.nodeFlags, unit.script, 'status', '--json', '--config', w.configPath], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...unit.env, CACHE_DIRECTORY: w.cacheDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.resume();
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const running = code === 0 && (JSON.parse(out) as { running?: boolean }).running;
    if (!running) throw new Error(`pinauthd status --json: exit ${code}, ${out.slice(0, 500)}`);
  }
}
