/**
 * Whether a request to the provider goes through an HTTP proxy, and which: the one place that
 * decides, for the OAuth client, `doctor` and the signing proxy alike.
 *
 * `provider.proxy` in the config wins ("" or "none": never a proxy). Without it the standard
 * variables are read as curl reads them: `https_proxy`/`HTTPS_PROXY` for https targets
 * (`http_proxy`/`HTTP_PROXY` for http ones), then `all_proxy`/`ALL_PROXY`, the lower-case name
 * first; `no_proxy`/`NO_PROXY` lists the hosts that go direct. A loopback target (the local
 * provider) never goes through a proxy; plain http goes only to loopback, so in practice only
 * https targets are ever proxied, by a CONNECT tunnel (./proxy-tunnel.ts).
 *
 * A proxy URL may carry `user:pass@`: that is a secret. It becomes a Proxy-Authorization value
 * here and is never part of what is shown (`shown`: scheme://host:port).
 */
import { BlockList, isIP } from 'node:net';
import { PinauthError } from '../errors.js';
import { isLoopbackHost } from './url-policy.js';

export interface ProxyRoute {
  protocol: 'http:' | 'https:';
  /** Without brackets for IPv6, as net.connect wants it. */
  hostname: string;
  port: number;
  /** `host:port` for messages, logs and status: never the credentials. */
  shown: string;
  /** Where it was set: `provider.proxy`, `HTTPS_PROXY`, `https_proxy`, `ALL_PROXY`... */
  source: string;
  /** `Basic ...` when the URL had credentials: a secret, never logged. */
  authorization?: string;
}

export type ProxyDecision = { route: ProxyRoute } | { route: null; why: string };

/** Every variable proxyFor() reads, in both spellings. */
export const PROXY_VARIABLES: readonly string[] = ['https_proxy', 'http_proxy', 'all_proxy', 'no_proxy'].flatMap((n) => [n, n.toUpperCase()]);

/** The longest proxy URL or NO_PROXY list read (a bound on what the environment can hand us). */
const MAX_LENGTH = 4096;

function readVar(env: NodeJS.ProcessEnv, name: string): { name: string; value: string } | null {
  for (const n of [name, name.toUpperCase()]) {
    const v = env[n];
    if (v !== undefined && v.trim() !== '') return { name: n, value: v.trim() };
  }
  return null;
}

/**
 * Parse a proxy URL (`http://host:port`, `https://host:port`, or `host:port` meaning http).
 * Errors name `source` and never repeat the value (it may hold a password).
 */
export function parseProxyUrl(text: string, source: string): ProxyRoute {
  const bad = (why: string) => new PinauthError('CONFIG_INVALID', `${source}: ${why}`);
  if (text.length > MAX_LENGTH) throw bad(`longer than ${MAX_LENGTH} characters`);
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw bad('is not a valid proxy URL (write it as http://host:port)');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw bad(`${u.protocol.slice(0, 20)}// proxies are not supported: only http:// and https:// proxies (which tunnel with CONNECT)`);
  }
  if (u.hostname === '') throw bad('has no host');
  if ((u.pathname !== '/' && u.pathname !== '') || u.search !== '' || u.hash !== '') throw bad('must be scheme://host:port without a path or query');
  const protocol = u.protocol;
  const port = u.port === '' ? (protocol === 'https:' ? 443 : 80) : Number(u.port);
  const route: ProxyRoute = {
    protocol,
    hostname: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    shown: `${u.hostname}:${port}`,
    source,
  };
  if (u.username !== '' || u.password !== '') {
    let user: string;
    let pass: string;
    try {
      user = decodeURIComponent(u.username);
      pass = decodeURIComponent(u.password);
    } catch {
      throw bad('has malformed percent-encoding in its user name or password');
    }
    route.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  }
  return route;
}

/** What `provider.proxy` holds after loading: null (use the environment), '' (never) or a URL. */
export function normalizeProxySetting(value: string | undefined): string | null {
  if (value === undefined) return null;
  const v = value.trim();
  return v === '' || v.toLowerCase() === 'none' ? '' : v;
}

function defaultPort(protocol: string): number {
  return protocol === 'https:' ? 443 : 80;
}

