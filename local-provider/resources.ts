/**
 * API resources of the local provider, in X's shapes: what the signing proxy's examples and
 * tests call. Each request is authenticated with an access token by the provider (the
 * signature over the query and a form body, never over a JSON or binary body); these
 * functions only build the replies.
 */
import { randomInt } from 'node:crypto';
import { jsonReply, type Reply } from './replies.js';
import type { Param } from './signature.js';

export type ResourceName = 'users_me' | 'statuses_update' | 'tweets' | 'media_upload' | 'echo';

export interface ResourceUser {
  id: string;
  screenName: string;
  name?: string;
}

/** Which resource a method and path name, or null. `/echo/...` takes any method and path below it. */
export function resourceFor(method: string, path: string): ResourceName | null {
  if (path.startsWith('/echo/') || path === '/echo') return 'echo';
  if (method === 'GET' && path === '/2/users/me') return 'users_me';
  if (method === 'POST' && path === '/1.1/statuses/update.json') return 'statuses_update';
  if (method === 'POST' && path === '/2/tweets') return 'tweets';
  if (method === 'POST' && path === '/1.1/media/upload.json') return 'media_upload';
  return null;
}

/** Which resources take their body as a stream (counted and hashed, never held). */
export function streamsBody(name: ResourceName, isForm: boolean): boolean {
  return name === 'media_upload' || (name === 'echo' && !isForm);
}

function newId(): string {
  // a snowflake-sized decimal string, as X's ids are
  return `${Date.now()}${String(randomInt(1_000_000)).padStart(6, '0')}`;
}

export function usersMe(user: ResourceUser): Reply {
  return jsonReply(200, { data: { id: user.id, name: user.name ?? user.screenName, username: user.screenName } }, 'ok');
}

/** v1.1 statuses/update: a form body with `status` (signed). */
export function statusesUpdate(user: ResourceUser, params: Param[]): Reply {
  const status = params.find(([n]) => n === 'status')?.[1];
  if (status === undefined || status === '') {
    return jsonReply(403, { errors: [{ code: 170, message: 'Missing required parameter: status.' }] }, 'missing_status');
  }
  const id = newId();
  return jsonReply(200, { id_str: id, text: status, user: { id_str: user.id, screen_name: user.screenName } }, 'ok');
}

/** v2 tweets: a JSON body `{"text": ...}` (not signed). */
export function tweets(body: string): Reply {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return jsonReply(400, { title: 'Invalid Request', detail: 'The request body is not valid JSON.', type: 'about:blank', status: 400 }, 'bad_json');
  }
  const text = (value as { text?: unknown } | null)?.text;
  if (typeof text !== 'string' || text === '') {
    return jsonReply(400, { title: 'Invalid Request', detail: 'The `text` field is required.', type: 'about:blank', status: 400 }, 'missing_text');
  }
  const id = newId();
  return jsonReply(201, { data: { id, text, edit_history_tweet_ids: [id] } }, 'ok');
}

/** A binary upload, streamed: its size and SHA-256 back. */
export function mediaUpload(size: number, sha256: string): Reply {
  return jsonReply(200, { media_id_string: newId(), size, sha256 }, 'ok');
}

/** What the provider received and checked the signature over: for tests of the path, query and body handling. */
export function echo(method: string, path: string, params: Param[], contentType: string, body: { size: number; sha256: string } | string): Reply {
  const signed = params.filter(([n]) => !n.startsWith('oauth_'));
  return jsonReply(
    200,
    {
      method,
      path,
      params: signed,
      contentType,
      ...(typeof body === 'string' ? { body } : { bodySize: body.size, bodySha256: body.sha256 }),
    },
    'ok',
  );
}
