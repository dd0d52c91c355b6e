/**
 * An Arduino Uno/Nano (ATmega328P at 16 MHz) in avr8js, wired as docs/hardware.md says: it runs
 * the firmware's .hex unmodified, with an HD44780 (hd44780.ts) on port B or behind a PCF8574 on
 * the TWI bus (pcf8574.ts), a matrix keypad on PD4-PD7 (rows) and PC0-PC3 (columns), and the
 * UART as a byte stream that firmware-sim/pty.ts puts on a real PTY for the daemon.
 *
 * Time is the board's own (CPU cycles), not the wall clock: while the firmware sleeps the
 * emulator jumps to the next timer or UART event, and with nothing scheduled it waits for the
 * host or a key. So a run costs only the instructions the firmware executes, and the keypad's
 * timing (a press held 50 ms, debounced over 20 ms) is exact however loaded the machine is.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import {
  AVRIOPort,
  AVRTimer,
  AVRTWI,
  AVRUSART,
  avrInstruction,
  CPU,
  PinState,
  portBConfig,
  portCConfig,
  portDConfig,
  timer0Config,
  timer1Config,
  timer2Config,
  twiConfig,
  usart0Config,
} from 'avr8js';
import { HD44780, type LcdPins } from './hd44780.js';
import { PCF8574 } from './pcf8574.js';

export const CPU_HZ = 16_000_000;
const SRAM_BYTES = 2048;
const SMCR = 0x53;
const SLEEP_OPCODE = 0x9588;
const SEI_OPCODE = 0x9478;
/** Instructions between looks at the wall clock; a slice yields to the event loop after ~10 ms. */
const BATCH = 4096;
const SLICE_MS = 10;

export interface BoardOptions {
  hexPath: string;
  cols: number;
  rows: number;
  /** The LCD behind a PCF8574 at this I2C address; parallel on port B when absent. */
  i2cAddress?: number;
  keypadCols: 3 | 4;
  /** How long a key is held down, and the gap before the next one (ms of board time). */
  keyHoldMs?: number;
  /** Contact bounce: a press and a release chatter (1 ms one way, 2 ms the other) for this long first. */
  bounceMs?: number;
}

const KEYMAPS = { 4: ['123A', '456B', '789C', '*0#D'], 3: ['123', '456', '789', '*0#'] } as const;

/** The backpack's usual map: P0 RS, P1 RW, P2 E, P3 backlight, P4-P7 D4-D7. */
function pcfPins(port: number): LcdPins {
  return { rs: (port & 1) !== 0, rw: (port & 2) !== 0, e: (port & 4) !== 0, data: port >> 4 };
}

/** Parses Intel HEX (what avr-objcopy writes) into a 32 KiB flash image. */
export function loadHex(path: string): Uint16Array {
  const flash = new Uint8Array(32 * 1024);
  let base = 0;
  for (const raw of readFileSync(path, 'ascii').split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    if (line[0] !== ':') throw new Error(`${path}: not Intel HEX: ${line.slice(0, 20)}`);
    const bytes = Buffer.from(line.slice(1), 'hex');
    const sum = bytes.reduce((a, b) => (a + b) & 0xff, 0);
    if (sum !== 0) throw new Error(`${path}: checksum error in ${line}`);
    const [count, hi, lo, type] = bytes as unknown as [number, number, number, number];
    const data = bytes.subarray(4, 4 + count);
    if (type === 0x00) flash.set(data, base + ((hi << 8) | lo));
    else if (type === 0x02) base = ((data[0]! << 8) | data[1]!) << 4;
    else if (type === 0x01) break;
  }
  return new Uint16Array(flash.buffer);
}

/**
 * Two places where avr8js 0.21's USART departs from the ATmega328P datasheet (section 20.11),
 * put right here, in the emulator, not in the firmware:
 * - UDRE0 is a level: set while the transmit buffer is empty, cleared only by writing UDR0.
 *   avr8js clears it when its interrupt is serviced, so an ISR that turns UDRIE0 off (the
 *   usual interrupt-driven transmitter, when its ring is empty) never sees it again.
 * - Writing UCSR0B does not touch RXC0; avr8js clears a pending received byte on any write
 *   with RXEN0 set, so toggling UDRIE0 loses a byte that arrived just before.
 */
