/** The token store's document. Never holds the consumer secret. */

export interface Account {
  provider: string;
  consumerKey: string;
  userId: string;
  screenName: string;
  token: string;
  tokenSecret: string;
  /** ISO 8601 */
  createdAt: string;
  /** ISO 8601, or null before the first verification. */
  verifiedAt: string | null;
  extra?: Record<string, string>;
}

export interface PendingAuthorization {
  provider: string;
  consumerKey: string;
  token: string;
  tokenSecret: string;
  authorizeUrl: string;
  /** ISO 8601 */
  issuedAt: string;
  /** Wrong PINs already typed for this request token (absent: none), so a restart keeps the count. */
  wrongPins?: number;
}

export interface StoreData {
  version: 1;
  accounts: Account[];
  pending: PendingAuthorization | null;
}
