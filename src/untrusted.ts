/**
 * Rules for values and text that come from outside (a provider, a device, a file): the
 * bounds every stored value must keep, one way to make text safe for a terminal, and one
 * way to take OAuth parameters out of text before it is logged or shown. The OAuth client,
 * the token store, the operator commands and the logger all use these, so that what one
 * accepts the others can read, and what one shows the others have cleaned the same way.
 */

/** Bounds on what the token store holds (and the OAuth client accepts from a provider). */
export const VALUE_LIMITS = {
  /** oauth_token / oauth_token_secret, request or access: visible ASCII. */
  token: 1024,
  /** user_id: visible ASCII. */
  userId: 64,
  /** screen_name (code points; a display and status value only). */
  screenName: 64,
  /** Other fields of the access_token reply kept with the account. */
  extraFields: 16,
  extraName: 64,
  extraValue: 256,
  /** The authorize URL of a pending authorization (config URL + encoded token). */
  authorizeUrl: 8192,
} as const;

/** Visible ASCII (0x21-0x7E): what a token, a secret or a user id may hold. */
export const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

// C0, DEL, C1, zero-width and bidi formatting (embeddings, overrides, isolates, marks),
// line/paragraph separators, BOM: none of it belongs in a name or a line of output.
const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `text` with each lone surrogate (not valid UTF-16, not printable) as U+FFFD. */
function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\ufffd');
}

/** True when `text` has a character that can steer a terminal or reorder what it shows. */
export function hasUnsafeChars(text: string): boolean {
  UNSAFE_CHARS.lastIndex = 0;
  return UNSAFE_CHARS.test(text);
}

/** `text` with every unsafe character (and lone surrogate: U+FFFD) replaced by `by` (or what it returns). */
export function replaceUnsafe(text: string, by: string | ((char: string) => string)): string {
  return wellFormed(text).replace(UNSAFE_CHARS, by as (char: string) => string);
}

/**
 * `text` as one safe line for a terminal: escape sequences, control characters, newlines
 * and bidi overrides each become one `?` (so that what was there stays visible), and a
 * lone surrogate becomes U+FFFD.
 */
export function terminalSafe(text: string): string {
  return replaceUnsafe(text, '?');
}

/** `text` without unsafe characters and at most `max` code points (for names to keep). */
export function cleanName(text: string, max: number): string {
  return Array.from(replaceUnsafe(text, '').trim()).slice(0, max).join('');
}

/**
 * Take OAuth parameter values and Authorization header values out of `text`, whatever
 * carries them (the problem-reporting fields, oauth_problem and oauth_acceptable_*, say what went wrong and stay): `oauth_x="v"` (a header echoed back), `oauth_x=v` (a form or query),
 * `"oauth_x":"v"` (JSON), `<oauth_x>v` (XML), `Authorization: <scheme> <credentials>`. The names stay, so a
 * message can still say which parameter the provider disliked. Text that went through here
 * once comes out the same again.
 */
export function redactOAuthText(text: string): string {
  if (!/oauth_|authorization/i.test(text)) return text;
  return text
    .replace(/(["']authorization["']\s*:\s*)"(?:[^"\\]|\\.)*"/gi, '$1"[redacted]"')
    .replace(/(\bauthorization\s*[:=])(?!\s*"?\[redacted\])(\s*)[^\r\n]*/gi, '$1$2[redacted]')
    .replace(/(["']?oauth_(?!problem|acceptable_)[a-z_]*["']?\s*[:=>])(?!\s*"?\[redacted\])(\s*)("[^"]*"|'[^']*'|[^\s&,;"'<>}\]]*)/gi, '$1$2[redacted]');
}
