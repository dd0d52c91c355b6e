/**
 * The token store file's shape as a JSON schema. scripts/generate-validators.ts compiles it
 * at build time into src/generated/store-validator.ts, which ./token-store.ts checks every
 * file it reads with (this module must not import that one).
 */
import { VALUE_LIMITS, VISIBLE_ASCII } from '../untrusted.js';

const isoString = { type: 'string', minLength: 1, maxLength: 64 } as const;
const shortString = { type: 'string', minLength: 1, maxLength: 4096 } as const;
// The same bounds and characters the OAuth client accepts from a provider (src/untrusted.ts).
const tokenString = { type: 'string', minLength: 1, maxLength: VALUE_LIMITS.token, pattern: VISIBLE_ASCII.source } as const;

export const storeSchema = {
  type: 'object',
  required: ['version', 'accounts', 'pending'],
  properties: {
    version: { const: 1 },
    accounts: {
      type: 'array',
      maxItems: 1000,
      items: {
        type: 'object',
        required: ['provider', 'consumerKey', 'userId', 'screenName', 'token', 'tokenSecret', 'createdAt', 'verifiedAt'],
        properties: {
          provider: shortString,
          consumerKey: shortString,
          userId: { type: 'string', maxLength: VALUE_LIMITS.userId },
          screenName: { type: 'string', maxLength: VALUE_LIMITS.screenName },
          token: tokenString,
          tokenSecret: tokenString,
          createdAt: isoString,
          verifiedAt: { anyOf: [isoString, { type: 'null' }] },
          extra: {
            type: 'object',
            maxProperties: VALUE_LIMITS.extraFields,
            propertyNames: { maxLength: VALUE_LIMITS.extraName },
            additionalProperties: { type: 'string', maxLength: VALUE_LIMITS.extraValue },
          },
        },
      },
    },
    pending: {
      anyOf: [
        { type: 'null' },
        {
          type: 'object',
          required: ['provider', 'consumerKey', 'token', 'tokenSecret', 'authorizeUrl', 'issuedAt'],
          properties: {
            provider: shortString,
            consumerKey: shortString,
            token: tokenString,
            tokenSecret: tokenString,
            authorizeUrl: { type: 'string', minLength: 1, maxLength: VALUE_LIMITS.authorizeUrl },
            issuedAt: isoString,
            // at most daemon.pinTries' own maximum
            wrongPins: { type: 'integer', minimum: 0, maximum: 100 },
          },
        },
      ],
    },
  },
} as const;
