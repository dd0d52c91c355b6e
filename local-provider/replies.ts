/**
 * Reply bodies in the shapes Twitter/X actually sends: JSON `{"errors":[...]}` for the API,
 * bare text for some oauth/* failures, and (with the xmlErrors fault) the older XML shapes.
 */

export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
  /** Short label for stats() and the log; never contains a secret. */
  outcome: string;
}

export const TwitterErrors = {
  couldNotAuthenticate: { code: 32, message: 'Could not authenticate you.' },
  rateLimited: { code: 88, message: 'Rate limit exceeded' },
  invalidToken: { code: 89, message: 'Invalid or expired token.' },
  overCapacity: { code: 130, message: 'Over capacity' },
  internalError: { code: 131, message: 'Internal error' },
  timestamp: { code: 135, message: 'Timestamp out of bounds.' },
  badAuthData: { code: 215, message: 'Bad Authentication data.' },
  oobOnly: { code: 417, message: "Desktop applications only support the oauth_callback value 'oob'" },
} as const;

export type TwitterError = { code: number; message: string };

const XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>';

function xmlEscape(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** An API error: `{"errors":[{"code":N,"message":"..."}]}`, or `<errors><error code="N">` in XML mode. */
export function apiError(status: number, err: TwitterError, outcome: string, xml: boolean): Reply {
  if (xml) {
    return {
      status,
      headers: { 'content-type': 'application/xml; charset=utf-8' },
      body: `${XML_HEAD}<errors><error code="${err.code}">${xmlEscape(err.message)}</error></errors>`,
      outcome,
    };
  }
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify({ errors: [{ code: err.code, message: err.message }] }),
    outcome,
  };
}

/**
 * The bare-text oauth/* failures ("Invalid request token", "Error processing your OAuth
 * request: ..."), or the `<hash><error>..</error><request>..</request></hash>` XML shape.
 */
export function oauthTextError(status: number, text: string, path: string, outcome: string, xml: boolean): Reply {
  if (xml) {
    return {
      status,
      headers: { 'content-type': 'application/xml; charset=utf-8' },
      body: `${XML_HEAD}<hash><error>${xmlEscape(text)}</error><request>${xmlEscape(path)}</request></hash>`,
      outcome,
    };
  }
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: text, outcome };
}

/** Twitter answers the token endpoints form-encoded but labelled text/html; we do the same. */
export function formReply(fields: Record<string, string>, outcome: string): Reply {
  return {
    status: 200,
    headers: { 'content-type': 'text/html; charset=utf-8' },
    body: new URLSearchParams(fields).toString(),
    outcome,
  };
}

export function jsonReply(status: number, value: unknown, outcome: string): Reply {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify(value),
    outcome,
  };
}

export function htmlReply(status: number, html: string, outcome: string): Reply {
  return {
    status,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      // The PIN page must not be cached or framed.
      'cache-control': 'no-store',
      'x-frame-options': 'DENY',
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    },
    body: html,
    outcome,
  };
}
