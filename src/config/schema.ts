/**
 * The config file's form: a JSON schema and the matching TypeScript type. The schema is
 * checked before anything else runs, by the validator scripts/generate-validators.ts
 * generates from it with Ajv at build time (so this module must not import src/generated/).
 * Defaults that do not depend on other values live in the schema (Ajv `useDefaults`); the
 * rest (presets, serial defaults, paths) in ./load.ts.
 */
import type { Delimiter, DisplayDriverName, FlowControl, KeypadDriverName, KeypadMode, Parity, SignatureMethod } from './types.js';

export const PRESET_NAMES = ['twitter', 'flickr', 'smugmug', 'local', 'generic'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/** The keys of pinauthd's keypad (docs/protocol.md "Keypad input"). */
export const KEYPAD_KEYS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D'] as const;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface FileSerialSettings {
  baudRate?: number;
  dataBits?: 5 | 6 | 7 | 8;
  parity?: Parity;
  stopBits?: 1 | 1.5 | 2;
  flowControl?: FlowControl;
}

export interface FileConfig {
  provider?: {
    preset: PresetName;
    baseUrl?: string;
    requestTokenUrl?: string;
    authorizeUrl?: string;
    accessTokenUrl?: string;
    verifyUrl?: string | null;
    invalidateUrl?: string | null;
    authorize?: 'authorize' | 'authenticate';
    signatureMethod?: SignatureMethod;
    pin?: { digits: number; template?: string };
    accessType?: string;
    forceLogin?: boolean;
    screenName?: string;
    allowHttpLoopback?: boolean;
    timeoutMs?: number;
    maxReplyBytes?: number;
    requestTokenTtlSec?: number;
    minVerifyIntervalSec?: number;
    apiOrigins?: string[];
    proxy?: string;
  };
  credentials?: { consumerKey?: string; consumerSecret?: string };
  store?: { path?: string };
  display?: {
    driver?: DisplayDriverName;
    port?: string;
    cols?: number;
    rows?: number;
    serial?: FileSerialSettings;
    setSize?: boolean;
  };
  keypad?: {
    driver?: KeypadDriverName;
    port?: string | null;
    mode?: KeypadMode;
    delimiter?: Delimiter;
    autoSubmit?: boolean;
    maxLineBytes?: number;
    serial?: FileSerialSettings;
    keymap?: Record<string, string>;
    grab?: boolean;
  };
  /** Defaults for both ports; display.serial / keypad.serial override field by field. */
  serial?: FileSerialSettings;
  daemon?: {
    verifyIntervalSec?: number;
    verifyOnStart?: boolean;
    pinTries?: number;
    quietAfterUnusedCodes?: number;
    backoff?: { initialMs?: number; maxMs?: number };
    reconnect?: { initialMs?: number; maxMs?: number };
  };
  proxy?: {
    enabled?: boolean;
    socket?: string;
    methods?: string[];
    paths?: string[];
    maxBodyBytes?: number;
    maxFormBytes?: number;
    maxReplyBytes?: number;
    timeoutMs?: number;
    maxConnections?: number;
    rateLimit?: { requests: number; perSeconds: number } | null;
  };
  log?: { level?: LogLevel };
}

export type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> | undefined }
    : T;

const nonEmptyString = { type: 'string', minLength: 1 } as const;
const urlString = { type: 'string', minLength: 1, maxLength: 2048 } as const;
const nullableUrl = { type: ['string', 'null'], minLength: 1, maxLength: 2048 } as const;

const serialSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    baudRate: { type: 'integer', minimum: 50, maximum: 4000000 },
    dataBits: { enum: [5, 6, 7, 8] },
    parity: { enum: ['none', 'even', 'odd', 'mark', 'space'] },
    stopBits: { enum: [1, 1.5, 2] },
    flowControl: { enum: ['none', 'rtscts', 'xonxoff'] },
  },
} as const;

function backoffSchema(initialMs: number, maxMs: number) {
  return {
    type: 'object',
    additionalProperties: false,
    default: {},
    properties: {
      initialMs: { type: 'integer', minimum: 10, maximum: 3600000, default: initialMs },
      maxMs: { type: 'integer', minimum: 10, maximum: 86400000, default: maxMs },
    },
  } as const;
}

