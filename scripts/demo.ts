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
 * keypad. Without one (or with --auto) the demo plays the person. Everything fits 80x24.
 * The demo never asks for a password: without socat it runs the simulator over TCP and says
 * so. Its files (config, token store, daemon log) live in a temp dir removed at the end.
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
import { humanLine } from '../src/log.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PROFILES: readonly string[] = PANEL_PROFILES;
const KEYPAD_MODES = ['keys', 'line'];

function usage(msg?: string): never {
  if (msg) process.stderr.write(`${msg}\n`);
  process.stderr.write(`usage: npm start -- [--auto] [--once] [--profile ${PANEL_PROFILES.join('|')}] [--keys keys|line] [--tcp] [--port N]\n`);
  process.exit(2);
}

/** The local provider, and a note when it could not have the port asked for. */
async function startProvider(port: number): Promise<{ provider: LocalProvider; note: string | null }> {
  try {
    return { provider: await startLocalProvider({ host: '127.0.0.1', port }), note: null };
  } catch (e) {
    // The fixed port is taken (another demo?): any free port works just as well; say so.
    const provider = await startLocalProvider({ host: '127.0.0.1', port: 0 });
    const why = (e as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'is in use' : `failed (${(e as Error).message})`;
    return { provider, note: `port ${port} ${why}: the local provider is on ${provider.url} instead` };
  }
}

/**
 * Whether socat is there for the pseudo-terminal simulator; ensure-socat.sh installs it when
 * it can without asking anyone for a password (root, or sudo that needs none).
 */
function haveSocat(): boolean {
  if (spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0) return true;
  spawnSync('sh', [path.join(ROOT, 'scripts/ensure-socat.sh')], { stdio: 'ignore' });
  return spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Ctrl-C, a stop, and the terminal closed (SIGHUP): each ends the demo with its daemon and files. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

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
  if (!PROFILES.includes(profile)) usage(`unknown profile ${profile} (one of ${PROFILES.join(', ')})`);
  if (!KEYPAD_MODES.includes(values.keys!)) usage(`unknown keypad mode ${values.keys} (keys or line)`);
  if (!/^\d{1,5}$/.test(values.port!) || Number(values.port) > 65535) usage(`--port needs a port number, got ${values.port}`);
  const keypadMode = profile === 'text' ? 'line' : (values.keys as 'keys' | 'line');
  const interactive = !values.auto && process.stdin.isTTY === true && process.stdout.isTTY === true;

  const dir = await mkdtemp(path.join(os.tmpdir(), 'pinauthd-demo-'));
  const { provider, note: portNote } = await startProvider(Number(values.port));
  const sim = createPanel(profile, { keypadMode, delimiter: 'LF' });
  const socat = values.tcp || haveSocat();
  const link = socat && !values.tcp ? await startPtySim({ device: sim, dir }) : await startTcpSim({ device: sim });
  const port = 'hostPath' in link ? link.hostPath : link.url;
  // A display without keys: the keypad is a simulated USB numpad, read as the evdev keypad.
  const numpad = needsNumpad(sim) ? await startFifoNumpad(dir) : null;
  const keypad = numpad ?? sim;
  // Lasting notes: they stay in the header, above every redraw.
  const notes = [
    ...(portNote ? [portNote] : []),
    ...(socat ? [] : ['socat is not installed (sudo apt-get install socat), so the simulator is on TCP,', '  not a serial pseudo-terminal; the daemon and the flow are the same.']),
  ];

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
  // The last few log lines, to say why if the daemon fails.
  const tail: string[] = [];
  daemon.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    tail.push(...chunk.split('\n').filter(Boolean));
    tail.splice(0, Math.max(0, tail.length - 5));
  });
  const exited = new Promise<number>((resolve) => daemon.on('exit', (code) => resolve(code ?? 1)));
  // However the demo ends (an error, a closed pipe: `npm start -- --auto | head`), the daemon goes too.
  process.on('exit', () => {
    if (daemon.exitCode === null) daemon.kill('SIGTERM');
  });

  // Every line within 80 columns (temp paths are ~30 characters).
  const header = [
    'pinauthd demo: the simulated display and keypad are driven by the real daemon.',
    `provider: ${provider.url} (local, Twitter-compatible)`,
    `device:   ${port}`,
    `files:    ${dir} (removed at the end)`,
    ...notes,
  ];

  let cleaned: Promise<number> | null = null;
  const cleanup = () =>
    (cleaned ??= (async () => {
      if (daemon.exitCode === null) daemon.kill('SIGTERM');
      const code = await exited;
      await numpad?.close();
      await link.close();
      await provider.close();
      logFile.end();
      await rm(dir, { recursive: true, force: true });
      return code;
    })());
  const removedNote = `[demo] removed ${dir} (config, token store, daemon log)`;
  // A reader that went away (EPIPE) ends the demo, its daemon included.
  process.stdout.on('error', () => void cleanup().then((c) => process.exit(c)));

  if (interactive) {
    // What the daemon is doing, kept current above the display: the whole URL to click while
    // it waits for a PIN (a new one whenever it changes), the account once authorized.
    const socket = controlSocketPath(storePath);
    const fixed = header.length;
    let stop: ReturnType<typeof runTui> | null = null;
    const update = (st: DaemonStatus | undefined) => {
      const lines = !st
        ? ['daemon: starting']
        : st.pending
          ? ['Open this URL in a browser on this machine, approve, and type the PIN:', `  ${st.pending.authorizeUrl}`]
          : st.state === 'authorized' && st.account
            ? [`authorized as @${st.account.screenName}: the token is in state/tokens.json under files:`]
            : [`daemon: ${st.state}${st.lastError ? ` (${st.lastError.code})` : ''}`];
      if (lines.join('\n') === header.slice(fixed).join('\n')) return;
      header.splice(fixed, header.length - fixed, ...lines);
      stop?.redraw();
    };
    update(undefined);
    const poll = setInterval(() => void askDaemon(socket, 'status', 500).then((r) => update(r?.result as DaemonStatus | undefined)), 500);
    poll.unref();
    return new Promise<number>((resolve) => {
      let finishing = false;
      const finish = () => {
        if (finishing) return;
        finishing = true;
        clearInterval(poll);
        stop?.();
        void cleanup().then((code) => {
          process.stdout.write(`${removedNote}\n`);
          resolve(code);
        });
      };
      stop = runTui({ device: sim, header, ...(numpad ? { keypad: numpad } : {}), onQuit: finish });
      // The daemon ended by itself (--once, an error): its last screen stays on the terminal.
      void exited.then(() => {
        if (finishing) return;
        stop?.();
        process.stdout.write(`\n${renderScreen(sim, { crop: true })}\n`);
        finish();
      });
      for (const signal of STOP_SIGNALS) process.on(signal, finish);
    });
  }

  // --auto: play the person, and print each new frame of the simulated display.
  for (const l of header) process.stdout.write(`${l}\n`);
  let last = '';
  let settle: NodeJS.Timeout | undefined;
  // A screen change arrives as a few row commands: print the frame once it has settled.
  const print = () => {
    clearTimeout(settle);
    settle = setTimeout(() => {
      // Cropped to the drawn part: an OLED's QR code fits 80 columns.
      const frame = renderScreen(sim, { crop: true });
      if (frame !== last) process.stdout.write(`\n${frame}\n`);
      last = frame;
    }, 25);
  };
  sim.on('screen', print);
  const stopSignals = () => void cleanup().then((c) => process.exit(c));
  for (const signal of STOP_SIGNALS) process.on(signal, stopSignals);

  const socket = controlSocketPath(storePath);
  let typed = false;
  while (daemon.exitCode === null) {
    const st = (await askDaemon(socket, 'status'))?.result as DaemonStatus | undefined;
    if (st?.state === 'awaiting_pin' && st.pending && !typed) {
      const token = new URL(st.pending.authorizeUrl).searchParams.get('oauth_token') ?? '';
      await sleep(1500);
      const pin = provider.approve(token);
      process.stdout.write(`\n[demo] approved on the provider's page as @twitterapi: PIN ${pin}, typed on the keypad\n`);
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
  const log = tail.map((l) => `  ${humanLine(l)}\n`).join('');
  process.stdout.write(
    code === 0
      ? `\n[demo] done: the token was stored and the daemon exited 0\n${removedNote}\n`
      : `\n[demo] the daemon exited ${code}; the end of its log:\n${log}${removedNote}\n`,
  );
  return code;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
