#!/usr/bin/env node
/**
 * twurl-style "one process per request" for the proxy bench: load the token from the store
 * file, sign with oauth-1.0a (HMAC-SHA1 from node:crypto), make the call, print the status.
 *   PINAUTHD_CONSUMER_KEY=.. PINAUTHD_CONSUMER_SECRET=.. node oneshot-request.mjs STORE URL
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import OAuth from 'oauth-1.0a';

const [store, url] = process.argv.slice(2);
const account = JSON.parse(readFileSync(store, 'utf8')).accounts[0];
const oauth = new OAuth({
  consumer: { key: process.env.PINAUTHD_CONSUMER_KEY, secret: process.env.PINAUTHD_CONSUMER_SECRET },
  signature_method: 'HMAC-SHA1',
  hash_function: (base, key) => createHmac('sha1', key).update(base).digest('base64'),
});
const { Authorization } = oauth.toHeader(oauth.authorize({ url, method: 'GET' }, { key: account.token, secret: account.tokenSecret }));
http.get(url, { headers: { Authorization } }, (res) => {
  res.resume();
  res.on('end', () => {
    process.stdout.write(`${res.statusCode}\n`);
    process.exitCode = res.statusCode === 200 ? 0 : 1;
  });
});
