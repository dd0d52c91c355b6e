/**
 * Where the OAuth client may send requests: https anywhere, plain http only to this machine
 * and only when the configuration says so (tests and the bundled local provider).
 */
import { isIP } from 'node:net';
import { PinauthError } from '../errors.js';

/** True for 127.0.0.0/8, ::1 (and its IPv4-mapped forms of 127/8) and `localhost`. */
export function isLoopbackHost(hostname: string): boolean {
  // URL.hostname keeps the brackets of an IPv6 literal.
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const kind = isIP(host);
  if (kind === 4) return host.startsWith('127.');
  if (kind === 6) {
    if (host === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(host)) return true;
    // IPv4-mapped 127/8: written ::ffff:127.0.0.1, which URL parsing turns into ::ffff:7f00:1
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
    if (mapped) return mapped[1]!.startsWith('127.');
    return /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(host);
  }
  return false;
}

/** Parse a URL and apply the policy; throws OAUTH_INSECURE with what to change. */
export function checkUrlPolicy(url: string, allowHttpLoopback: boolean): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PinauthError('OAUTH_INSECURE', `Provider URL is not a valid URL: ${JSON.stringify(url.slice(0, 200))}. Fix the provider URLs in the config.`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new PinauthError('OAUTH_INSECURE', `Provider URL for ${parsed.host} contains a user name or password; remove it from the config.`);
  }
  if (parsed.protocol === 'https:') return parsed;
  if (parsed.protocol === 'http:') {
    if (!isLoopbackHost(parsed.hostname)) {
      throw new PinauthError(
        'OAUTH_INSECURE',
        `Refusing plain http to ${parsed.host}: OAuth requests must use https (plain http is only allowed to a loopback host such as 127.0.0.1 for local testing).`,
      );
    }
    if (!allowHttpLoopback) {
      throw new PinauthError(
        'OAUTH_INSECURE',
        `Refusing plain http to ${parsed.host}: set provider.allowHttpLoopback to true to use a local test provider, or use https.`,
      );
    }
    return parsed;
  }
  throw new PinauthError('OAUTH_INSECURE', `Refusing URL scheme ${parsed.protocol} for ${parsed.host}: OAuth requests must use https.`);
}

/** NODE_TLS_REJECT_UNAUTHORIZED=0 turns off certificate checks for the whole process. */
export function checkTlsEnvironment(env: NodeJS.ProcessEnv = process.env): void {
  if (env.NODE_TLS_REJECT_UNAUTHORIZED === '0') {
    throw new PinauthError(
      'OAUTH_INSECURE',
      'NODE_TLS_REJECT_UNAUTHORIZED=0 is set, which turns off TLS certificate checks: remove it from the environment (and the service unit) before running.',
    );
  }
}
