/** Starts a local provider with a clock the test moves by hand, and a client on the same clock. */
import type { TestContext } from 'node:test';
import { startLocalProvider, type LocalProvider, type LocalProviderOptions } from '../../local-provider/provider.js';
import { FlowClient, type RawReply } from './provider-client.js';

export const DEMO = { key: 'pinauthd-demo-key', secret: 'pinauthd-demo-secret' };

export interface Fixture {
  provider: LocalProvider;
  client: FlowClient;
  clock: { ms: number };
  lines: string[];
}

export async function withProvider(t: TestContext, opts: LocalProviderOptions = {}): Promise<Fixture> {
  const clock = { ms: Date.UTC(2024, 4, 1, 12, 0, 0) };
  const lines: string[] = [];
  const provider = await startLocalProvider({ now: () => clock.ms, logger: (l) => lines.push(l), ...opts });
  t.after(() => provider.close());
  const client = new FlowClient(provider.url, DEMO, () => Math.floor(clock.ms / 1000));
  return { provider, client, clock, lines };
}

/** request_token, approve as the person, access_token: returns the access token. */
export async function authorize(f: Fixture): Promise<{ token: string; secret: string; userId: string; screenName: string }> {
  const rt = await f.client.requestToken();
  const pin = f.provider.approve(rt.token);
  const r = await f.client.exchangeCall(rt, pin);
  if (r.status !== 200) throw new Error(`access_token ${r.status}: ${r.text}`);
  const p = new URLSearchParams(r.text);
  return { token: p.get('oauth_token')!, secret: p.get('oauth_token_secret')!, userId: p.get('user_id')!, screenName: p.get('screen_name')! };
}

export function jsonErrors(r: RawReply): { code: number; message: string }[] {
  return (JSON.parse(r.text) as { errors: { code: number; message: string }[] }).errors;
}
