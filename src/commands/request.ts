/**
 * `pinauthd request`: twurl's everyday use, through the signing proxy's socket. It never sees
 * a secret: the daemon signs. So it works for any member of the socket's group, no root.
 */
import http from 'node:http';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { PinauthError } from '../errors.js';
import { apiSocketFor } from '../proxy/socket-path.js';

export const REQUEST_USAGE = `pinauthd request: an API call through the signing proxy (the daemon signs it)

Usage: pinauthd request [-X METHOD] [-d FORM]... [--json JSON] [-H 'Name: value']... [-i] PATH

  PATH              /2/users/me, /1.1/statuses/update.json?x=1, or a full URL on one of
                    the provider's API origins (https://upload.twitter.com/1.1/...)
  -X, --request M   the method (default GET; POST with -d or --json)
  -d, --data FORM   a form body, sent as given (encode it yourself): -d 'status=hi'; several
                    are joined with '&'; form parameters are signed
  --json JSON       a JSON body (content-type application/json; not signed, per RFC 5849)
  -H, --header H    an extra header, 'Name: value' (an Authorization header is dropped)
  -i, --include     print the status line and the reply headers first
  --socket PATH     the proxy's socket (default: $PINAUTHD_API_SOCKET, else proxy.socket
                    in the config if it is there, else /run/pinauthd/api.sock)
  --config FILE     config file (to find the socket)

On a terminal a JSON reply is pretty-printed; otherwise the body is written as it came.

Exit status:
  0   2xx: the API did it
  1   3xx or 4xx: the API (or the socket's policy) refused the request, or a redirect
      (not followed); a 401 that says the token is dead makes the daemon check it and, if
      it is dead, show a new URL on the display
  2   usage error
  3   config error
  4   5xx: the provider failed, or pinauthd could not forward the request (503 while
      the device is not authorized, 502 network, 504 timeout); the reason is printed
  69  the socket cannot be reached: pinauthd is not running, or this user is not in
      the socket's group (pinauthd-api)
`;

/** The exit status for an HTTP status (the table in REQUEST_USAGE). */
export function exitForStatus(status: number): number {
  if (status >= 200 && status < 300) return 0;
  if (status >= 500) return 4;
  return 1;
}

async function socketPath(explicit: string | undefined, configFile: string | undefined): Promise<string> {
  if (explicit) return explicit;
  if (process.env.PINAUTHD_API_SOCKET) return process.env.PINAUTHD_API_SOCKET;
  return apiSocketFor(await loadConfig({ file: configFile, env: process.env, requireSecrets: false }));
}

function usage(message: string): PinauthError {
  return new PinauthError('USAGE', `${message}\n\n${REQUEST_USAGE}`);
}

interface Parsed {
  method: string;
  target: string;
  headers: Array<[string, string]>;
  body: string | undefined;
  include: boolean;
  socket: string | undefined;
  config: string | undefined;
}

export function parseRequestArgs(argv: string[]): Parsed {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        request: { type: 'string', short: 'X' },
        data: { type: 'string', short: 'd', multiple: true },
        json: { type: 'string' },
        header: { type: 'string', short: 'H', multiple: true },
        include: { type: 'boolean', short: 'i', default: false },
        socket: { type: 'string' },
        config: { type: 'string' },
      },
    });
  } catch (e) {
    throw usage((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw usage(positionals.length === 0 ? 'request needs a PATH' : `unexpected argument: ${positionals[1]}`);
  const target = positionals[0]!;
  if (!target.startsWith('/') && !/^https?:\/\//i.test(target)) throw usage(`PATH must start with / or be a URL: ${target}`);
  if (values.data && values.json !== undefined) throw usage('-d and --json do not go together (a form body or a JSON body)');
  const headers: Array<[string, string]> = [];
  for (const h of values.header ?? []) {
    const colon = h.indexOf(':');
    if (colon <= 0) throw usage(`-H needs 'Name: value', got ${JSON.stringify(h)}`);
    headers.push([h.slice(0, colon).trim(), h.slice(colon + 1).trim()]);
  }
  const has = (name: string) => headers.some(([k]) => k.toLowerCase() === name);
  let body: string | undefined;
  if (values.data) {
    body = values.data.join('&');
    if (!has('content-type')) headers.push(['Content-Type', 'application/x-www-form-urlencoded']);
  } else if (values.json !== undefined) {
    try {
      JSON.parse(values.json);
    } catch {
      throw usage('--json needs valid JSON');
    }
    body = values.json;
    if (!has('content-type')) headers.push(['Content-Type', 'application/json']);
  }
  if (!has('accept')) headers.push(['Accept', 'application/json']);
  const method = (values.request ?? (body !== undefined ? 'POST' : 'GET')).toUpperCase();
  if (!/^[A-Z]{1,16}$/.test(method)) throw usage(`not a method: ${values.request}`);
  return { method, target, headers, body, include: values.include ?? false, socket: values.socket, config: values.config };
}

export async function request(argv: string[]): Promise<number> {
  const p = parseRequestArgs(argv);
  const socket = await socketPath(p.socket, p.config);
  const absolute = /^https?:\/\//i.test(p.target);
  const headers: Array<[string, string]> = [['Host', absolute ? new URL(p.target).host : 'api'], ...p.headers];
  if (p.body !== undefined) headers.push(['Content-Length', String(Buffer.byteLength(p.body))]);
  const tty = process.stdout.isTTY === true;

  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, method: p.method, path: p.target, headers: headers.flat() }, (res) => {
      const status = res.statusCode ?? 0;
      if (p.include) {
        process.stdout.write(`HTTP/${res.httpVersion} ${status} ${res.statusMessage ?? ''}\n`);
        for (let i = 0; i < res.rawHeaders.length; i += 2) process.stdout.write(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}\n`);
        process.stdout.write('\n');
      }
      const reason = res.headers['pinauthd-reason'];
      if (typeof reason === 'string' && !(status >= 200 && status < 300)) process.stderr.write(`pinauthd: ${reason}\n`);
      const json = /^application\/(?:[\w.+-]+\+)?json\b/i.test(String(res.headers['content-type'] ?? ''));
      const done = () => resolve(exitForStatus(status));
      if (tty && json) {
        // a JSON reply for a person: read it (bounded) and indent it
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= 16 * 1024 * 1024) chunks.push(c);
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            process.stdout.write(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
          } catch {
            process.stdout.write(text);
          }
          done();
        });
      } else {
        res.pipe(process.stdout, { end: false });
        res.on('end', done);
      }
      res.on('error', reject);
    });
    // an upstream call has its own timeout in the daemon; this one is for a daemon that hangs
    req.setTimeout(120_000, () => req.destroy(new PinauthError('OAUTH_TIMEOUT', `no reply on ${socket} within 120 s`)));
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (e instanceof PinauthError) return reject(e);
      const why =
        e.code === 'ENOENT' || e.code === 'ECONNREFUSED'
          ? 'pinauthd is not running (or its proxy is off: proxy.enabled)'
          : e.code === 'EACCES'
            ? 'permission denied: add this user to the socket\'s group (pinauthd-api) and log in again'
            : (e.code ?? e.message);
      process.stderr.write(`pinauthd: cannot reach the API socket ${socket}: ${why}\n`);
      resolve(69);
    });
    req.end(p.body);
  });
}
