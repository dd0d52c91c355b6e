/**
 * Hostile clients of the signing proxy: none reaches another host, none stalls the others.
 * A canary server stands for "another host": it must never see a connection.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { viaSocket, withProxy, type ProxyFixture } from '../helpers/proxy-fixture.js';

async function canary(t: TestContext): Promise<{ port: number; connections: () => number }> {
  let n = 0;
  const server = http.createServer((_req, res) => res.end('stolen'));
  server.on('connection', () => n++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { port: (server.address() as AddressInfo).port, connections: () => n };
}

/** Send raw bytes, collect everything until the server closes (or `until` matches). */
function raw(socketPath: string, text: string | Buffer, until?: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(socketPath);
    let got = '';
    sock.setEncoding('latin1');
    sock.on('data', (c: string) => {
      got += c;
      if (until?.test(got)) {
        sock.destroy();
        resolve(got);
      }
    });
    sock.on('close', () => resolve(got));
    sock.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? resolve(got) : reject(e)));
    sock.write(text);
  });
}

function statusOf(reply: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0);
}

async function stillServes(f: ProxyFixture): Promise<void> {
  const r = await viaSocket(f.socket, { path: '/2/users/me' });
  assert.equal(r.status, 200, r.text);
}

test('absolute URLs to other hosts are refused; none reaches them', async (t) => {
  const f = await withProxy(t);
  const evil = await canary(t);
  const at = `127.0.0.1:${evil.port}`;
  for (const target of [`http://${at}/steal`, `https://${at}/steal`, `http://api@${at}/`, `http://${at}:443/`]) {
    const reply = await raw(f.socket, `GET ${target} HTTP/1.1\r\nHost: api\r\n\r\n`, /\r\n\r\n[\s\S]*\}\n/);
    assert.ok([400, 403].includes(statusOf(reply)), `${target}: ${reply}`);
  }
  // origin-form that looks like a network path stays a path on the provider
  const r = await viaSocket(f.socket, { path: `//${at}/steal` });
  assert.equal(r.status, 404);
  assert.equal(evil.connections(), 0);
});

test('Host header tricks pick no other host', async (t) => {
  const f = await withProxy(t);
  const evil = await canary(t);
  for (const host of [`127.0.0.1:${evil.port}`, 'evil.example', `api@127.0.0.1:${evil.port}`, 'api.x.com']) {
    const r = await viaSocket(f.socket, { path: '/2/users/me', headers: { host } });
    assert.equal(r.status, 421, `${host}: ${r.text}`);
    assert.equal(r.json().error, 'origin_not_allowed');
  }
  assert.equal(evil.connections(), 0);
  // the provider's own host name is one of the allowed ones
  const own = await viaSocket(f.socket, { path: '/2/users/me', headers: { host: new URL(f.provider.url).host } });
  assert.equal(own.status, 200);
});

