import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, resolveConfig } from '../../src/config/load.js';

const ENV: NodeJS.ProcessEnv = { HOME: '/home/pi', PINAUTHD_CONSUMER_KEY: 'k', PINAUTHD_CONSUMER_SECRET: 's' };
const device = { display: { driver: 'text', port: '/dev/ttyUSB0' } } as const;

function problems(file: unknown, env = ENV): readonly string[] {
  try {
    resolveConfig(file, { env });
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

test('presets list their API origins; local follows its baseUrl', () => {
  assert.deepEqual(resolveConfig({ provider: { preset: 'twitter' }, ...device }, { env: ENV }).provider.apiOrigins, ['https://api.x.com', 'https://upload.twitter.com']);
  assert.deepEqual(resolveConfig({ provider: { preset: 'local', baseUrl: 'http://127.0.0.1:9999/base/' }, ...device }, { env: ENV }).provider.apiOrigins, ['http://127.0.0.1:9999']);
  const generic = { preset: 'generic', baseUrl: 'https://example.com/oauth/', requestTokenUrl: 'request_token', authorizeUrl: 'authorize', accessTokenUrl: 'access_token', pin: { digits: 6 } };
  assert.deepEqual(resolveConfig({ provider: generic, ...device }, { env: ENV }).provider.apiOrigins, []);
  assert.deepEqual(resolveConfig({ provider: { ...generic, apiOrigins: ['https://API.example.com:8443', '/'] }, ...device }, { env: ENV }).provider.apiOrigins, ['https://api.example.com:8443', 'https://example.com']);
});

test('API origins follow the URL policy and must be bare origins', () => {
  assert.deepEqual(problems({ provider: { preset: 'twitter', apiOrigins: ['http://api.x.com', 'https://api.x.com/2/', 'ftp://x', 'https://u:p@api.x.com'] }, ...device }), [
    '/provider/apiOrigins/0: must be https (plain http is allowed only to a loopback host)',
    '/provider/apiOrigins/1: must be an origin (scheme://host[:port]) without a path',
    '/provider/apiOrigins/2: must be an https URL',
    '/provider/apiOrigins/3: must not contain a user name or password',
  ]);
  assert.deepEqual(problems({ provider: { preset: 'twitter', apiOrigins: ['http://127.0.0.1:1'] }, ...device }), [
    '/provider/apiOrigins/0: plain http to a loopback host needs provider.allowHttpLoopback: true',
  ]);
});

test('proxy defaults, the socket in the runtime directory or beside the store, and bad values', () => {
  const cfg = resolveConfig({ provider: { preset: 'twitter' }, store: { path: '/var/lib/pinauthd/tokens.json' }, ...device }, { env: ENV });
  assert.deepEqual(cfg.proxy, {
    enabled: true,
    socket: '/var/lib/pinauthd/api.sock',
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    paths: ['/'],
    maxBodyBytes: 16 * 1024 * 1024,
    maxFormBytes: 256 * 1024,
    maxReplyBytes: 1024 * 1024 * 1024,
    timeoutMs: 30000,
    maxConnections: 64,
    rateLimit: null,
  });
  assert.equal(resolveConfig({ provider: { preset: 'twitter' }, ...device }, { env: { ...ENV, RUNTIME_DIRECTORY: '/run/pinauthd' } }).proxy.socket, '/run/pinauthd/api.sock');
  assert.deepEqual(problems({ provider: { preset: 'twitter' }, ...device, proxy: { methods: ['CONNECT'], paths: ['api/'], socket: 'rel.sock', rateLimit: { requests: 0 } } }), [
    '/proxy/socket: must match pattern "^/[^\\x00-\\x1f]*$"',
    '/proxy/methods/0: must be one of "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"',
    '/proxy/paths/0: must match pattern "^/[\\x21-\\x7e]*$"',
    '/proxy/rateLimit: must be null',
    '/proxy/rateLimit/perSeconds: is required',
    '/proxy/rateLimit/requests: must be >= 1',
    '/proxy/rateLimit: must match a schema in anyOf',
  ]);
});
