// The store states of crash-child.mjs: generation g is reached by mutation g % 3:
//   1: savePending (a pending request), 2: saveAccount (token received; clears pending),
//   0: removeAccount (logout). Every state is a pure function of g.
export const PROVIDER = 'local';
export const KEY = 'crash-key';
// As large an account as the store takes (16 extra fields of 256 characters: src/untrusted.ts),
// so that a write takes long enough for kills to land inside it.
const BIG = (g) => Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`note${i}`, `${g}:`.padEnd(256, 'x')]));
const AT = '2024-01-01T00:00:00.000Z';

export function pendingFor(g) {
  return { provider: PROVIDER, consumerKey: KEY, token: `req-${g}`, tokenSecret: `rs-${g}`, authorizeUrl: `https://p.invalid/a?oauth_token=req-${g}`, issuedAt: AT };
}
export function accountFor(g) {
  return {
    provider: PROVIDER, consumerKey: KEY, userId: String(g), screenName: `user${g}`, token: `tok-${g}`,
    tokenSecret: `ts-${g}`, createdAt: AT, verifiedAt: null, extra: BIG(g),
  };
}
/** The whole document after generation g (g >= 0; 0 is the empty store). */
export function stateFor(g) {
  const phase = g % 3;
  if (g === 0 || phase === 0) return { version: 1, accounts: [], pending: null };
  if (phase === 1) return { version: 1, accounts: [], pending: pendingFor(g) };
  return { version: 1, accounts: [accountFor(g)], pending: null };
}
/** The generation a document is at; empty documents are ambiguous, `hint` (the last known) decides. */
export function generationOf(doc, hint) {
  if (doc.pending) return Number(doc.pending.token.slice(4));
  if (doc.accounts.length) return Number(doc.accounts[0].userId);
  return hint % 3 === 0 ? hint : hint + (3 - (hint % 3));
}
export function mutationFor(g) {
  const phase = g % 3;
  if (phase === 1) return (s) => s.savePending(pendingFor(g));
  if (phase === 2) return (s) => s.saveAccount(accountFor(g));
  return (s) => s.removeAccount(PROVIDER, KEY);
}