test('CONNECT and protocol upgrades are refused', async (t) => {
  const f = await withProxy(t);
  const evil = await canary(t);
  const connect = await raw(f.socket, `CONNECT 127.0.0.1:${evil.port} HTTP/1.1\r\nHost: 127.0.0.1:${evil.port}\r\n\r\n`);
  assert.equal(statusOf(connect), 405, connect);
  const upgrade = await raw(f.socket, 'GET /2/users/me HTTP/1.1\r\nHost: api\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
  assert.equal(statusOf(upgrade), 501, upgrade);
  assert.equal(evil.connections(), 0);
  await stillServes(f);
});

test('CR LF in a header value or the path injects nothing', async (t) => {
  const f = await withProxy(t);
  const bareCr = await raw(f.socket, 'GET /echo/x HTTP/1.1\r\nHost: api\r\nX-A: a\rHost: evil\r\n\r\n');
  assert.equal(statusOf(bareCr), 400, bareCr);
  const nul = await raw(f.socket, 'GET /echo/x HTTP/1.1\r\nHost: api\r\nX-A: a\0b\r\n\r\n');
  assert.equal(statusOf(nul), 400, nul);
  assert.equal(f.provider.stats().api.requests, 0);
  // escaped CR LF in the path stays escaped: a path, not a header
  const r = await viaSocket(f.socket, { path: '/echo/x%0D%0AHost:%20evil' });
  assert.equal(r.status, 200);
  assert.equal(r.json().path, '/echo/x%0D%0AHost:%20evil');
});

test('oversized headers get 431, an oversized declared body 413 before a byte is read', async (t) => {
  const f = await withProxy(t, { proxy: { maxBodyBytes: 1024 * 1024 } });
  const big = await raw(f.socket, `GET /2/users/me HTTP/1.1\r\nHost: api\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`);
  assert.equal(statusOf(big), 431, big.slice(0, 200));
  const huge = await raw(f.socket, 'POST /1.1/media/upload.json HTTP/1.1\r\nHost: api\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000000000\r\n\r\nxxxx');
  assert.equal(statusOf(huge), 413, huge);
  assert.match(huge, /connection: close/i);
  assert.equal(f.provider.stats().api.requests, 0);
  await stillServes(f);
});

test('too many connections at once: the extra one gets 503, the others go on', async (t) => {
  const f = await withProxy(t, { proxy: { maxConnections: 2 } });
  const idle = [net.connect(f.socket), net.connect(f.socket)];
  t.after(() => idle.forEach((s) => s.destroy()));
  await Promise.all(idle.map((s) => new Promise((r) => s.once('connect', r))));
  const third = await raw(f.socket, 'GET /2/users/me HTTP/1.1\r\nHost: api\r\n\r\n');
  assert.equal(statusOf(third), 503, third);
  idle.forEach((s) => s.destroy());
});

test('slowloris clients are cut off and do not stall the others', async (t) => {
  const f = await withProxy(t, { limits: { headersTimeoutMs: 300 } });
  const slow = Array.from({ length: 8 }, () => net.connect(f.socket));
  const closed = slow.map((s) => new Promise<string>((resolve) => {
    let got = '';
    s.setEncoding('latin1').on('data', (c: string) => (got += c));
    s.on('error', () => undefined);
    s.on('close', () => resolve(got));
  }));
  for (const s of slow) s.write('GET /2/users/me HTTP/1.1\r\nHost: api\r\nX-Slow: ');
  // a byte now and then, never the end of the headers
  const drip = setInterval(() => slow.forEach((s) => s.writable && s.write('a')), 50);
  t.after(() => clearInterval(drip));
  await stillServes(f);
  await stillServes(f);
  const replies = await Promise.all(closed);
  clearInterval(drip);
  for (const reply of replies) assert.ok(reply === '' || statusOf(reply) === 408, reply);
  assert.equal(f.provider.stats().api.outcomes.ok, 2);
  await stillServes(f);
});

test('a client that never reads its reply is cut off; the others are served and it holds only buffers', async (t) => {
  const f = await withProxy(t, { limits: { idleTimeoutMs: 500 } });
  // a 10 MiB reply, sent chunked
  f.provider.faults.malformed = { count: 1, kind: 'huge', endpoint: 'verify_credentials' };
  const stuck = net.connect(f.socket);
  stuck.on('error', () => undefined);
  t.after(() => stuck.destroy());
  stuck.write('GET /1.1/account/verify_credentials.json HTTP/1.1\r\nHost: api\r\n\r\n');
  stuck.pause();
  // the reply has started: the proxy is blocked on this client
  await new Promise<void>((resolve) => {
    const check = () => (f.provider.stats().verify_credentials.outcomes.malformed_huge ? resolve() : setTimeout(check, 10));
    check();
  });
  await Promise.all(Array.from({ length: 5 }, () => stillServes(f)));
  // (a paused socket does not see its end: the proxy's log says when it let go)
  const entry = await new Promise<Record<string, any>>((resolve) => {
    const check = () => {
      const e = f.logLines().find((l) => l.msg === 'api request' && l.path === '/1.1/account/verify_credentials.json');
      if (e) resolve(e);
      else setTimeout(check, 10);
    };
    check();
  });
  assert.equal(entry.error, 'client_gone_or_cut');
  // back-pressure: far less than the 10 MiB went through the proxy
  assert.ok(entry.bytesDown < 4 * 1024 * 1024, `bytesDown ${entry.bytesDown}`);
});

test('an https origin whose certificate does not verify gets nothing: 502, no request sent', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pinauthd-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { cwd: dir, stdio: 'pipe' });
  let requests = 0;
  const server = https.createServer({ key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) }, (_req, res) => {
    requests++;
    res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const f = await withProxy(t, { origins: () => [origin] });
  const r = await viaSocket(f.socket, { path: '/2/users/me' });
  assert.equal(r.status, 502, r.text);
  assert.equal(r.json().error, 'upstream_tls');
  assert.equal(requests, 0);
});
