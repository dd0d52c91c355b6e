/**
 * What the display shows in each state. Views are semantic (title, lines, url, pin,
 * countdown); the display drivers lay them out for a 16x2, a 20x4 or a graphic display.
 * Titles and notice lines stay within 16 characters so they fit the smallest LCD without
 * truncation (test/unit/lifecycle-screens.test.ts checks every one on 16x2 and 20x4).
 */
import type { View } from '../device/types.js';
import { errnoOf, type PinauthError } from '../errors.js';
import type { State } from './machine.js';

type AwaitingPin = Extract<State, { name: 'awaiting_pin' }>;

/** Shown whenever the URL changes under the person: wraps to two rows on a 16x2 and a 20x4. */
export const NEW_CODE = 'New code: open the link again';

/** What the person typed instead of a PIN (the keypad's 'invalid' event). */
export type PinMistake = 'length' | 'not_digits';

/** The notice for an entry that cannot be a PIN, at most two rows of 16 characters. */
export function pinMistakeLines(mistake: PinMistake, digits: number): string[] {
  return mistake === 'not_digits' ? ['Digits only', 'type the PIN'] : [`PIN: ${digits} digits`, 'type it again'];
}

/**
 * Why the URL screen is shown again and what to do, the last line being what to do (a small
 * display that has no room for all shows the last ones): a new URL says so (the page on the
 * phone is useless now), a wrong PIN says how many tries are left, and the PIN typed before a
 * lost reply is typed again. Each line but the new-code one fits 16 columns.
 */
export function noticeLines(state: AwaitingPin): string[] {
  if (state.newCode) return [state.notice?.short[0] ?? 'Code expired', NEW_CODE];
  const e = state.notice;
  if (!e) return [];
  switch (e.code) {
    case 'OAUTH_WRONG_PIN':
      return ['Wrong PIN', `${state.triesLeft} ${state.triesLeft === 1 ? 'try' : 'tries'} left`];
    case 'OAUTH_NETWORK':
      return ['Network error', 'type PIN again'];
    case 'OAUTH_RATE_LIMITED':
      return ['Rate limited', 'type PIN again'];
    default:
      return errorLines(e);
  }
}

/** The disk's own reason, when a store write failed with one a person can act on. */
const STORAGE_LINES: Record<string, readonly string[]> = {
  ENOSPC: ['Storage full', 'free disk space'],
  EDQUOT: ['Storage full', 'free disk space'],
  EROFS: ['Disk read-only', 'check the disk'],
  EIO: ['Disk error', 'check the disk'],
};

function errorLines(e: PinauthError | undefined): string[] {
  if (!e) return [];
  const errno = errnoOf(e);
  const storage = e.code.startsWith('STORE_') && errno ? STORAGE_LINES[errno] : undefined;
  return [...(storage ?? e.short)];
}

export function viewFor(state: State, opts: { pinDigits: number; entered: string }): View {
  switch (state.name) {
    case 'starting':
      return { state: state.name, title: 'Starting...', lines: [] };
    case 'no_store': {
      const [title, advice] = errorLines(state.error);
      return {
        state: state.name,
        title: title ?? 'Storage error',
        lines: ['Cannot open store', ...(advice ? [advice] : [])],
        countdown: { until: state.retryAt, label: 'retry in' },
        tone: 'error',
      };
    }
    case 'verifying':
      return { state: state.name, title: 'Checking access', lines: [`@${state.account.screenName}`] };
    case 'authorized':
      return {
        state: state.name,
        title: 'Authorized as',
        lines: [`@${state.account.screenName}`, ...(state.note ? [state.note] : [])],
        tone: 'ok',
      };
    case 'confirm_reauth':
      return { state: state.name, title: 'Re-authorize?', lines: ['#=yes *=no'] };
    case 'requesting': {
      const why = typeof state.reason === 'object' ? errorLines(state.reason) : state.reason === 'expired' ? ['Code expired'] : [];
      return {
        state: state.name,
        title: 'Getting a code',
        lines: why,
        ...(typeof state.reason === 'object' ? { tone: 'error' as const } : {}),
      };
    }
    case 'awaiting_pin': {
      // The notice rides in `lines`: the layout gives it rows of its own, never the page indicator.
      const notice = noticeLines(state);
      return {
        state: state.name,
        title: 'Open link:',
        lines: notice,
        url: state.pending.authorizeUrl,
        pin: { entered: opts.entered, digits: opts.pinDigits },
        countdown: { until: state.expiresAt, label: 'expires' },
        ...(notice.length > 0 ? { tone: 'error' as const } : {}),
      };
    }
    case 'exchanging':
      return { state: state.name, title: 'Checking PIN...', lines: [] };
    case 'saving': {
      if (!state.failure) return { state: state.name, title: 'Checking PIN...', lines: [] };
      // The PIN worked: what the person must know is that the token is safe for now.
      const [title, advice] = errorLines(state.failure.error);
      return {
        state: state.name,
        title: title ?? 'Storage error',
        lines: ['Token kept in RAM', ...(advice ? [advice] : [])],
        countdown: { until: state.failure.retryAt, label: 'retry in' },
        tone: 'error',
      };
    }
    case 'waiting':
      if (state.offline) return { state: state.name, title: 'No network yet', lines: [], countdown: { until: state.until, label: 'retry in' } };
      return {
        state: state.name,
        title: state.error.short[0] ?? 'Error',
        lines: state.error.short.slice(1),
        countdown: { until: state.until, label: 'retry in' },
        tone: 'error',
      };
    case 'quiet':
      return { state: state.name, title: 'Press #', lines: ['for a new code'] };
    case 'stopped':
      // Stopped by a failure: its reason stays on the display after the exit.
      if (state.error) return { state: state.name, title: state.error.short[0] ?? 'pinauthd stopped', lines: state.error.short.slice(1), tone: 'error' };
      return { state: state.name, title: 'pinauthd stopped', lines: [] };
  }
}
