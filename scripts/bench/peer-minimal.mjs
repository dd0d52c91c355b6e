// The practical floor: the smallest Node client that does the first step of the PIN flow
// (oauth-1.0a + node-fetch) and prints the authorize URL. Usage: node peer-minimal.mjs BASE KEY SECRET
import crypto from 'node:crypto';
import OAuth from 'oauth-1.0a';
import fetch from 'node-fetch';

const [base, key, secret] = process.argv.slice(2);
const oauth = new OAuth({
  consumer: { key, secret },
  signature_method: 'HMAC-SHA1',
  hash_function: (text, k) => crypto.createHmac('sha1', k).update(text).digest('base64'),
});
const url = `${base}/oauth/request_token`;
const data = { oauth_callback: 'oob' };
// oauth_callback goes in the Authorization header with the other oauth_* parameters.
const res = await fetch(url, { method: 'POST', headers: { ...oauth.toHeader(oauth.authorize({ url, method: 'POST', data })) } });
const token = new URLSearchParams(await res.text()).get('oauth_token');
process.stdout.write(`${base}/oauth/authorize?oauth_token=${token}\n`);
if (process.env.BENCH_HOLD) setTimeout(() => {}, 60_000); // the bench reads /proc, then kills us
