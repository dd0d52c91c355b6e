/**
 * 2. Provider faults with the local provider's switches, against the real daemon; every flow
 * runs at trace level behind a recording proxy, and all output is scanned for secrets (5).
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { EndpointName } from '../../local-provider/provider.js';
import { DEMO_SECRET, Stack, type DaemonProcess, type LogLine } from '../helpers/stack.js';
import { ms, record } from './figures.js';
import { startProxy, type Proxy } from './proxy.js';

const SECTION = '2 provider faults';
let s: Stack;
let proxy: Proxy;
const signatures = new Set<string>();
const secrets = { pins: new Set<string>(), tokenSecrets: new Set<string>(), requestSecrets: new Set<string>() };
const outputs: string[] = [];
const display: string[] = [];

before(async () => {
  s = await Stack.start({ profile: 'lcd20x4', keypadMode: 'keys', logLevel: 'trace' });
  proxy = await startProxy({
    target: s.provider.url,
    preserveHost: true,
    onRequest: (req) => {
      const m = /oauth_signature="([^"]+)"/.exec(String(req.headers.authorization ?? ''));
      if (m) signatures.add(decodeURIComponent(m[1]!));
    },
  });
  await s.rewriteConfig((c) => {
    c.provider.baseUrl = proxy.url;
  });
  s.sim.on('command', (c: { raw: string }) => display.push(c.raw));
});
after(async () => {
  await proxy?.close();
  await s?.close();
});

interface FlowResult {
  d: DaemonProcess;
  ms: number;
  calls: Record<string, { ok: number; failed: number }>;
  approvals: number;
  /** From the last warning/error logged to the next state that shows progress. */
  recoverMs: () => number | null;
}

const t = (l: LogLine) => Date.parse(String(l.time));

/** One PIN flow with `run --once` and a person who approves every URL shown. */
async function flow(setup: () => void, whileRunning?: (d: DaemonProcess) => Promise<void>): Promise<FlowResult> {
  s.provider.reset();
  await rm(s.storePath, { force: true });
  setup();
  const started = Date.now();
  const d = s.spawn(['run', '--once']);
  let approvals = 0;
  const side = whileRunning?.(d);
  for (;;) {
    const next = await Promise.race([d.exited.then(() => 'exit' as const), d.waitForState('awaiting_pin', 60_000, approvals + 1).then(() => 'pin' as const)]);
    if (next === 'exit') break;
    // the pending record is stored while the URL is shown: wait for this one
    const token = await s.pendingToken().catch(() => null);
    const snap = token ? await s.readStoreWhen((st) => st.pending?.token === token, 3000).catch(() => null) : null;
    if (snap?.pending?.tokenSecret) secrets.requestSecrets.add(snap.pending.tokenSecret);
    const pin = await s.approve();
    secrets.pins.add(pin);
    approvals++;
    for (const k of pin) s.sim.pressKey(k);
  }
  await side;
  const code = await d.exited;
  assert.equal(code, 0, d.output.slice(-3000));
  const store = await s.readStore();
  for (const a of store.accounts) secrets.tokenSecrets.add(a.tokenSecret);
  outputs.push(d.output);
  const stats = s.provider.stats();
  const calls: FlowResult['calls'] = {};
  for (const ep of ['request_token', 'access_token'] as const) {
    const o = stats[ep].outcomes;
    calls[ep] = { ok: o.ok ?? 0, failed: stats[ep].requests - (o.ok ?? 0) };
  }
  // from the last warning or error (the last failed call) to the next state that shows progress
  const recoverMs = (): number | null => {
    const logs = d.logs;
    const lastBad = logs.findLastIndex((l) => (l.level ?? 0) >= 40 && l.module !== 'device');
    if (lastBad < 0) return null;
    const good = logs.slice(lastBad + 1).find((l) => l.msg === 'state awaiting_pin' || l.msg === 'state authorized');
    return good ? t(good) - t(logs[lastBad]!) : null;
  };
  return { d, ms: Date.now() - started, calls, approvals, recoverMs };
}

function requests(name: EndpointName): number {
  return s.provider.stats()[name].requests;
}

/** Switch a fault off once `name` has seen `n` requests. */
async function clearAfter(name: EndpointName, n: number, clear: () => void): Promise<void> {
  while (requests(name) < n) await new Promise((r) => setTimeout(r, 10));
  clear();
}

