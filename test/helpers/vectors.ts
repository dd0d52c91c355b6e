/** Loads the shared published OAuth 1.0a vectors (../shared/vectors/oauth1.json), as given. */
import { readFileSync } from 'node:fs';

export interface SignatureVector {
  source: string;
  method: string;
  url: string;
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: Record<string, string>;
  oauth: Record<string, string>;
  consumer_secret: string;
  token_secret: string;
  base_string?: string;
  signature: string;
}

export interface Vectors {
  signatures: SignatureVector[];
  base_strings: { source: string; method: string; url: string; body: string; oauth: Record<string, string>; base_string: string }[];
  plaintext: { source: string; consumer_secret: string; token_secret: string; signature: string }[];
  percent_encoding: { cases: [string, string][] };
  methods_over_one_base_string: {
    base_string: string;
    consumer_secret: string;
    token_secret: string;
    'HMAC-SHA1': string;
    'HMAC-SHA256': string;
    PLAINTEXT: string;
  };
  provider_replies: { request_token: string; access_token: string; error_shapes_seen: string[]; error_codes: Record<string, string> };
}

/** ../shared/ beside the checkout (as CI lays it out), read once. */
let cached: Vectors | undefined;
export function loadVectors(): Vectors {
  if (cached) return cached;
  const file = new URL('../../../shared/vectors/oauth1.json', import.meta.url);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`the published OAuth vectors are read from ../shared/vectors/oauth1.json beside the checkout, as CI lays it out, and ${file.pathname} cannot be read (${(e as NodeJS.ErrnoException).code}): put the shared directory (or a link to it) next to the checkout`, { cause: e });
  }
  cached = JSON.parse(text) as Vectors;
  return cached;
}