function fixUsartFlags(cpu: CPU, usart: AVRUSART): void {
  const internals = usart as unknown as { UDRE: { constant?: boolean }; RXC: Parameters<CPU['updateInterruptEnable']>[0] };
  internals.UDRE.constant = true;
  const { UCSRA, UCSRB } = usart0Config;
  const RXC0 = 0x80;
  const write = cpu.writeHooks[UCSRB]!;
  cpu.writeHooks[UCSRB] = (value, oldValue, addr, mask) => {
    const received = cpu.data[UCSRA]! & RXC0;
    const result = write(value, oldValue, addr, mask);
    if (received) {
      cpu.data[UCSRA]! |= RXC0;
      cpu.updateInterruptEnable(internals.RXC, value);
    }
    return result;
  };
}

/** The MCU: rebuilt from scratch on a reset, as every register of the real chip resets. */
class Mcu {
  readonly cpu: CPU;
  readonly portB: AVRIOPort;
  readonly portC: AVRIOPort;
  readonly portD: AVRIOPort;
  readonly usart: AVRUSART;
  readonly twi: AVRTWI;
  sleeping = false;

  constructor(program: Uint16Array) {
    this.cpu = new CPU(program, SRAM_BYTES);
    this.portB = new AVRIOPort(this.cpu, portBConfig);
    this.portC = new AVRIOPort(this.cpu, portCConfig);
    this.portD = new AVRIOPort(this.cpu, portDConfig);
    new AVRTimer(this.cpu, timer0Config);
    new AVRTimer(this.cpu, timer1Config);
    new AVRTimer(this.cpu, timer2Config);
    this.usart = new AVRUSART(this.cpu, usart0Config, CPU_HZ);
    fixUsartFlags(this.cpu, this.usart);
    this.twi = new AVRTWI(this.cpu, twiConfig, CPU_HZ);
  }

  /** The next scheduled timer/UART/TWI event, in cycles, or undefined. */
  nextEventCycles(): number | undefined {
    return (this.cpu as unknown as { nextClockEvent: { cycles: number } | null }).nextClockEvent?.cycles;
  }
}

export type LedState = 'off' | 'ok' | 'err' | 'both';

/** `output`: bytes from the UART. `screen`: the LCD's text, after anything a person sees or hears changed. */
export class Board extends EventEmitter<{ output: [Buffer]; screen: [string[]] }> {
  readonly lcd: HD44780;
  /** Every buzzer sound, as its length in ms of board time. */
  readonly beeps: number[] = [];
  /** Resets so far. */
  resets = 0;

