/**
 * Fault switches. Tests set them on `provider.faults`, other processes through
 * POST /__control/faults. Counted faults fire on the next matching requests and count down.
 *
 * A fault with no `endpoint` applies to the signed API endpoints only (request_token,
 * access_token, verify_credentials, invalidate_token): a browser loading the authorize page
 * must not eat a fault meant for the client. Name 'authorize' or 'authenticate' to hit a page.
 */

export type EndpointName =
  | 'request_token'
  | 'authorize'
  | 'authenticate'
  | 'access_token'
  | 'verify_credentials'
  | 'invalidate_token'
  /** The API resources (./resources.ts): /2/users/me, /2/tweets, ... */
  | 'api';

export const API_ENDPOINTS: readonly EndpointName[] = [
  'request_token',
  'access_token',
  'verify_credentials',
  'invalidate_token',
];

export type MalformedKind = 'html' | 'missing-fields' | 'huge' | 'garbage';

/** `endpoint` is an endpoint name ('access_token') or its path ('/oauth/access_token'). */
export interface Fail5xxFault {
  count: number;
  /** 500-599, default 503. */
  status?: number;
  endpoint?: string;
  /** Sent as Retry-After when given. */
  retryAfterSec?: number;
}
export interface DropFault {
  count: number;
  /** before: the socket is destroyed before the request is looked at; after: the request is processed (a PIN is used up) and the reply is lost. */
  when: 'before' | 'after';
  endpoint?: string;
}
export interface RateLimitFault {
  count: number;
  retryAfterSec: number;
  endpoint?: string;
}
export interface MalformedFault {
  count: number;
  /** The request is not processed: a 200 with this body comes back instead. huge = 10 MiB. */
  kind: MalformedKind;
  endpoint?: string;
}

/** The data part of the faults, as GET /__control/state shows and POST /__control/faults takes. */
export interface FaultSettings {
  fail5xx: Fail5xxFault | null;
  /** Every matching reply is held back this long (the request itself is processed at once). */
  delayMs: number;
  delayEndpoint: string | null;
  drop: DropFault | null;
  rateLimit: RateLimitFault | null;
  /** The provider's clock (token checks, timestamps, the Date header) runs this far off. */
  clockSkewSec: number;
  malformed: MalformedFault | null;
  /** Errors in Twitter's old XML shapes instead of JSON / bare text. */
  xmlErrors: boolean;
}

export interface Faults extends FaultSettings {
  /** Every pending request token expires now; returns how many. */
  expireRequestTokens(): number;
  /** Every issued access token becomes invalid, as if the user revoked the app; returns how many. */
  rejectAccessTokens(): number;
}

export function defaultFaultSettings(): FaultSettings {
  return {
    fail5xx: null,
    delayMs: 0,
    delayEndpoint: null,
    drop: null,
    rateLimit: null,
    clockSkewSec: 0,
    malformed: null,
    xmlErrors: false,
  };
}

export function snapshotFaults(f: FaultSettings): FaultSettings {
  return {
    fail5xx: f.fail5xx ? { ...f.fail5xx } : null,
    delayMs: f.delayMs,
    delayEndpoint: f.delayEndpoint,
    drop: f.drop ? { ...f.drop } : null,
    rateLimit: f.rateLimit ? { ...f.rateLimit } : null,
    clockSkewSec: f.clockSkewSec,
    malformed: f.malformed ? { ...f.malformed } : null,
    xmlErrors: f.xmlErrors,
  };
}

export function endpointMatches(filter: string | null | undefined, name: EndpointName, path: string): boolean {
  if (filter === undefined || filter === null || filter === '') return API_ENDPOINTS.includes(name);
  return filter === name || filter === path;
}

/** Take one shot of a counted fault if it applies here; the caller gets it, the counter drops. */
export function takeCounted<T extends { count: number; endpoint?: string }>(
  fault: T | null,
  name: EndpointName,
  path: string,
): T | null {
  if (!fault || !(fault.count > 0) || !endpointMatches(fault.endpoint, name, path)) return null;
  fault.count -= 1;
  return fault;
}

// ---- validation of POST /__control/faults -------------------------------------------------

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 1e6;
const isOptEndpoint = (v: unknown) => v === undefined || (typeof v === 'string' && v.length <= 200);

export const FAULT_KEYS = [
  'fail5xx',
  'delayMs',
  'delayEndpoint',
  'drop',
  'rateLimit',
  'clockSkewSec',
  'malformed',
  'xmlErrors',
  'expireRequestTokens',
  'rejectAccessTokens',
] as const;

/**
 * Check a JSON patch; returns the list of problems (empty when fine). Keys left out keep their
 * value; null clears a fault. expireRequestTokens / rejectAccessTokens: true run those actions.
 */
