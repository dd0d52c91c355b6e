#!/usr/bin/env node
/**
 * The proxy bench's floor (scripts/bench/proxy.mjs): the least a Node process between a Unix
 * socket and the provider does, with no signing, checks, caps or log (the client signs). What
 * the signing proxy adds over direct calls, minus what this adds, is pinauthd's own share.
 *   node forward-floor.mjs SOCKET PROVIDER_URL   (prints "ready" once listening)
 */
import http from 'node:http';

const [socket, upstream] = process.argv.slice(2);
const origin = new URL(upstream);
const agent = new http.Agent({ keepAlive: true, maxSockets: 32, maxFreeSockets: 32 });
http
  .createServer((req, res) => {
    const up = http.request({ hostname: origin.hostname, port: origin.port, method: req.method, path: req.url, headers: { ...req.headers, host: origin.host }, agent }, (reply) => {
      res.writeHead(reply.statusCode, reply.headers);
      reply.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  })
  .listen(socket, () => process.stdout.write('ready\n'));