describe('provider faults', () => {
  const rows: Array<[string, FlowResult, EndpointName, number]> = [];
  after(() => {
    for (const [what, r, ep, bound] of rows) {
      const rec = r.recoverMs();
      record(
        SECTION,
        what,
        `completed; requests: ${Object.entries(r.calls).map(([k, v]) => `${k} ${v.ok + v.failed}`).join(', ')}; recovered in ${rec === null ? '-' : ms(rec)}; flow ${ms(r.ms)}${r.approvals > 1 ? `; ${r.approvals} URLs approved` : ''}`,
        `${ep} requests <= ${bound}`,
      );
    }
  });

  async function scenario(what: string, ep: EndpointName, bound: number, setup: () => void, side?: (d: DaemonProcess) => Promise<void>) {
    const r = await flow(setup, side);
    const sent = requests(ep);
    assert.ok(sent <= bound, `${what}: ${sent} ${ep} requests, plan allows ${bound}`);
    rows.push([what, r, ep, bound]);
    return r;
  }

  const sc = (...a: Parameters<typeof scenario>): Promise<void> => scenario(...a).then(() => undefined);

  it('5xx burst on request_token (3 x 503)', () => sc('5xx burst: 3 x 503 on request_token', 'request_token', 4, () => (s.provider.faults.fail5xx = { count: 3, status: 503 })));

  it('5xx on access_token (2 x 500)', async () => {
    const r = await scenario('5xx: 2 x 500 on access_token', 'access_token', 3, () => (s.provider.faults.fail5xx = { count: 2, status: 500, endpoint: 'access_token' }));
    assert.equal(s.provider.stats().access_token.outcomes.ok, 1);
    void r;
  });

  it('timeout: request_token replies held beyond the client timeout', () =>
    sc('timeout: request_token reply held 5 s (client timeout 3 s), twice', 'request_token', 3, () => {
      s.provider.faults.delayMs = 5000;
      s.provider.faults.delayEndpoint = 'request_token';
    }, () => clearAfter('request_token', 2, () => (s.provider.faults.delayMs = 0))));

  it('reset before processing (request_token)', () => sc('reset before processing: 2 on request_token', 'request_token', 3, () => (s.provider.faults.drop = { count: 2, when: 'before', endpoint: 'request_token' })));

  it('reset after processing on access_token: the PIN is used, never sent again', async () => {
    const r = await scenario('reset after processing: access_token reply lost (PIN used)', 'access_token', 2, () => (s.provider.faults.drop = { count: 1, when: 'after', endpoint: 'access_token' }));
    const o = s.provider.stats().access_token.outcomes;
    assert.equal(o.ok, 1, JSON.stringify(o));
    assert.deepEqual(Object.keys(o).filter((k) => k !== 'ok' && !k.startsWith('dropped')), [], `a PIN was exchanged twice: ${JSON.stringify(o)}`);
    assert.equal(r.approvals, 2, 'a fresh URL after the lost reply');
  });

  it('429 with Retry-After is honoured', async () => {
    const r = await scenario('429 Retry-After 2 s on request_token', 'request_token', 2, () => (s.provider.faults.rateLimit = { count: 1, retryAfterSec: 2, endpoint: 'request_token' }));
    const rt = r.d.logs.filter((l) => l.op === 'request_token' && String(l.msg).startsWith('oauth call'));
    assert.equal(rt.length, 2);
    const gap = t(rt[1]!) - t(rt[0]!);
    assert.ok(gap >= 1900, `retried ${gap} ms after a Retry-After of 2 s`);
  });

  it('slow replies below the timeout', () => sc('slow replies: every reply 1.5 s late', 'request_token', 1, () => (s.provider.faults.delayMs = 1500)));

  it('HTML instead of form-encoded', () => sc('HTML (captive portal) on request_token, twice', 'request_token', 3, () => (s.provider.faults.malformed = { count: 2, kind: 'html', endpoint: 'request_token' })));

  it('missing fields', () => sc('missing fields on request_token', 'request_token', 2, () => (s.provider.faults.malformed = { count: 1, kind: 'missing-fields', endpoint: 'request_token' })));

  it('10 MB body', () => sc('10 MiB body on request_token', 'request_token', 2, () => (s.provider.faults.malformed = { count: 1, kind: 'huge', endpoint: 'request_token' })));

  it('garbage on access_token', () => sc('garbage bytes on access_token', 'access_token', 2, () => (s.provider.faults.malformed = { count: 1, kind: 'garbage', endpoint: 'access_token' })));

  it('provider clock 1 h ahead', () => sc('skewed clock: provider 1 h ahead', 'request_token', 2, () => (s.provider.faults.clockSkewSec = 3600)));

  it('provider clock 1 h behind', () => sc('skewed clock: provider 1 h behind', 'request_token', 2, () => (s.provider.faults.clockSkewSec = -3600)));
});

describe('secrets at trace level', () => {
  it('status, doctor and every flow and error above: no secret in any output', async () => {
    for (const cmd of [['status'], ['status', '--json'], ['doctor']]) {
      const r = await s.cli(cmd);
      outputs.push(r.stdout, r.stderr);
    }
    const all = outputs.join('\n');
    const screen = display.join('\n');
    const planted: Array<[string, Set<string> | string[]]> = [
      ['consumer secret', [DEMO_SECRET]],
      ['access token secrets', secrets.tokenSecrets],
      ['request token secrets', secrets.requestSecrets],
      ['signatures', signatures],
      ['PINs', secrets.pins],
    ];
    let hits = 0;
    const found: string[] = [];
    for (const [what, values] of planted) {
      for (const v of values) {
        if (all.includes(v) || (what !== 'PINs' && screen.includes(v))) {
          hits++;
          found.push(what);
        }
      }
    }
    const counts = planted.map(([w, v]) => `${[...v].length} ${w}`).join(', ');
    assert.ok(signatures.size > 10 && secrets.pins.size > 5 && secrets.tokenSecrets.size > 5, counts);
    assert.ok(all.includes('"level":20'), 'debug lines are there (the daemon ran with PINAUTHD_LOG_LEVEL=trace; nothing in src logs at trace itself)');
    record('5 hostile input', `secret scan (trace logs of ${outputs.length} outputs, display traffic, status, doctor): ${counts}`, hits, '0');
    assert.deepEqual(found, []);
    const pinOnScreen = [...secrets.pins].filter((p) => screen.includes(p)).length;
    record('5 hostile input', 'PINs seen in display traffic (the typed-digit echo, by design)', `${pinOnScreen}/${secrets.pins.size}`);
  });
});