/** JSON schema (draft-07, Ajv strict) of the config file. */
export const configSchema = {
  $id: 'https://pinauthd.invalid/config.schema.json',
  type: 'object',
  additionalProperties: false,
  required: ['provider'],
  properties: {
    $schema: { type: 'string' },
    provider: {
      type: 'object',
      additionalProperties: false,
      required: ['preset'],
      properties: {
        preset: { enum: [...PRESET_NAMES] },
        baseUrl: urlString,
        requestTokenUrl: urlString,
        authorizeUrl: urlString,
        accessTokenUrl: urlString,
        verifyUrl: nullableUrl,
        invalidateUrl: nullableUrl,
        authorize: { enum: ['authorize', 'authenticate'] },
        signatureMethod: { enum: ['HMAC-SHA1', 'HMAC-SHA256', 'PLAINTEXT'] },
        pin: {
          type: 'object',
          additionalProperties: false,
          required: ['digits'],
          properties: {
            digits: { type: 'integer', minimum: 4, maximum: 16 },
            template: { type: 'string', minLength: 1, maxLength: 40, pattern: '^[\\x20-\\x7e]+$' },
          },
        },
        accessType: { type: 'string', minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9_-]+$' },
        forceLogin: { type: 'boolean' },
        screenName: { type: 'string', minLength: 1, maxLength: 50, pattern: '^[A-Za-z0-9_.@-]+$' },
        allowHttpLoopback: { type: 'boolean' },
        timeoutMs: { type: 'integer', minimum: 100, maximum: 600000 },
        maxReplyBytes: { type: 'integer', minimum: 256, maximum: 16777216 },
        requestTokenTtlSec: { type: 'integer', minimum: 10, maximum: 86400 },
        minVerifyIntervalSec: { type: 'integer', minimum: 0, maximum: 86400 },
        apiOrigins: { type: 'array', minItems: 1, maxItems: 16, items: urlString },
        // "" or "none": no proxy; else http(s)://[user:pass@]host:port (checked in load.ts)
        proxy: { type: 'string', maxLength: 2048, pattern: '^[\\x21-\\x7e]*$' },
      },
    },
    credentials: {
      type: 'object',
      additionalProperties: false,
      properties: {
        consumerKey: nonEmptyString,
        consumerSecret: nonEmptyString,
      },
    },
    store: {
      type: 'object',
      additionalProperties: false,
      properties: { path: nonEmptyString },
    },
    display: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        driver: { enum: ['pinpad', 'text', 'console', 'matrix-orbital', 'serlcd'], default: 'pinpad' },
        port: { type: 'string', minLength: 1, maxLength: 512 },
        cols: { type: 'integer', minimum: 8, maximum: 40, default: 16 },
        rows: { type: 'integer', minimum: 1, maximum: 8, default: 2 },
        serial: serialSchema,
        setSize: { type: 'boolean' },
      },
    },
    keypad: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        driver: { enum: ['lines', 'matrix-orbital', 'evdev'] },
        port: { type: ['string', 'null'], minLength: 1, maxLength: 512, default: null },
        mode: { enum: ['line', 'keys'] },
        delimiter: { enum: ['LF', 'CR', 'CRLF'], default: 'LF' },
        autoSubmit: { type: 'boolean', default: true },
        maxLineBytes: { type: 'integer', minimum: 32, maximum: 1024, default: 128 },
        serial: serialSchema,
        keymap: {
          type: 'object',
          maxProperties: 95,
          propertyNames: { pattern: '^[\\x21-\\x7e]$' },
          additionalProperties: { enum: [...KEYPAD_KEYS] },
        },
        grab: { type: 'boolean' },
      },
    },
    serial: serialSchema,
    daemon: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        verifyIntervalSec: { type: 'integer', minimum: 1, maximum: 31536000, default: 86400 },
        verifyOnStart: { type: 'boolean', default: true },
        pinTries: { type: 'integer', minimum: 1, maximum: 100, default: 3 },
        quietAfterUnusedCodes: { type: 'integer', minimum: 0, maximum: 1000, default: 3 },
        backoff: backoffSchema(1000, 300000),
        reconnect: backoffSchema(500, 30000),
      },
    },
    proxy: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true },
        socket: { type: 'string', minLength: 1, maxLength: 100, pattern: '^/[^\\x00-\\x1f]*$' },
        methods: {
          type: 'array',
          minItems: 1,
          uniqueItems: true,
          items: { enum: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] },
          default: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
        },
        paths: {
          type: 'array',
          minItems: 1,
          maxItems: 64,
          items: { type: 'string', minLength: 1, maxLength: 256, pattern: '^/[\\x21-\\x7e]*$' },
          default: ['/'],
        },
        maxBodyBytes: { type: 'integer', minimum: 0, maximum: 1073741824, default: 16777216 },
        maxFormBytes: { type: 'integer', minimum: 1024, maximum: 4194304, default: 262144 },
        maxReplyBytes: { type: 'integer', minimum: 1024, maximum: 4294967296, default: 1073741824 },
        timeoutMs: { type: 'integer', minimum: 100, maximum: 600000, default: 30000 },
        maxConnections: { type: 'integer', minimum: 1, maximum: 1024, default: 64 },
        rateLimit: {
          anyOf: [
            { type: 'null' },
            {
              type: 'object',
              additionalProperties: false,
              required: ['requests', 'perSeconds'],
              properties: {
                requests: { type: 'integer', minimum: 1, maximum: 100000 },
                perSeconds: { type: 'integer', minimum: 1, maximum: 86400 },
              },
            },
          ],
          default: null,
        },
      },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        level: { enum: [...LOG_LEVELS], default: 'info' },
      },
    },
  },
} as const;
