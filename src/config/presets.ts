/**
 * Provider presets, kept as JSON in config/presets/ (users can read them) and imported
 * statically so that a bundler can inline them. URLs may be relative to baseUrl.
 */
import twitter from '../../config/presets/twitter.json' with { type: 'json' };
import flickr from '../../config/presets/flickr.json' with { type: 'json' };
import smugmug from '../../config/presets/smugmug.json' with { type: 'json' };
import local from '../../config/presets/local.json' with { type: 'json' };
import generic from '../../config/presets/generic.json' with { type: 'json' };
import type { PresetName } from './schema.js';
import type { PinFormat, SignatureMethod } from './types.js';

export interface ProviderPreset {
  name: string;
  baseUrl?: string;
  requestTokenUrl?: string;
  authorizeUrl?: string;
  /** Sign-in-with variant of the authorize page (`provider.authorize: 'authenticate'`). */
  authenticateUrl?: string;
  accessTokenUrl?: string;
  verifyUrl?: string | null;
  invalidateUrl?: string | null;
  signatureMethod?: SignatureMethod;
  pin?: PinFormat;
  requestTokenTtlSec?: number;
  minVerifyIntervalSec?: number;
  allowHttpLoopback?: boolean;
  /** Where the signing proxy may forward API calls: origins, absolute or relative to baseUrl. */
  apiOrigins?: string[];
}

// The JSON imports are typed by their content; narrow the literal strings once here.
export const PRESETS: Readonly<Record<PresetName, ProviderPreset>> = Object.freeze({
  twitter: twitter as ProviderPreset,
  flickr: flickr as ProviderPreset,
  smugmug: smugmug as ProviderPreset,
  local: local as ProviderPreset,
  generic: generic as ProviderPreset,
});
