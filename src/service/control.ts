/**
 * A local control socket so operator commands (`status`, `reauth`, `logout`) reach a
 * running daemon. It lives in the state directory (0700) and is itself 0600, so only the
 * daemon's user (and root) can talk to it. One JSON line in, one JSON line out.
 * It never returns secrets.
 */
import { chmod, unlink } from 'node:fs/promises';
import net from 'node:net';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { PinauthError } from '../errors.js';
import { liveLockOwner } from '../store/lock.js';

export type ControlCommand = 'status' | 'reauth' | 'logout';
export type ControlHandler = (cmd: ControlCommand) => Promise<unknown>;

const MAX_REQUEST = 1024;

/** unlink, a missing file being fine (fs.rm would load its recursive remover at start-up). */
function removeSocket(path: string): Promise<void> {
  return unlink(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
}

export function controlSocketPath(storePath: string): string {
  return join(dirname(storePath), 'control.sock');
}

export async function startControlServer(
  path: string,
  handler: ControlHandler,
  logger: Logger,
  opts: { idleTimeoutMs?: number } = {},
): Promise<{ close(): Promise<void> }> {
  const log = logger.child({ module: 'control' });
  // A socket file left by a crash would make listen() fail with EADDRINUSE. The instance
  // lock is already held, so nobody else is using it.
  await removeSocket(path);
  const server = net.createServer((sock) => {
    let buf = '';
    let handled = false;
    sock.setEncoding('utf8');
    sock.setTimeout(opts.idleTimeoutMs ?? 5000, () => sock.destroy());
    sock.on('error', () => undefined);
    sock.on('data', (chunk: string) => {
      // One command per connection: more bytes after the first line must not run it again.
      if (handled) return;
      buf += chunk;
      if (buf.length > MAX_REQUEST) return sock.destroy();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      handled = true;
      let cmd: unknown;
      try {
        cmd = (JSON.parse(buf.slice(0, nl)) as { cmd?: unknown }).cmd;
      } catch {
        cmd = undefined;
      }
      if (cmd !== 'status' && cmd !== 'reauth' && cmd !== 'logout') {
        sock.end(JSON.stringify({ ok: false, error: 'unknown command' }) + '\n');
        return;
      }
      // The idle timeout is for a silent client; a command may take longer (logout waits for
      // the provider, up to provider.timeoutMs), and its answer must not be cut off.
      sock.setTimeout(0);
      handler(cmd).then(
        (result) => sock.end(JSON.stringify({ ok: true, result }) + '\n'),
        (e: unknown) => sock.end(JSON.stringify({ ok: false, error: e instanceof Error ? e.message : String(e) }) + '\n'),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  await chmod(path, 0o600);
  server.unref();
  log.debug({ path }, 'control socket listening');
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        void removeSocket(path).catch(() => undefined);
      }),
  };
}

type Answer = { ok: boolean; result?: unknown; error?: string };

/**
 * How long a command waits for the socket of a daemon that holds the instance lock but has
 * not opened its socket yet: it opens once the first screen has settled (src/service/run.ts,
 * at most 1 s after the daemon started, later on a slow board).
 */
const STARTING_WAIT_MS = 3000;

/**
 * Ask a running daemon; null when none answers. A socket (or state directory) this user may
 * not open rejects with PERMISSION_DENIED: whether a daemon runs is then unknown, and saying
 * "not running" would be a wrong answer.
 */
export async function askDaemon(path: string, cmd: ControlCommand, timeoutMs = 3000): Promise<Answer | null> {
  const until = Date.now() + STARTING_WAIT_MS;
  for (;;) {
    const r = await askOnce(path, cmd, timeoutMs);
    if (r === 'denied') {
      throw new PinauthError('PERMISSION_DENIED', `permission denied on the control socket ${path}: run this command as root or as the service's user`);
    }
    if (r !== 'no socket' && r !== 'refused') return r;
    // no socket (yet): a daemon that holds the lock is still starting
    if (Date.now() >= until || (await liveLockOwner(dirname(path))) === null) return null;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function askOnce(path: string, cmd: ControlCommand, timeoutMs: number): Promise<Answer | null | 'no socket' | 'refused' | 'denied'> {
  return new Promise((resolve) => {
    const sock = net.connect(path);
    let buf = '';
    const done = (v: Answer | null | 'no socket' | 'refused' | 'denied') => {
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(timeoutMs, () => done(null));
    sock.on('error', (e: NodeJS.ErrnoException) =>
      done(e.code === 'ENOENT' ? 'no socket' : e.code === 'ECONNREFUSED' ? 'refused' : e.code === 'EACCES' || e.code === 'EPERM' ? 'denied' : null),
    );
    sock.on('connect', () => sock.write(JSON.stringify({ cmd }) + '\n'));
    sock.setEncoding('utf8');
    sock.on('data', (c: string) => {
      buf += c;
      if (buf.length > 1 << 20) done(null);
    });
    sock.on('end', () => {
      try {
        done(JSON.parse(buf) as Answer);
      } catch {
        done(null);
      }
    });
  });
}
