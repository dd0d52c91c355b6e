/**
 * `node dist/local-provider/main.js [--host 127.0.0.1] [--port 8723] [--skew SEC] [--quiet]`
 *
 * Starts the local provider and prints one line with its URL and the demo consumer key (never
 * the secret). Stops on SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { DEMO_CONSUMER, startLocalProvider } from './provider.js';

const USAGE = 'usage: main.js [--host 127.0.0.1] [--port 8723] [--skew SEC] [--quiet]';

async function main(): Promise<number> {
  let values: { host?: string; port?: string; skew?: string; quiet?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        skew: { type: 'string' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const port = Number(values.port ?? '8723');
  const skew = Number(values.skew ?? '0');
  if (!Number.isInteger(port) || port < 0 || port > 65535 || !Number.isFinite(skew)) {
    process.stderr.write(`bad --port or --skew\n${USAGE}\n`);
    return 2;
  }

  const provider = await startLocalProvider({
    host: values.host ?? '127.0.0.1',
    port,
    logger: values.quiet ? undefined : (line) => process.stderr.write(`local-provider: ${line}\n`),
  });
  provider.faults.clockSkewSec = skew;
  // The one line a script waits for (stdout); logs go to stderr.
  process.stdout.write(`local provider at ${provider.url} consumer key ${DEMO_CONSUMER.key}${skew ? ` clock skew ${skew}s` : ''}\n`);

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await provider.close();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`local-provider: cannot start: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
