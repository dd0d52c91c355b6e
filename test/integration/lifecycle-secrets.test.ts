/**
 * No secret in any output: a whole flow plus its error paths at PINAUTHD_LOG_LEVEL=trace,
 * then every byte the daemon and the CLI printed, and every command the display received,
 * is searched for the consumer secret, the access and request token secrets, any
 * oauth_signature and every PIN typed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEMO_SECRET, Stack, type DaemonProcess } from '../helpers/stack.js';

describe('secrets stay out of every output (trace level)', () => {
  let s: Stack;
  const received: string[] = [];
  before(async () => {
    s = await Stack.start({ profile: 'lcd20x4', keypadMode: 'keys', logLevel: 'trace' });
    s.sim.on('command', (c: { raw: string }) => received.push(c.raw));
  });
  after(async () => {
    await s.close();
  });

  it('a flow with wrong PIN, skew, 5xx, lost reply, malformed reply, revocation, reauth and logout', async () => {
    const pins: string[] = [];
    const requestSecrets = new Set<string>();
    const accessSecrets = new Set<string>();
    const cliOut: string[] = [];
    const daemons: DaemonProcess[] = [];
    const pendingSecret = async () => {
      const token = await s.pendingToken();
      const st = await s.readStoreWhen((store) => store.pending?.token === token);
      requestSecrets.add(st.pending.tokenSecret);
    };
    const cli = async (args: string[]) => {
      const r = await s.cli(args);
      cliOut.push(r.stdout, r.stderr);
      return r;
    };

    s.provider.faults.clockSkewSec = 900; // the timestamp rejection path
    s.provider.faults.fail5xx = { count: 1, endpoint: 'request_token' };
    let d = s.spawn(['run']);
    daemons.push(d);
    await d.waitForState('awaiting_pin');
    await pendingSecret();
    let token = await s.pendingToken();
    let pin = s.provider.approve(token);
    pins.push(pin);
    const wrong = pin === '1111111' ? '2222222' : '1111111';
    pins.push(wrong);
    s.typeKeys(wrong); // wrong PIN
    await d.waitForState('awaiting_pin', 15_000, 2);
    s.provider.faults.drop = { count: 1, when: 'after', endpoint: 'access_token' };
    s.typeKeys(pin); // reply lost: a fresh code
    await d.waitForState('awaiting_pin', 15_000, 3);
    await pendingSecret();
    s.provider.faults.malformed = { count: 1, kind: 'html', endpoint: 'access_token' };
    pin = s.provider.approve(await s.pendingToken());
    pins.push(pin);
    s.typeKeys(pin); // malformed reply: a fresh code
    await d.waitForState('awaiting_pin', 15_000, 4);
    await pendingSecret();
    pin = await s.approve();
    pins.push(pin);
    await cli(['status', '--json']);
    await cli(['doctor']);
    s.typeKeys(pin);
    await d.waitForState('authorized');
    accessSecrets.add((await s.readStore()).accounts[0].tokenSecret);
    await cli(['status', '--json']);
    await cli(['status']);
    await cli(['doctor', '--json']);

    // Revoked, found at restart; then reauth and logout.
    assert.equal(await d.stop('SIGTERM'), 0);
    s.provider.faults.rejectAccessTokens();
    d = s.spawn(['run']);
    daemons.push(d);
    await d.waitForState('awaiting_pin');
    await pendingSecret();
    pin = await s.approve();
    pins.push(pin);
    s.typeKeys(pin);
    await d.waitForState('authorized');
    accessSecrets.add((await s.readStore()).accounts[0].tokenSecret);
    const re = await cli(['reauth']);
    assert.equal(re.code, 0, `reauth: ${re.stdout} ${re.stderr}\n${d.output.slice(-1500)}`);
    await d.waitForState('awaiting_pin', 15_000, 2);
    await pendingSecret();
    await cli(['logout']);
    await cli(['status', '--json']);
    assert.equal(await d.stop('SIGTERM'), 0);

    assert.equal(accessSecrets.size, 2);
    assert.ok(requestSecrets.size >= 4, `request token secrets seen: ${requestSecrets.size}`);
    // Nothing in src/ logs at trace today; at trace every debug line (oauth calls, the
    // device traffic) is written, which is what the scan needs.
    assert.ok(daemons.every((x) => x.logs.some((l) => l.level === 20 && l.msg === 'oauth call')), 'debug lines were written');

    const daemonOut = daemons.map((x) => x.output).join('\n');
    const display = received.join('\n');
    const everything: Record<string, string> = { daemon: daemonOut, cli: cliOut.join('\n'), display };
    const secrets: Record<string, string> = { 'consumer secret': DEMO_SECRET };
    [...accessSecrets].forEach((v, i) => (secrets[`access token secret ${i}`] = v));
    [...requestSecrets].forEach((v, i) => (secrets[`request token secret ${i}`] = v));
    const hits: string[] = [];
    for (const [where, text] of Object.entries(everything)) {
      for (const [what, value] of Object.entries(secrets)) if (text.includes(value)) hits.push(`${what} in ${where}`);
      // Any signature value (the Authorization header carries one as well).
      const sig = /.{0,200}(oauth_signature|oauth_verifier\W{0,3}=).{0,100}/i.exec(text);
      if (sig) hits.push(`${sig[1]} in ${where}: ${sig[0]}`);
      if (/OAuth oauth_/.test(text)) hits.push(`an Authorization header in ${where}`);
      // The PIN (the pinpad firmware echoes typed digits itself; the daemon never sends them).
      for (const p of pins) if (text.includes(p)) hits.push(`PIN in ${where}`);
    }
    assert.deepEqual(hits, [], hits.join('\n'));
  });
});
