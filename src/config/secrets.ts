/**
 * Where the consumer key and secret come from, first found wins per value:
 *   1. systemd credentials: $CREDENTIALS_DIRECTORY/consumer_key, .../consumer_secret
 *      (LoadCredential= / LoadCredentialEncrypted= in the unit)
 *   2. environment: PINAUTHD_CONSUMER_KEY / PINAUTHD_CONSUMER_SECRET, or the *_FILE variants
 *      naming a file that holds the value
 *   3. the config file's `credentials` object
 * Only source names are ever reported, never the values.
 */
import { readSmallFile, SmallFileRefused } from '../small-file.js';
import path from 'node:path';
import { PinauthError } from '../errors.js';

export type SecretName = 'consumerKey' | 'consumerSecret';

export interface FoundSecret {
  value: string;
  /** e.g. `systemd-credential:consumer_key`, `env:PINAUTHD_CONSUMER_KEY_FILE` */
  source: string;
}

/** Secrets found outside the config file (steps 1 and 2). */
export type ExternalSecrets = Partial<Record<SecretName, FoundSecret>>;

export const SECRET_SOURCES: Record<SecretName, { credential: string; env: string }> = {
  consumerKey: { credential: 'consumer_key', env: 'PINAUTHD_CONSUMER_KEY' },
  consumerSecret: { credential: 'consumer_secret', env: 'PINAUTHD_CONSUMER_SECRET' },
};

const MAX_SECRET_BYTES = 4096;

/** A secret file's content without the trailing newline editors and `echo` add. */
function cleanSecret(text: string): string {
  return text.replace(/^\uFEFF/, '').replace(/[\r\n]+$/, '').trim();
}

async function readSecretFile(file: string, what: string, optional: boolean): Promise<string | null> {
  let text: string;
  try {
    text = (await readSmallFile(file, MAX_SECRET_BYTES)).toString('utf8');
  } catch (e) {
    if (e instanceof SmallFileRefused) throw new PinauthError('CONFIG_INVALID', `${what} file ${file} ${e.why}`);
    const code = (e as NodeJS.ErrnoException).code;
    if (optional && code === 'ENOENT') return null;
    throw new PinauthError('CONFIG_SECRET_MISSING', `cannot read ${what} file ${file} (${code ?? 'error'})`, {
      cause: e,
    });
  }
  const value = cleanSecret(text);
  if (value === '') throw new PinauthError('CONFIG_SECRET_MISSING', `${what} file ${file} is empty`);
  return value;
}

/** Steps 1 and 2 for one value, from the given environment. */
async function findExternal(name: SecretName, env: NodeJS.ProcessEnv): Promise<FoundSecret | undefined> {
  const { credential, env: envName } = SECRET_SOURCES[name];
  const credDir = env.CREDENTIALS_DIRECTORY;
  if (credDir) {
    const value = await readSecretFile(path.join(credDir, credential), `systemd credential ${credential}`, true);
    if (value !== null) return { value, source: `systemd-credential:${credential}` };
  }
  const direct = env[envName];
  if (direct !== undefined && direct.trim() !== '') return { value: direct.trim(), source: `env:${envName}` };
  const file = env[`${envName}_FILE`];
  if (file !== undefined && file !== '') {
    const value = await readSecretFile(path.resolve(file), `${envName}_FILE`, false);
    return { value: value!, source: `env:${envName}_FILE` };
  }
  return undefined;
}

/** Read the secrets that live outside the config file (systemd credentials, environment). */
export async function readExternalSecrets(env: NodeJS.ProcessEnv = process.env): Promise<ExternalSecrets> {
  const out: ExternalSecrets = {};
  for (const name of ['consumerKey', 'consumerSecret'] as const) {
    const found = await findExternal(name, env);
    if (found) out[name] = found;
  }
  return out;
}

/** Steps 1 and 2 without touching the file system: only plain environment variables. */
export function envSecrets(env: NodeJS.ProcessEnv): ExternalSecrets {
  const out: ExternalSecrets = {};
  for (const name of ['consumerKey', 'consumerSecret'] as const) {
    const envName = SECRET_SOURCES[name].env;
    const v = env[envName];
    if (v !== undefined && v.trim() !== '') out[name] = { value: v.trim(), source: `env:${envName}` };
  }
  return out;
}

/** Tell the person where to put a missing value, in the documented order. */
export function whereToPutSecret(name: SecretName, configFile: string | null): string {
  const { credential, env } = SECRET_SOURCES[name];
  const inFile = configFile ? `credentials.${name} in ${configFile}` : `credentials.${name} in the config file`;
  return (
    `no ${name === 'consumerKey' ? 'consumer key' : 'consumer secret'} found: ` +
    `provide a systemd credential "${credential}" (LoadCredential=${credential}:/etc/pinauthd/${credential}), ` +
    `or set ${env} or ${env}_FILE, or ${inFile}`
  );
}