export function validateFaultPatch(p: unknown): string[] {
  if (!isObj(p)) return ['body must be a JSON object'];
  const errs: string[] = [];
  for (const k of Object.keys(p)) {
    if (!(FAULT_KEYS as readonly string[]).includes(k)) errs.push(`${k}: unknown fault`);
  }
  const f = p.fail5xx;
  if (f !== undefined && f !== null) {
    if (!isObj(f) || !isCount(f.count)) errs.push('fail5xx: needs {count}');
    else {
      if (f.status !== undefined && !(Number.isInteger(f.status) && (f.status as number) >= 500 && (f.status as number) <= 599))
        errs.push('fail5xx.status: 500-599');
      if (f.retryAfterSec !== undefined && !isCount(f.retryAfterSec)) errs.push('fail5xx.retryAfterSec: integer >= 0');
      if (!isOptEndpoint(f.endpoint)) errs.push('fail5xx.endpoint: string');
    }
  }
  if (p.delayMs !== undefined && !(isCount(p.delayMs) && (p.delayMs as number) <= 600_000)) errs.push('delayMs: 0-600000');
  if (p.delayEndpoint !== undefined && p.delayEndpoint !== null && !isOptEndpoint(p.delayEndpoint))
    errs.push('delayEndpoint: string or null');
  const d = p.drop;
  if (d !== undefined && d !== null) {
    if (!isObj(d) || !isCount(d.count) || (d.when !== 'before' && d.when !== 'after'))
      errs.push("drop: needs {count, when: 'before'|'after'}");
    else if (!isOptEndpoint(d.endpoint)) errs.push('drop.endpoint: string');
  }
  const r = p.rateLimit;
  if (r !== undefined && r !== null) {
    if (!isObj(r) || !isCount(r.count) || !isCount(r.retryAfterSec)) errs.push('rateLimit: needs {count, retryAfterSec}');
    else if (!isOptEndpoint(r.endpoint)) errs.push('rateLimit.endpoint: string');
  }
  if (p.clockSkewSec !== undefined && !(typeof p.clockSkewSec === 'number' && Number.isFinite(p.clockSkewSec) && Math.abs(p.clockSkewSec) <= 10 * 365 * 86400))
    errs.push('clockSkewSec: number of seconds');
  const m = p.malformed;
  if (m !== undefined && m !== null) {
    if (!isObj(m) || !isCount(m.count) || !['html', 'missing-fields', 'huge', 'garbage'].includes(m.kind as string))
      errs.push("malformed: needs {count, kind: 'html'|'missing-fields'|'huge'|'garbage'}");
    else if (!isOptEndpoint(m.endpoint)) errs.push('malformed.endpoint: string');
  }
  if (p.xmlErrors !== undefined && typeof p.xmlErrors !== 'boolean') errs.push('xmlErrors: boolean');
  if (p.expireRequestTokens !== undefined && typeof p.expireRequestTokens !== 'boolean') errs.push('expireRequestTokens: boolean');
  if (p.rejectAccessTokens !== undefined && typeof p.rejectAccessTokens !== 'boolean') errs.push('rejectAccessTokens: boolean');
  return errs;
}

/** Copy only the known fields, so a patch cannot plant anything else on the faults object. */
function pick<T extends object>(v: unknown, keys: (keyof T)[]): T | null {
  if (!isObj(v)) return null;
  const out: Partial<T> = {};
  for (const k of keys) if (v[k as string] !== undefined) (out as Obj)[k as string] = v[k as string];
  return out as T;
}

/** Apply a validated patch to the data fields (the actions are run by the caller). */
export function applyFaultPatch(target: FaultSettings, p: Obj): void {
  if ('fail5xx' in p) target.fail5xx = pick<Fail5xxFault>(p.fail5xx, ['count', 'status', 'endpoint', 'retryAfterSec']);
  if ('delayMs' in p) target.delayMs = p.delayMs as number;
  if ('delayEndpoint' in p) target.delayEndpoint = (p.delayEndpoint as string | null) ?? null;
  if ('drop' in p) target.drop = pick<DropFault>(p.drop, ['count', 'when', 'endpoint']);
  if ('rateLimit' in p) target.rateLimit = pick<RateLimitFault>(p.rateLimit, ['count', 'retryAfterSec', 'endpoint']);
  if ('clockSkewSec' in p) target.clockSkewSec = p.clockSkewSec as number;
  if ('malformed' in p) target.malformed = pick<MalformedFault>(p.malformed, ['count', 'kind', 'endpoint']);
  if ('xmlErrors' in p) target.xmlErrors = p.xmlErrors as boolean;
}
