// The peer: twitter-api-v2's generateAuthLink('oob'). It hard-codes https://api.x.com, so its
// httpAgent connects to a loopback TLS endpoint instead, trusting the bench's own certificate
// for api.x.com. Usage: node peer-twitter.mjs TLS_PORT CA_FILE KEY SECRET
import fs from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import { TwitterApi } from 'twitter-api-v2';

const [port, caFile, appKey, appSecret] = process.argv.slice(2);
const ca = fs.readFileSync(caFile);
const agent = new https.Agent({ keepAlive: false });
agent.createConnection = (options, cb) =>
  tls.connect({ ...options, host: '127.0.0.1', port: Number(port), servername: 'api.x.com', ca }, cb);
const client = new TwitterApi({ appKey, appSecret }, { httpAgent: agent });
const link = await client.generateAuthLink('oob');
process.stdout.write(`${link.url}\n`);
if (process.env.BENCH_HOLD) setTimeout(() => {}, 60_000);
