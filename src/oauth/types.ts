/** What the OAuth 1.0a client hands to the rest of the daemon. */

export interface RequestToken {
  token: string;
  secret: string;
  /** Full authorize URL in its shortest form (`...?oauth_token=...`). */
  authorizeUrl: string;
  /** ms since epoch (local clock, corrected by the known skew). */
  issuedAt: number;
}

export interface AccessToken {
  token: string;
  secret: string;
  userId: string;
  screenName: string;
  /** Any other fields of the access_token reply, as sent. */
  extra: Record<string, string>;
}

export interface VerifiedIdentity {
  userId: string;
  screenName: string;
}

export interface OAuthClientApi {
  /** POST request_token with oauth_callback=oob. */
  requestToken(): Promise<RequestToken>;
  /** The authorize URL for a request token (no network). */
  authorizeUrl(requestToken: string): string;
  /** POST access_token with the PIN as oauth_verifier. Never retried blindly. */
  exchange(request: { token: string; secret: string }, pin: string): Promise<AccessToken>;
  /** Verify an access token; null when the provider has no verify endpoint. */
  verify(access: { token: string; secret: string }): Promise<VerifiedIdentity | null>;
  /** Invalidate an access token at the provider; false when the provider cannot. */
  invalidate(access: { token: string; secret: string }): Promise<boolean>;
  /** Known offset of the provider's clock from ours (ms, provider minus local). */
  readonly clockOffsetMs: number;
}
