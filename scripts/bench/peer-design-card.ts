// The design card's packages alone, set up as pinauthd sets them up, with nothing else of
// pinauthd's: oauth-1.0a signing, node-fetch, and pino through src/log.ts (its redaction and
// scrub) writing two lines; request_token, then the URL on stdout. The bench bundles it as
// pinauthd's bundle is built (one minified CommonJS file, esbuild), so that the difference
// from pinauthd is pinauthd's own work: config, lock, store, device, display, state machine.
// Usage: node peer-design-card.cjs BASE KEY SECRET
import crypto from 'node:crypto';
import OAuth from 'oauth-1.0a';
import fetch from 'node-fetch';
import { createLogger } from '../../src/log.js';

async function main(): Promise<void> {
  const [base, key, secret] = process.argv.slice(2) as [string, string, string];
  const log = createLogger({ level: 'info', destination: 2 });
  const oauth = new OAuth({
    consumer: { key, secret },
    signature_method: 'HMAC-SHA1',
    hash_function: (text, k) => crypto.createHmac('sha1', k).update(text).digest('base64'),
  });
  const url = `${base}/oauth/request_token`;
  log.info({ url }, 'requesting a token');
  const data = { oauth_callback: 'oob' };
  const res = await fetch(url, { method: 'POST', headers: { ...oauth.toHeader(oauth.authorize({ url, method: 'POST', data })) } });
  const token = new URLSearchParams(await res.text()).get('oauth_token');
  process.stdout.write(`${base}/oauth/authorize?oauth_token=${token}\n`);
  log.info({ status: res.status }, 'authorize URL shown');
  if (process.env.BENCH_HOLD) setTimeout(() => {}, 60_000); // the bench reads /proc, then kills us
}

void main();