  private readonly program: Uint16Array;
  private readonly keymap: readonly string[];
  private readonly keyHoldMs: number;
  private readonly bounceMs: number;
  private mcu!: Mcu;
  private pcf: PCF8574 | null = null;
  /** Cycles of the MCUs before the last reset: the board's clock never goes back. */
  private cyclesBefore = 0;
  private readonly rxQueue: number[] = [];
  private txBatch: number[] = [];
  private readonly keyQueue: string[] = [];
  private pressed: { row: number; col: number } | null = null;
  private keyBusy = false;
  private buzzerOnAt: number | null = null;
  private running = false;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];
  /** The LCD, a LED, the backlight or the buzzer changed since the last 'screen' event. */
  private faceChanged = false;

  constructor(readonly options: BoardOptions) {
    super();
    this.program = loadHex(options.hexPath);
    this.keymap = KEYMAPS[options.keypadCols];
    this.keyHoldMs = options.keyHoldMs ?? 50;
    this.bounceMs = options.bounceMs ?? 0;
    const i2c = options.i2cAddress !== undefined;
    this.lcd = new HD44780(options.cols, options.rows, () => this.seconds(), i2c ? pcfPins(0xff) : undefined);
    this.lcd.onChange = () => (this.faceChanged = true);
    this.powerUp();
  }

  /** The board's time in seconds since power-on. */
  seconds(): number {
    return (this.cyclesBefore + (this.mcu?.cpu.cycles ?? 0)) / CPU_HZ;
  }

  screenText(): string[] {
    return this.lcd.screenText();
  }

  get backlight(): boolean {
    return this.pcf ? (this.pcf.port & 0x08) !== 0 : this.mcu.portD.pinState(3) === PinState.High;
  }

  get led(): LedState {
    const [port, green, red] = this.options.i2cAddress !== undefined ? [this.mcu.portB, 0, 1] : [this.mcu.portC, 4, 5];
    const g = port.pinState(green) === PinState.High;
    const r = port.pinState(red) === PinState.High;
    return g && r ? 'both' : g ? 'ok' : r ? 'err' : 'off';
  }

  /** Bytes from the host, delivered at the UART's baud rate (firmware-sim/pty.ts calls this). */
  feed(chunk: Buffer | Uint8Array | string): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
    for (const b of bytes) this.rxQueue.push(b);
    this.pumpRx();
    this.wake();
  }

  /** Press and release keys one after another, each held keyHoldMs and followed by as long a gap. */
  press(keys: string): void {
    for (const k of keys) {
      if (!this.keymap.some((row) => row.includes(k))) throw new Error(`no key ${JSON.stringify(k)} on a ${this.options.keypadCols}-column keypad`);
      this.keyQueue.push(k);
    }
    this.nextKey();
    this.wake();
  }

  /** The reset button (or DTR): the MCU restarts, the LCD and its backpack keep their state. */
  reset(): void {
    this.cyclesBefore += this.mcu.cpu.cycles;
    this.resets++;
    this.keyQueue.length = 0;
    this.pressed = null;
    this.keyBusy = false;
    this.rxQueue.length = 0;
    this.powerUp();
    this.wake();
  }

  /** The firmware sleeps and nothing is scheduled: no timer runs, nothing is being sent or received. */
  get asleep(): boolean {
    return this.mcu.sleeping && this.mcu.nextEventCycles() === undefined;
  }

  /**
   * The deepest the stack has reached since the last reset, in bytes: SRAM starts zeroed, so the
   * lowest byte above .bss that is not zero any more is the stack's high-water mark.
   */
  stackUsed(bssEnd: number): number {
    const { data } = this.mcu.cpu;
    const ramEnd = SRAM_BYTES + 0x100;
    let low = bssEnd;
    while (low < ramEnd && data[low] === 0) low++;
    return ramEnd - low;
  }

  /** Resolves when the firmware sleeps with nothing scheduled and nothing to deliver. */
  idle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
  }

  private powerUp(): void {
    const mcu = new Mcu(this.program);
    this.mcu = mcu;
    mcu.usart.onByteTransmit = (b) => this.txBatch.push(b);
    mcu.usart.onRxComplete = () => this.pumpRx();
    if (this.options.i2cAddress !== undefined) {
      // The expander keeps its latch across the MCU's reset; it only gets the new bus.
      this.pcf = this.pcf ?? new PCF8574(this.options.i2cAddress, (port) => this.lcd.setPins(pcfPins(port)));
      this.pcf.attach(mcu.twi, mcu.cpu, CPU_HZ);
    } else {
      mcu.portB.addListener(() => this.parallelPins());
    }
    mcu.portC.addListener(() => this.updateRows());
    mcu.portD.addListener(() => this.buzzerPin());
    // LEDs, backlight and buzzer are on these ports too: what a person sees or hears may change.
    for (const port of [mcu.portB, mcu.portC, mcu.portD]) port.addListener(() => (this.faceChanged = true));
    this.updateRows();
    this.wake();
  }

  private parallelPins(): void {
    const p = this.mcu.portB;
    const high = (i: number) => p.pinState(i) === PinState.High;
    let data = 0;
    for (let i = 0; i < 4; i++) if (high(2 + i)) data |= 1 << i;
    this.lcd.setPins({ rs: high(0), rw: false, e: high(1), data });
  }

  private buzzerPin(): void {
    const on = this.mcu.portD.pinState(2) === PinState.High;
    const t = this.seconds();
    if (on && this.buzzerOnAt === null) this.buzzerOnAt = t;
    else if (!on && this.buzzerOnAt !== null) {
      this.beeps.push(Math.round((t - this.buzzerOnAt) * 1000));
      this.buzzerOnAt = null;
    }
  }

  /** A row reads low when a pressed key joins it to a column driven low; else its pull-up holds it high. */
  private updateRows(): void {
    const { portC, portD } = this.mcu;
    for (let row = 0; row < 4; row++) {
      const key = this.pressed;
      const low = key !== null && key.row === row && portC.pinState(key.col) === PinState.Low;
      portD.setPin(4 + row, !low);
    }
  }

  private nextKey(): void {
    if (this.keyBusy || this.keyQueue.length === 0) return;
    const key = this.keyQueue.shift()!;
    const row = this.keymap.findIndex((r) => r.includes(key));
    const contact = { row, col: this.keymap[row]!.indexOf(key) };
    this.keyBusy = true;
    const mcu = this.mcu;
    const later = (ms: number, then: () => void) =>
      mcu.cpu.addClockEvent(() => {
        if (this.mcu === mcu) then();
      }, Math.round((ms / 1000) * CPU_HZ));
    // The contact as a list of (closed, for ms): chatter, held, chatter, open.
    const steps: Array<[boolean, number]> = [];
    const chatter = (closed: boolean) => {
      for (let t = 0; t < this.bounceMs; t += 3) steps.push([closed, 1], [!closed, 2]);
    };
    chatter(true);
    steps.push([true, this.keyHoldMs]);
    chatter(false);
    steps.push([false, this.keyHoldMs]);
    const step = (i: number): void => {
      if (i === steps.length) {
        this.keyBusy = false;
        this.nextKey();
        return;
      }
      const [closed, ms] = steps[i]!;
      this.pressed = closed ? contact : null;
      this.updateRows();
      later(ms, () => step(i + 1));
    };
    step(0);
  }

  private pumpRx(): void {
    const { usart } = this.mcu;
    // Before the firmware enables the receiver, bytes are lost, as on the real UART.
    while (this.rxQueue.length > 0 && !usart.rxEnable) this.rxQueue.shift();
    if (this.rxQueue.length > 0 && !usart.rxBusy) usart.writeByte(this.rxQueue.shift()!);
  }

  private wake(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    setImmediate(() => this.runSlice());
  }

  private runSlice(): void {
    if (this.stopped) return;
    const started = performance.now();
    let idle = false;
    do {
      idle = this.execute(BATCH);
    } while (!idle && performance.now() - started < SLICE_MS);
    this.flush();
    if (idle) {
      this.running = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
      return;
    }
    setImmediate(() => this.runSlice());
  }

  /** Runs up to `count` instructions; true when the firmware sleeps with nothing left to happen. */
  private execute(count: number): boolean {
    const mcu = this.mcu;
    const { cpu } = mcu;
    const program = cpu.progMem;
    for (let i = 0; i < count; i++) {
      if (mcu.sleeping) {
        // An enabled, flagged interrupt wakes the core; tick() runs its handler.
        if (cpu.nextInterrupt >= 0 && cpu.interruptsEnabled) {
          mcu.sleeping = false;
          cpu.tick();
          continue;
        }
        const next = mcu.nextEventCycles();
        if (next === undefined) return true; // bytes still queued would have a receive event
        if (next > cpu.cycles) cpu.cycles = next;
        const pc = cpu.pc;
        cpu.tick(); // the event may raise an interrupt, which tick() enters at once
        if (cpu.pc !== pc) mcu.sleeping = false;
        continue;
      }
      const opcode = program[cpu.pc];
      const sleepAt = opcode === SLEEP_OPCODE && cpu.data[SMCR]! & 1 ? cpu.pc : -1;
      avrInstruction(cpu);
      // "The instruction following SEI will be executed before any pending interrupts" (the
      // datasheet, Reset and Interrupt Handling; avr8js enters them at once): so `sei; sleep`
      // cannot miss a wake-up.
      if (opcode === SEI_OPCODE) continue;
      cpu.tick();
      // An interrupt already pending when SLEEP ran (tick() has entered it) means no sleep at all.
      if (sleepAt >= 0 && cpu.pc === sleepAt + 1) mcu.sleeping = true;
    }
    return false;
  }

  private flush(): void {
    if (this.txBatch.length > 0) {
      const out = Buffer.from(this.txBatch);
      this.txBatch = [];
      this.emit('output', out);
    }
    if (this.faceChanged) {
      this.faceChanged = false;
      this.emit('screen', this.screenText());
    }
  }
}
