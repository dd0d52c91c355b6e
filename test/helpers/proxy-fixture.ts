/** The signing proxy on a temporary socket in front of the local provider, with an authorized account. */
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import type { ProxyConfig } from '../../src/config/types.js';
import { createLogger } from '../../src/log.js';
import type { PinauthError } from '../../src/errors.js';
import { startApiProxy, type ApiProxyOptions, type SigningAccount } from '../../src/proxy/server.js';
import { authorize, withProvider, DEMO, type Fixture } from './provider-fixture.js';

export const DEFAULT_PROXY: ProxyConfig = {
  enabled: true,
  socket: '',
  methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
  paths: ['/'],
  maxBodyBytes: 16 * 1024 * 1024,
  maxFormBytes: 256 * 1024,
  maxReplyBytes: 1024 * 1024 * 1024,
  timeoutMs: 5000,
  maxConnections: 64,
  rateLimit: null,
};

export interface ProxyFixture extends Fixture {
  socket: string;
  account: SigningAccount;
  /** Set to a string to make the daemon "not authorized" with that reason. */
  notAuthorized: string | null;
  rejected: PinauthError[];
  /** Everything the proxy logged. */
  logText: () => string;
  logLines: () => Record<string, any>[];
  proxy: ProxyConfig;
  origins: string[];
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
  json: () => any;
}

/** One request over the Unix socket, as `curl --unix-socket` sends it. */
export function viaSocket(
  socketPath: string,
  opts: { method?: string; path: string; headers?: Record<string, string | number>; body?: Buffer | string | AsyncIterable<Buffer> },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method: opts.method ?? 'GET', path: opts.path, headers: { host: 'api', ...opts.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const text = body.toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text, json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    const b = opts.body;
    if (b === undefined) req.end();
    else if (typeof b === 'string' || Buffer.isBuffer(b)) req.end(b);
    else
      void (async () => {
        for await (const chunk of b) if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
        req.end();
      })();
  });
}

export async function withProxy(
  t: TestContext,
  over: {
    proxy?: Partial<ProxyConfig>;
    origins?: (providerUrl: string) => string[];
    limits?: ApiProxyOptions['limits'];
    fixedSignature?: ApiProxyOptions['fixedSignature'];
    /** Where the proxy variables are read (mutable: read per request), and a CA for https origins. */
    env?: NodeJS.ProcessEnv;
    ca?: string;
  } = {},
): Promise<ProxyFixture> {
  const f = await withProvider(t, { now: Date.now, maxBodyBytes: 1024 * 1024 });
  f.clock.ms = Date.now();
  const access = await authorize(f);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pinauthd-proxy-'));
  const socket = path.join(dir, 'api.sock');
  const chunks: string[] = [];
  const logger = createLogger({
    level: 'debug',
    destination: new Writable({
      write(c, _e, cb) {
        chunks.push(String(c));
        cb();
      },
    }),
  });
  const fx: ProxyFixture = {
    ...f,
    socket,
    account: { consumerKey: DEMO.key, consumerSecret: DEMO.secret, token: access.token, tokenSecret: access.secret, signatureMethod: 'HMAC-SHA1', clockOffsetMs: 0 },
    notAuthorized: null,
    rejected: [],
    logText: () => chunks.join(''),
    logLines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>),
    proxy: { ...DEFAULT_PROXY, socket, ...over.proxy },
    origins: over.origins ? over.origins(f.provider.url) : [f.provider.url],
  };
  const proxy = await startApiProxy({
    listen: { path: socket },
    settings: () => ({ proxy: fx.proxy, provider: { apiOrigins: fx.origins, allowHttpLoopback: true } }),
    authority: {
      signingAccount: () => (fx.notAuthorized === null ? fx.account : { reason: fx.notAuthorized }),
      tokenRejected: (e) => fx.rejected.push(e),
    },
    logger,
    ...(over.limits ? { limits: over.limits } : {}),
    ...(over.fixedSignature ? { fixedSignature: over.fixedSignature } : {}),
    env: over.env ?? {},
    ...(over.ca !== undefined ? { ca: over.ca } : {}),
  });
  t.after(async () => {
    await proxy.close();
    await rm(dir, { recursive: true, force: true });
  });
  return fx;
}
