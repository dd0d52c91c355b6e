#!/usr/bin/env node
/**
 * `npm start`: pinauthd on its embedded default. The local provider on 127.0.0.1 stands in
 * for Twitter, the firmware simulator on a real pseudo-terminal (or TCP when socat is
 * missing) stands in for the serial display and keypad, and the real daemon runs as a
 * child process exactly as systemd would run it.
 *
 *   node dist/scripts/demo.js [--auto] [--once] [--profile PROFILE] [--keys keys|line] [--tcp] [--port 8723]
 *
 * PROFILE: the pinpad firmware simulator (lcd20x4, lcd16x2, oled128x64, text), or a model
 * of an off-the-shelf display speaking its own command set: adafruit-backpack[-20x4] (Matrix
 * Orbital commands; with a simulated USB numpad read as the evdev keypad), lk204 (with its
 * own keypad), serlcd[-20x4] (with the numpad).
 *
 * With a terminal, you are the person: open the URL, approve, type the PIN on the simulated
 * keypad. Without one (or with --auto) the demo plays the person.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startFifoNumpad } from '../firmware-sim/numpad.js';
import { createPanel, daemonDeviceConfig, needsNumpad, PANEL_PROFILES, type PanelProfile } from '../firmware-sim/profiles.js';
import { startPtySim } from '../firmware-sim/pty.js';
import { startTcpSim } from '../firmware-sim/tcp.js';
import { renderScreen, runTui } from '../firmware-sim/tui.js';
import { DEMO_CONSUMER, startLocalProvider, type LocalProvider } from '../local-provider/provider.js';
import { askDaemon, controlSocketPath } from '../src/service/control.js';
import type { DaemonStatus } from '../src/lifecycle/daemon.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PROFILES: readonly string[] = PANEL_PROFILES;

function usage(msg?: string): never {
  if (msg) process.stderr.write(`${msg}\n`);
  process.stderr.write(`usage: npm start -- [--auto] [--once] [--profile ${PANEL_PROFILES.join('|')}] [--keys keys|line] [--tcp] [--port N]\n`);
  process.exit(2);
}

async function startProvider(port: number): Promise<LocalProvider> {
  try {
    return await startLocalProvider({ host: '127.0.0.1', port });
  } catch {
    // The fixed port is taken (another demo?): any free port works just as well.
    return startLocalProvider({ host: '127.0.0.1', port: 0 });
  }
}

function haveSocat(): boolean {
  if (spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0) return true;
  // The project's own script installs it where it can (root + apt-get).
  spawnSync('bash', [path.join(ROOT, 'scripts/ensure-socat.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  return spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        auto: { type: 'boolean', default: false },
        once: { type: 'boolean', default: false },
        profile: { type: 'string', default: 'lcd20x4' },
        keys: { type: 'string', default: 'keys' },
        tcp: { type: 'boolean', default: false },
        port: { type: 'string', default: '8723' },
      },
    }));
  } catch (e) {
    usage((e as Error).message);
  }
  const profile = values.profile as PanelProfile;
  if (!PROFILES.includes(profile)) usage(`unknown profile ${profile}`);
  const keypadMode = profile === 'text' ? 'line' : values.keys === 'line' ? 'line' : 'keys';
  const interactive = !values.auto && process.stdin.isTTY === true && process.stdout.isTTY === true;

  const dir = await mkdtemp(path.join(os.tmpdir(), 'pinauthd-demo-'));
  const provider = await startProvider(Number(values.port));
  const sim = createPanel(profile, { keypadMode, delimiter: 'LF' });
  const useTcp = values.tcp || !haveSocat();
  const link = useTcp ? await startTcpSim({ device: sim }) : await startPtySim({ device: sim, dir });
  const port = 'hostPath' in link ? link.hostPath : link.url;
  // A display without keys: the keypad is a simulated USB numpad, read as the evdev keypad.
  const numpad = needsNumpad(sim) ? await startFifoNumpad(dir) : null;
  const keypad = numpad ?? sim;

  const storePath = path.join(dir, 'state', 'tokens.json');
  const configPath = path.join(dir, 'config.json');
  await writeFile(
    configPath,
    JSON.stringify(
      {
        provider: { preset: 'local', baseUrl: provider.url },
        credentials: { consumerKey: DEMO_CONSUMER.key, consumerSecret: DEMO_CONSUMER.secret },
        store: { path: storePath },
        ...daemonDeviceConfig(sim, port, numpad?.path ?? null),
        daemon: { backoff: { initialMs: 500, maxMs: 5000 } },
        log: { level: 'info' },
      },
      null,
      2,
    ),
  );

  const logPath = path.join(dir, 'daemon.log');
  const logFile = createWriteStream(logPath);
  // what the unit's ExecStart runs: the bundle through its loader (its code cache next to it)
  const args = [path.join(ROOT, 'dist/pinauthd-start.cjs'), 'run', '--config', configPath, ...(values.once ? ['--once'] : [])];
  const daemon = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  daemon.stdout.pipe(logFile);
  daemon.stderr.pipe(logFile);
  const exited = new Promise<number>((resolve) => daemon.on('exit', (code) => resolve(code ?? 1)));

  const header = [
    'pinauthd demo: the simulated display and keypad below are driven by the real daemon.',
    `provider: ${provider.url} (local, Twitter-compatible)   device: ${port}   daemon log: ${logPath}`,
    'Open the URL on the display in a browser on this machine, approve, and type the PIN.',
  ];

  const cleanup = async () => {
    if (daemon.exitCode === null) daemon.kill('SIGTERM');
    const code = await exited;
    await numpad?.close();
    await link.close();
    await provider.close();
    logFile.end();
    await rm(dir, { recursive: true, force: true });
    return code;
  };

  if (interactive) {
    // The display pages the URL; a person at this machine can also click it here.
    const socket = controlSocketPath(storePath);
    const poll = setInterval(() => {
      void askDaemon(socket, 'status', 500).then((r) => {
        const st = r?.result as DaemonStatus | undefined;
        header[3] = st?.pending ? `authorize URL: ${st.pending.authorizeUrl}` : '';
      });
    }, 1000);
    poll.unref();
    header.push('');
    return new Promise<number>((resolve) => {
      let stop = () => undefined as void;
      const finish = () => {
        stop();
        void cleanup().then(resolve);
      };
      stop = runTui({ device: sim, header, ...(numpad ? { keypad: numpad } : {}), onQuit: finish });
      void exited.then(() => {
        stop();
        process.stdout.write(`\n${renderScreen(sim)}\n`);
        void cleanup().then(resolve);
      });
      process.on('SIGINT', finish);
      process.on('SIGTERM', finish);
    });
  }

  // --auto: play the person, and print each new frame of the simulated display.
  for (const l of header.slice(0, 2)) process.stdout.write(`${l}\n`);
  let last = '';
  let settle: NodeJS.Timeout | undefined;
  // A screen change arrives as a few row commands: print the frame once it has settled.
  const print = () => {
    clearTimeout(settle);
    settle = setTimeout(() => {
      const frame = renderScreen(sim);
      if (frame !== last) process.stdout.write(`\n${frame}\n`);
      last = frame;
    }, 25);
  };
  sim.on('screen', print);
  const stopSignals = () => void cleanup().then((c) => process.exit(c));
  process.on('SIGINT', stopSignals);
  process.on('SIGTERM', stopSignals);

  const socket = controlSocketPath(storePath);
  let typed = false;
  while (daemon.exitCode === null) {
    const st = (await askDaemon(socket, 'status'))?.result as DaemonStatus | undefined;
    if (st?.state === 'awaiting_pin' && st.pending && !typed) {
      const token = new URL(st.pending.authorizeUrl).searchParams.get('oauth_token') ?? '';
      await sleep(1500);
      const pin = provider.approve(token);
      process.stdout.write(`\n[demo] approved on the provider's page as @twitterapi; PIN ${pin}; typing it on the keypad\n`);
      if (keypadMode === 'keys' || numpad) {
        for (const k of pin) {
          keypad.pressKey(k);
          await sleep(200);
        }
      } else sim.typeLine(pin);
      typed = true;
    }
    if (st?.state === 'authorized' && !values.once) {
      process.stdout.write('\n[demo] authorized; the daemon keeps running (Ctrl-C to stop, or use --once)\n');
      break;
    }
    if (st && st.state !== 'awaiting_pin' && st.state !== 'exchanging') typed = false;
    await Promise.race([sleep(250), exited]);
  }
  if (!values.once) await new Promise<void>((r) => process.once('SIGINT', () => r()));
  const code = await cleanup();
  process.stdout.write(code === 0 ? '\n[demo] done: the token was stored and the daemon exited 0\n' : `\n[demo] the daemon exited ${code}; see the log above\n`);
  return code;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
