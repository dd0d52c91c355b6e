/**
 * One error type for the whole daemon, with stable codes that tests, the display and the
 * exit status key on (never the message text). Every code has a short form that fits a
 * 16-column character LCD (at most 2 lines of 16) and a longer one for the log.
 *
 * Messages never contain secrets: callers pass what happened, never token values.
 */

export const ErrorCodes = {
  // configuration
  CONFIG_INVALID: { exit: 3, short: ['Config error', 'see the log'] },
  CONFIG_SECRET_MISSING: { exit: 3, short: ['No consumer key', 'see the log'] },
  // OAuth / provider
  OAUTH_BAD_CONSUMER: { exit: 4, short: ['App key rejected', 'check key+secret'] },
  OAUTH_CALLBACK_SETTINGS: { exit: 4, short: ['App settings:', 'set callback URL'] },
  OAUTH_REQUEST_TOKEN_INVALID: { exit: 4, short: ['Code expired', 'getting new one'] },
  OAUTH_WRONG_PIN: { exit: 4, short: ['Wrong PIN', 'please try again'] },
  OAUTH_TOKEN_REJECTED: { exit: 4, short: ['Access revoked', 'authorize again'] },
  OAUTH_TIMESTAMP: { exit: 4, short: ['Clock is wrong', 'check date/NTP'] },
  OAUTH_RATE_LIMITED: { exit: 4, short: ['Rate limited', 'waiting to retry'] },
  OAUTH_NETWORK: { exit: 4, short: ['Network error', 'retrying'] },
  OAUTH_TIMEOUT: { exit: 4, short: ['Provider timeout', 'retrying'] },
  OAUTH_PROVIDER_DOWN: { exit: 4, short: ['Provider error', 'retrying'] },
  OAUTH_MALFORMED_REPLY: { exit: 4, short: ['Bad reply from', 'provider'] },
  OAUTH_REPLY_LOST: { exit: 4, short: ['Reply was lost', 'new code needed'] },
  OAUTH_INSECURE: { exit: 3, short: ['Insecure setup', 'see the log'] },
  OAUTH_REJECTED: { exit: 4, short: ['Provider refused', 'see the log'] },
  // token store
  STORE_CORRUPT: { exit: 6, short: ['Store was reset', 'old file kept'] },
  STORE_IO: { exit: 6, short: ['Storage error', 'see the log'] },
  STORE_PERMISSIONS: { exit: 6, short: ['Store denied', 'see the log'] },
  STORE_LOCKED: { exit: 7, short: ['Already running', ''] },
  // serial device
  DEVICE_NOT_FOUND: { exit: 5, short: ['Device not found', 'check the cable'] },
  DEVICE_PERMISSION: { exit: 5, short: ['Device denied', 'add to dialout'] },
  DEVICE_BUSY: { exit: 5, short: ['Device busy', 'another program'] },
  DEVICE_DISCONNECTED: { exit: 5, short: ['Device unplugged', 'reconnecting'] },
  DEVICE_PROTOCOL: { exit: 5, short: ['Device error', 'see the log'] },
  // the operator's own permissions (EX_NOPERM): never "not running" or "no account"
  PERMISSION_DENIED: { exit: 77, short: ['No permission', 'see the log'] },
  // input
  PIN_FORMAT: { exit: 1, short: ['Digits only', 'type the PIN'] },
  /** The console's input ended (`login --console` with stdin closed): nobody can type a PIN. */
  INPUT_CLOSED: { exit: 1, short: ['Input closed', 'nothing stored'] },
  USAGE: { exit: 2, short: ['Usage error', ''] },
  INTERNAL: { exit: 70, short: ['Internal error', 'restarting'] },
} as const satisfies Record<string, { exit: number; short: readonly [string, string] }>;

export type ErrorCode = keyof typeof ErrorCodes;

export interface PinauthErrorOptions {
  /** Lines for a small display (each at most 16 characters); defaults to the code's own. */
  short?: readonly string[];
  /** HTTP status of the provider's reply, when there was one. */
  status?: number;
  /** The provider's own error code (Twitter's `code`), when it sent one. */
  providerCode?: number;
  /** How long the provider asked us to wait (Retry-After / rate-limit reset). */
  retryAfterMs?: number;
  cause?: unknown;
}

export class PinauthError extends Error {
  override readonly name = 'PinauthError';
  readonly code: ErrorCode;
  readonly short: readonly string[];
  readonly status?: number;
  readonly providerCode?: number;
  readonly retryAfterMs?: number;

  constructor(code: ErrorCode, message: string, opts: PinauthErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.short = (opts.short ?? ErrorCodes[code].short).filter((l) => l.length > 0);
    if (opts.status !== undefined) this.status = opts.status;
    if (opts.providerCode !== undefined) this.providerCode = opts.providerCode;
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = opts.retryAfterMs;
  }

  /** Process exit status for this error (0 ok, 2 usage, 3 config, 4 provider, 5 device, 6 store, 7 already running, 70 internal, 77 permission denied). */
  get exitCode(): number {
    return ErrorCodes[this.code].exit;
  }

  /** A plain object for the log: no stack for expected errors, never the cause's secrets. */
  toLog(): Record<string, unknown> {
    const o: Record<string, unknown> = { code: this.code, message: this.message };
    if (this.status !== undefined) o.status = this.status;
    if (this.providerCode !== undefined) o.providerCode = this.providerCode;
    if (this.retryAfterMs !== undefined) o.retryAfterMs = this.retryAfterMs;
    return o;
  }
}

/** The operating system's error code behind `e` (ENOSPC, EROFS, ...), if an OS call failed. */
export function errnoOf(e: PinauthError): string | undefined {
  const code = (e.cause as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function isPinauthError(e: unknown, code?: ErrorCode): e is PinauthError {
  return e instanceof PinauthError && (code === undefined || e.code === code);
}

/** Wrap anything thrown into a PinauthError (INTERNAL unless it already is one). */
export function toPinauthError(e: unknown): PinauthError {
  if (e instanceof PinauthError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new PinauthError('INTERNAL', msg, { cause: e });
}
