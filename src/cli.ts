#!/usr/bin/env node
/**
 * pinauthd's command line. Each command loads and validates the config before anything
 * else runs, and exits with a status that says what kind of failure it was:
 * 0 ok, 1 failed check, 2 usage, 3 config, 4 provider, 5 device, 6 store, 7 already running,
 * 70 internal error, 77 permission denied.
 */
import { parseArgs } from 'node:util';
import { PinauthError, toPinauthError } from './errors.js';
import { terminalSafe } from './untrusted.js';

/** Messages can quote a provider, a device or a file: each line made safe for the terminal. */
const safeLines = (text: string): string => text.split('\n').map(terminalSafe).join('\n');

const USAGE = `pinauthd: authorize this device with an OAuth 1.0a account (PIN flow)

Usage: pinauthd <command> [--config FILE] [options]

Commands:
  run               run the daemon in the foreground (what the systemd unit starts)
  login --console   run the PIN flow in this terminal: prints the URL, reads the PIN
  status [--json]   who is authorized and since when; the running daemon's state
  reauth            start the PIN flow again (the running daemon keeps the old token
                    until a new one is stored)
  logout            invalidate the token at the provider (where it can) and remove it
  token --json      print the stored access token for the device's software (needs
                    read access to the token store: root or the service's user)
  doctor            check the config, serial ports, provider, clock and store
  request PATH      an API call through the daemon's signing proxy, which signs it: no
                    secret leaves the daemon (pinauthd request --help; docs/using-the-token.md)

Options:
  --config FILE     config file (default: $PINAUTHD_CONFIG, $CONFIGURATION_DIRECTORY/config.json,
                    /etc/pinauthd/config.json)
  --json            machine-readable output (status, token, doctor, reauth, logout)
  --once            run: exit 0 once a token is stored
  -h, --help        this help

Exit status: 0 ok, 1 a check failed / nothing stored, 2 usage, 3 config, 4 provider,
5 device, 6 store, 7 already running, 70 internal error, 77 permission denied (this user
may not read the token store or reach the daemon: run as root or as the service's user;
status and token then never answer "not running" or "no account").
`;

async function main(argv: string[]): Promise<number> {
  // `request` has options of its own (curl's -X, -d, -H; --json takes a value there)
  if (argv[0] === 'request') {
    const { request, REQUEST_USAGE } = await import('./commands/request.js');
    if (argv.includes('-h') || argv.includes('--help')) {
      process.stdout.write(REQUEST_USAGE);
      return 0;
    }
    return request(argv.slice(1));
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        json: { type: 'boolean', default: false },
        console: { type: 'boolean', default: false },
        once: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    process.stderr.write(`${safeLines((e as Error).message)}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  if (positionals.length > 1) {
    process.stderr.write(`unexpected argument: ${terminalSafe(positionals[1]!)}\n\n${USAGE}`);
    return 2;
  }
  const common = { configFile: values.config ?? undefined, json: values.json ?? false };
  switch (command) {
    case 'run': {
      const { runDaemon } = await import('./service/run.js');
      return runDaemon({ ...common, once: values.once ?? false, console: false });
    }
    case 'login': {
      if (!values.console) {
        process.stderr.write('login needs --console (the daemon itself uses the serial display and keypad: `pinauthd run`)\n');
        return 2;
      }
      const { runDaemon } = await import('./service/run.js');
      return runDaemon({ ...common, once: true, console: true });
    }
    case 'status':
    case 'reauth':
    case 'logout':
    case 'token': {
      const ops = await import('./commands/operator.js');
      return ops[command](common);
    }
    case 'doctor': {
      const { doctor } = await import('./commands/doctor.js');
      return doctor(common);
    }
    default:
      process.stderr.write(`unknown command: ${terminalSafe(command)}\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    const err = toPinauthError(e);
    // Expected failures print their message; only an internal error shows its stack.
    process.stderr.write(`pinauthd: ${safeLines(err.message)}\n`);
    if (!(e instanceof PinauthError) && e instanceof Error && e.stack) process.stderr.write(`${safeLines(e.stack)}\n`);
    process.exitCode = err.exitCode;
  },
);