/** One NO_PROXY entry, parsed: a name (suffix match), an address or a CIDR block, each with an optional port. */
function parseEntry(raw: string): { host: string; port: number | null; cidr: BlockList | null } | null {
  let entry = raw.trim().toLowerCase();
  if (entry === '') return null;
  let port: number | null = null;
  // [v6]:port, [v6], v4:port, name:port; a bare IPv6 address keeps its colons
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracket) {
    entry = bracket[1]!;
    port = bracket[2] !== undefined ? Number(bracket[2]) : null;
  } else if (isIP(entry.split('/')[0]!) !== 6) {
    const withPort = /^(.*):(\d+)$/.exec(entry);
    if (withPort) {
      entry = withPort[1]!;
      port = Number(withPort[2]);
    }
  }
  const slash = entry.indexOf('/');
  if (slash > 0) {
    const addr = entry.slice(0, slash);
    const bits = Number(entry.slice(slash + 1));
    const kind = isIP(addr);
    if (kind === 0 || !Number.isInteger(bits) || bits < 0 || bits > (kind === 4 ? 32 : 128)) return null;
    const cidr = new BlockList();
    cidr.addSubnet(addr, bits, kind === 4 ? 'ipv4' : 'ipv6');
    return { host: entry, port, cidr };
  }
  // curl: a leading dot (and, as most tools accept, "*.") means the same as none
  entry = entry.replace(/^\*?\./, '').replace(/\.$/, '');
  return entry === '' ? null : { host: entry, port, cidr: null };
}

/**
 * Whether NO_PROXY (`list`) exempts `hostname:port`, as curl reads it: `*` matches every
 * host; a name matches itself and every subdomain (`example.com` and `.example.com` both
 * cover `api.example.com` and `example.com`); an IP address matches only that address, a
 * CIDR block (`10.0.0.0/8`, `fd00::/8`) the addresses in it; `:port` limits an entry to
 * that port. Entries are separated by commas or white space.
 */
export function noProxyMatches(list: string, hostname: string, port: number): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.$/, '');
  const kind = isIP(host);
  for (const raw of list.slice(0, MAX_LENGTH).split(/[\s,]+/)) {
    if (raw.trim() === '*') return true;
    const entry = parseEntry(raw);
    if (entry === null || (entry.port !== null && entry.port !== port)) continue;
    if (entry.cidr) {
      if (kind !== 0 && entry.cidr.check(host, kind === 4 ? 'ipv4' : 'ipv6')) return true;
      continue;
    }
    if (kind !== 0) {
      // compare addresses, not spellings (::1 and 0:0::1 are one address)
      if (isIP(entry.host) === kind && sameAddress(entry.host, host, kind)) return true;
      continue;
    }
    if (isIP(entry.host) === 0 && (host === entry.host || host.endsWith(`.${entry.host}`))) return true;
  }
  return false;
}

function sameAddress(a: string, b: string, kind: number): boolean {
  const list = new BlockList();
  list.addAddress(a, kind === 4 ? 'ipv4' : 'ipv6');
  return list.check(b, kind === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The proxy for a request to `target`, or why there is none. `setting` is provider.proxy as
 * loaded (null: read the environment). Throws CONFIG_INVALID for a proxy URL that cannot be
 * used, naming the variable or setting.
 */
export function proxyFor(target: URL, setting: string | null, env: NodeJS.ProcessEnv = process.env): ProxyDecision {
  if (isLoopbackHost(target.hostname)) return { route: null, why: `${target.host} is this machine (loopback never goes through a proxy)` };
  if (setting !== null) {
    if (setting === '') return { route: null, why: 'provider.proxy is "none"' };
    return { route: parseProxyUrl(setting, 'provider.proxy') };
  }
  const scheme = target.protocol === 'https:' ? 'https' : 'http';
  const picked = readVar(env, `${scheme}_proxy`) ?? readVar(env, 'all_proxy');
  if (picked === null) return { route: null, why: `no proxy set (provider.proxy, ${scheme}_proxy/${scheme.toUpperCase()}_PROXY, ALL_PROXY)` };
  const noProxy = readVar(env, 'no_proxy');
  const port = target.port === '' ? defaultPort(target.protocol) : Number(target.port);
  if (noProxy && noProxyMatches(noProxy.value, target.hostname, port)) {
    return { route: null, why: `${noProxy.name} exempts ${target.hostname}` };
  }
  return { route: parseProxyUrl(picked.value, picked.name) };
}

/** One line for status and doctor: which proxy a target uses and where that was set. */
export function describeProxy(decision: ProxyDecision): string {
  if (decision.route === null) return `direct: ${decision.why}`;
  const r = decision.route;
  return `through ${r.protocol === 'https:' ? 'https' : 'http'} proxy ${r.shown} (from ${r.source}${r.authorization ? ', with credentials' : ''})`;
}
