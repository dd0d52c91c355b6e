/**
 * The one root logger: pino JSON lines to stdout (journald records them), child loggers per
 * module via `logger.child({ module })`.
 *
 * Secrets are kept out in two layers fed by one list (SECRET_KEYS):
 * - pino's `redact` paths replace the value of every secret key at the top level of every
 *   entry and of child loggers' bindings (where our own log calls could put one). Only exact
 *   top-level paths: pino writes such a key's censor directly, while one path that starts
 *   with a wildcard (`*.token`) makes it pass every value of every entry through
 *   @pinojs/redact, which parses all those paths again for each value (with the 48 deeper
 *   paths this had before: 4.2 MiB more at the first screen, where V8 optimised that parser,
 *   and 7-9 ms more main-thread CPU; docs/performance.md, session 5);
 * - one scrub of every entry before it is written replaces the same keys at every depth below
 *   (to MAX_SCRUB_DEPTH) and inside logged errors, which it describes as pino does (type,
 *   message, stack), and takes OAuth parameter and Authorization values out of all text (the
 *   message, any string value, an error's message and stack: src/untrusted.ts), since a
 *   provider's or a device's words can carry them.
 * Child loggers are bound with `{ module }` only; a secret key in bindings is redacted at
 * their top level (pino), not deeper down.
 * Callers still keep secrets out of message strings and build log objects with these key names.
 */
import { pino, type Logger, type DestinationStream } from 'pino';
import { redactOAuthText } from './untrusted.js';

export type { Logger } from 'pino';

/**
 * Keys whose values are secret wherever they appear. `authorization` and `Authorization`
 * cover request headers too (`req.headers.authorization`, found by the scrub).
 */
export const SECRET_KEYS = [
  'consumerSecret',
  'consumer_secret',
  'tokenSecret',
  'token_secret',
  'oauth_token_secret',
  'secret',
  'requestTokenSecret',
  'oauth_signature',
  'signature',
  'pin',
  'oauth_verifier',
  'verifier',
  'authorization',
  'Authorization',
  'token',
  'oauth_token',
] as const;

const SECRET_KEY_SET: ReadonlySet<string> = new Set(SECRET_KEYS);

/** pino's redact paths: each secret key at the top level of an entry or of a child's bindings. */
export const redactPaths: readonly string[] = Object.freeze([...SECRET_KEYS]);

export const REDACTED = '[redacted]';

const MAX_SCRUB_DEPTH = 6;

/**
 * `value` as it may be logged: secret keys' values replaced, OAuth parameters taken out of every
 * string, an error as pino's error serializer describes it (type, message, stack, its own
 * properties), scrubbed too. The same object when nothing had to change.
 */
function scrub<T>(value: T, depth = 0): T {
  if (typeof value === 'string') return redactOAuthText(value) as T;
  if (typeof value !== 'object' || value === null || depth >= MAX_SCRUB_DEPTH) return value;
  const source: object = value instanceof Error ? pino.stdSerializers.err(value) : value;
  let copy: Record<string, unknown> | unknown[] | null = source === value ? null : { ...source };
  for (const [k, v] of Object.entries(source)) {
    const clean = SECRET_KEY_SET.has(k) ? REDACTED : scrub(v, depth + 1);
    if (clean === v) continue;
    copy ??= Array.isArray(source) ? [...(source as unknown[])] : { ...(source as Record<string, unknown>) };
    (copy as Record<string, unknown>)[k] = clean;
  }
  return (copy ?? value) as T;
}

export interface CreateLoggerOptions {
  level: string;
  /** A stream (tests) or a file descriptor; default fd 1 (stdout), written synchronously. */
  destination?: NodeJS.WritableStream | number;
  /**
   * 'json' (default): pino's JSON lines, for journald and tools. 'human': one short line per
   * entry, `pinauthd: warning: <message>`, for a person at a terminal (`login --console`).
   */
  format?: 'json' | 'human';
}

const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warning', 50: 'error', 60: 'fatal' };

/**
 * A pino JSON line as a person reads it: the level and the message, and the error's own
 * message when it says more. Built from the line pino wrote, so redaction has happened.
 */
export function humanLine(json: string): string {
  let entry: { level?: number; msg?: unknown; err?: { message?: unknown } };
  try {
    entry = JSON.parse(json) as typeof entry;
  } catch {
    return json.trimEnd();
  }
  const msg = typeof entry.msg === 'string' ? entry.msg : '';
  const errMsg = typeof entry.err?.message === 'string' ? entry.err.message : '';
  const text = errMsg && errMsg !== msg ? (msg ? `${msg}: ${errMsg}` : errMsg) : msg;
  return `pinauthd: ${LEVEL_NAMES[entry.level ?? 30] ?? 'log'}: ${text}`;
}

/** Each pino line as a human line on stdout or stderr (synchronous for terminals, pipes and files on Linux). */
function humanDestination(fd: number): DestinationStream {
  const out = fd === 2 ? process.stderr : process.stdout;
  return {
    write(line: string): void {
      out.write(`${humanLine(line)}\n`);
    },
  };
}

export function createLogger(opts: CreateLoggerOptions): Logger {
  const destination: DestinationStream | NodeJS.WritableStream =
    typeof opts.destination === 'object'
      ? opts.destination
      : opts.format === 'human'
        ? humanDestination(opts.destination ?? 1)
        : // sync so that the last lines before process.exit() are not lost
          pino.destination({ fd: opts.destination ?? 1, sync: true });
  return pino(
    {
      level: opts.level,
      // journald adds pid, host and time of its own; keep an ISO time for plain stdout use
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: [...redactPaths], censor: REDACTED },
      formatters: { log: (obj) => scrub(obj) },
      // errors reach it already described by scrub(): pino's own err serializer would take
      // that plain object for an error of type Object
      serializers: { err: (err: unknown) => err },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => (typeof a === 'string' ? redactOAuthText(a) : a)) as Parameters<typeof method>);
        },
      },
    },
    destination as DestinationStream,
  );
}
