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

/** Ask a running daemon; null when none answers (not running, or no permission). */
export function askDaemon(path: string, cmd: ControlCommand, timeoutMs = 3000): Promise<{ ok: boolean; result?: unknown; error?: string } | null> {
  return new Promise((resolve) => {
    const sock = net.connect(path);
    let buf = '';
    const done = (v: { ok: boolean; result?: unknown; error?: string } | null) => {
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(timeoutMs, () => done(null));
    sock.on('error', () => done(null));
    sock.on('connect', () => sock.write(JSON.stringify({ cmd }) + '\n'));
    sock.setEncoding('utf8');
    sock.on('data', (c: string) => {
      buf += c;
      if (buf.length > 1 << 20) done(null);
    });
    sock.on('end', () => {
      try {
        done(JSON.parse(buf) as { ok: boolean; result?: unknown; error?: string });
      } catch {
        done(null);
      }
    });
  });
}
