import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger, redactPaths, SECRET_KEYS, REDACTED } from '../../src/log.js';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[]; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  const text = () => chunks.join('');
  return {
    stream,
    text,
    lines: () =>
      text()
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

test('every secret key is redacted at depth 0, 1, 2 and 3', () => {
  const out = capture();
  const log = createLogger({ level: 'info', destination: out.stream });
  const canaries: string[] = [];
  for (const key of SECRET_KEYS) {
    const c = (d: number) => {
      const v = `CANARY-${key}-${d}-${canaries.length}`;
      canaries.push(v);
      return v;
    };
    log.info({ [key]: c(0), keep: 'visible-0' }, 'depth 0');
    log.info({ outer: { [key]: c(1), keep: 'visible-1' } }, 'depth 1');
    log.info({ a: { b: { [key]: c(2) } } }, 'depth 2');
    log.info({ a: { b: { c: { [key]: c(3) } } } }, 'depth 3');
    log.info({ list: [{ [key]: c(1) }] }, 'in an array');
  }
  const text = out.text();
  for (const canary of canaries) assert.ok(!text.includes(canary), `leaked ${canary}`);
  // the redaction replaced values, it did not drop the lines or their other fields
  assert.equal(out.lines().length, SECRET_KEYS.length * 5);
  assert.ok(text.includes('visible-0') && text.includes('visible-1'));
  assert.ok(text.includes(`"${REDACTED}"`));
});

test('authorization headers in request-like objects, both spellings', () => {
  const out = capture();
  const log = createLogger({ level: 'debug', destination: out.stream });
  log.debug({ headers: { authorization: 'OAuth CANARY-A1', 'content-type': 'x' } }, 'h');
  log.debug({ headers: { Authorization: 'OAuth CANARY-A2' } }, 'h');
  log.debug({ req: { headers: { authorization: 'OAuth CANARY-A3' } } }, 'h');
  log.debug({ http: { req: { headers: { Authorization: 'OAuth CANARY-A4' } } } }, 'h');
  log.debug({ request: { headers: { authorization: 'OAuth CANARY-A5' } } }, 'h');
  const text = out.text();
  assert.doesNotMatch(text, /CANARY/);
  assert.match(text, /content-type/);
});

test('child loggers carry the module and keep the redaction', () => {
  const out = capture();
  const log = createLogger({ level: 'info', destination: out.stream });
  log.child({ module: 'oauth' }).info({ oauth_token_secret: 'CANARY-child', consumer_secret: 'CANARY-c2' }, 'x');
  const [line] = out.lines();
  assert.equal(line!.module, 'oauth');
  assert.equal(line!.oauth_token_secret, REDACTED);
  assert.equal(line!.consumer_secret, REDACTED);
});

test('levels filter and the default destination is a file descriptor written synchronously', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pinauthd-log-'));
  try {
    const file = path.join(dir, 'out.log');
    const fd = openSync(file, 'w');
    const log = createLogger({ level: 'warn', destination: fd });
    log.info('not shown');
    log.warn({ pin: '1234567' }, 'shown');
    // sync: the line is in the file without waiting or flushing
    const text = readFileSync(file, 'utf8');
    closeSync(fd);
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.msg, 'shown');
    assert.equal(lines[0]!.pin, REDACTED);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("pino's redact paths are the secret keys at the top level, none starting with a wildcard", () => {
  // a wildcard-first path makes pino run every value of every entry through @pinojs/redact
  assert.deepEqual([...redactPaths].sort(), [...SECRET_KEYS].sort());
  for (const p of redactPaths) assert.doesNotMatch(p, /[.*[]/, p);
});

test("child loggers' bindings: secret keys at their top level are redacted by pino's redact paths", () => {
  // the scrub sees log entries, not bindings: this fails without pino's `redact`
  const out = capture();
  const log = createLogger({ level: 'info', destination: out.stream });
  log.child({ module: 'x', token_secret: 'CANARY-b2' }).child({ pin: 'CANARY-b3' }).info('bound twice');
  log.child({ module: 'y', Authorization: 'OAuth CANARY-b4' }).warn({ keep: 'visible' }, 'bound once');
  assert.doesNotMatch(out.text(), /CANARY/);
  assert.equal(out.lines()[0]!.module, 'x');
  assert.equal(out.lines()[0]!.pin, REDACTED);
  assert.equal(out.lines()[1]!.Authorization, REDACTED);
  assert.match(out.text(), /visible/);
});

test('secret keys are redacted deeper down too (5 levels), in arrays, and in child bindings', () => {
  const out = capture();
  const log = createLogger({ level: 'info', destination: out.stream });
  log.info({ a: { b: { c: { d: { e: { tokenSecret: 'CANARY-d5', keep: 'visible-5' } } } } } }, 'depth 5');
  log.info({ rows: [[{ secret: 'CANARY-arr' }]] }, 'nested arrays');
  log.child({ module: 'x', oauth_token: 'CANARY-binding' }).info('bound');
  const text = out.text();
  assert.doesNotMatch(text, /CANARY/);
  assert.match(text, /visible-5/);
  assert.equal(out.lines()[2]!.module, 'x');
});

test('secret properties on logged errors are redacted too', () => {
  const out = capture();
  const log = createLogger({ level: 'info', destination: out.stream });
  const err = Object.assign(new Error('boom'), { token: 'CANARY-e1', request: { headers: { Authorization: 'CANARY-e2' } } });
  log.error({ err }, 'failed');
  log.error(Object.assign(new Error('boom'), { oauth_token_secret: 'CANARY-e3' }), 'failed');
  log.error({ err: new TypeError('bad reply: oauth_token=CANARY-e4&x=1') }, 'failed');
  assert.doesNotMatch(out.text(), /CANARY/);
  const lines = out.lines() as Array<{ err: { type: string; message: string; stack: string } }>;
  assert.equal(lines.length, 3);
  // still described as pino describes errors: type, message and stack
  assert.equal(lines[0]!.err.type, 'Error');
  assert.equal(lines[0]!.err.message, 'boom');
  assert.match(lines[0]!.err.stack, /^Error: boom\n/);
  assert.equal(lines[2]!.err.type, 'TypeError');
  assert.match(lines[2]!.err.message, /^bad reply: oauth_token=/);
});

test('OAuth parameters and Authorization values in any text (message, strings at any depth) are redacted', () => {
  const out = capture();
  const log = createLogger({ level: 'info', destination: out.stream });
  const header = 'OAuth oauth_consumer_key="K", oauth_signature="SIGCANARY%3D", oauth_token="TOKCANARY"';
  log.info({ body: `echo: Authorization: ${header}` }, 'provider said');
  log.warn({ err: { message: `bad request oauth_verifier=PINCANARY&oauth_token=TOKCANARY` }, list: [{ deep: { deeper: `"oauth_signature":"SIGCANARY"` } }] }, 'x');
  log.error(`provider text: ${header}`);
  log.info({ problem: 'oauth_problem=timestamp_refused' }, 'kept');
  const text = out.text();
  assert.doesNotMatch(text, /SIGCANARY|TOKCANARY|PINCANARY/);
  assert.match(text, /oauth_signature/);
  assert.match(text, /timestamp_refused/);
});

test('redacted text redacted again stays the same (the logger sees provider messages already redacted)', async () => {
  const { redactOAuthText } = await import('../../src/untrusted.js');
  for (const t of ['HTTP 400: "Authorization: OAuth oauth_signature="S"". See the advice.', 'x oauth_token=T&oauth_verifier=V y', '{"oauth_signature":"S"} rest']) {
    const once = redactOAuthText(t);
    assert.equal(redactOAuthText(once), once);
    assert.doesNotMatch(once, /"S"|=T|=V/);
  }
});
