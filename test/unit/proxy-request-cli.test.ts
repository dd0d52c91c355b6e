import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exitForStatus, parseRequestArgs } from '../../src/commands/request.js';
import { isPinauthError } from '../../src/errors.js';

test('pinauthd request: curl-like arguments', () => {
  assert.deepEqual(parseRequestArgs(['/2/users/me']), {
    method: 'GET', target: '/2/users/me', headers: [['Accept', 'application/json']], body: undefined, include: false, socket: undefined, config: undefined,
  });
  const form = parseRequestArgs(['-X', 'post', '-d', 'status=hi', '-d', 'x=1', '/1.1/statuses/update.json']);
  assert.equal(form.method, 'POST');
  assert.equal(form.body, 'status=hi&x=1');
  assert.deepEqual(form.headers[0], ['Content-Type', 'application/x-www-form-urlencoded']);
  const json = parseRequestArgs(['--json', '{"text":"hi"}', '-H', 'X-A:  b ', '-i', '--socket', '/tmp/s', '/2/tweets']);
  assert.equal(json.method, 'POST');
  assert.equal(json.include, true);
  assert.equal(json.socket, '/tmp/s');
  assert.deepEqual(json.headers, [['X-A', 'b'], ['Content-Type', 'application/json'], ['Accept', 'application/json']]);
  // a given content type or accept wins
  assert.deepEqual(parseRequestArgs(['-d', 'a', '-H', 'content-type: text/plain', '-H', 'accept: */*', '/x']).headers, [['content-type', 'text/plain'], ['accept', '*/*']]);
  assert.equal(parseRequestArgs(['https://upload.twitter.com/1.1/media/upload.json']).target, 'https://upload.twitter.com/1.1/media/upload.json');
});

test('pinauthd request: usage errors', () => {
  for (const args of [[], ['a', 'b'], ['relative/path'], ['-d', 'a', '--json', '{}', '/x'], ['--json', '{nope', '/x'], ['-H', 'no-colon', '/x'], ['-X', 'GET /evil', '/x'], ['--nope', '/x']]) {
    assert.throws(() => parseRequestArgs(args), (e: unknown) => isPinauthError(e, 'USAGE') && e.exitCode === 2, JSON.stringify(args));
  }
});

test('pinauthd request: exit status from the HTTP status', () => {
  assert.deepEqual([200, 201, 204, 301, 304, 400, 401, 403, 404, 429, 500, 502, 503, 504].map(exitForStatus), [0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 4, 4, 4, 4]);
});
