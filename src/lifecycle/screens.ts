/**
 * What the display shows in each state. Views are semantic (title, lines, url, pin,
 * countdown); the display drivers lay them out for a 16x2, a 20x4 or a graphic display.
 * Titles stay within 16 characters so they fit the smallest LCD without truncation.
 */
import type { View } from '../device/types.js';
import type { PinauthError } from '../errors.js';
import type { State } from './machine.js';

function errorLines(e: PinauthError | undefined): string[] {
  return e ? [...e.short] : [];
}

export function viewFor(state: State, opts: { pinDigits: number; entered: string }): View {
  switch (state.name) {
    case 'starting':
      return { state: state.name, title: 'Starting...', lines: [] };
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
    case 'awaiting_pin':
      return {
        state: state.name,
        title: state.notice ? state.notice.short[0] ?? 'Open link:' : 'Open link:',
        lines: state.notice ? state.notice.short.slice(1) : [],
        url: state.pending.authorizeUrl,
        pin: { entered: opts.entered, digits: opts.pinDigits },
        countdown: { until: state.expiresAt, label: 'expires' },
        ...(state.notice ? { tone: 'error' as const } : {}),
      };
    case 'exchanging':
      return { state: state.name, title: 'Checking PIN...', lines: [] };
    case 'waiting':
      return {
        state: state.name,
        title: state.error.short[0] ?? 'Error',
        lines: state.error.short.slice(1),
        countdown: { until: state.until, label: 'retry in' },
        tone: 'error',
      };
    case 'stopped':
      return { state: state.name, title: 'pinauthd stopped', lines: [] };
  }
}
