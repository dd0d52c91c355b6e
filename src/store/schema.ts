/**
 * The token store file's shape as a JSON schema. scripts/generate-validators.ts compiles it
 * at build time into src/generated/store-validator.ts, which ./token-store.ts checks every
 * file it reads with (this module must not import that one).
 */
const isoString = { type: 'string', minLength: 1, maxLength: 64 } as const;
const shortString = { type: 'string', minLength: 1, maxLength: 4096 } as const;

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
          userId: { type: 'string', maxLength: 4096 },
          screenName: { type: 'string', maxLength: 4096 },
          token: shortString,
          tokenSecret: shortString,
          createdAt: isoString,
          verifiedAt: { anyOf: [isoString, { type: 'null' }] },
          extra: { type: 'object', additionalProperties: { type: 'string' } },
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
            token: shortString,
            tokenSecret: shortString,
            authorizeUrl: shortString,
            issuedAt: isoString,
          },
        },
      ],
    },
  },
} as const;
