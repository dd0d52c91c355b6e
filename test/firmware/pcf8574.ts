/**
 * A PCF8574 remote 8-bit I/O expander on the TWI bus (NXP datasheet, rev. 5): it acknowledges
 * its address, latches each byte written to it onto P0-P7 after the acknowledge (write mode),
 * and returns its pins when read. The bus takes as long as a real one at the master's SCL rate:
 * 9 clocks per byte, one for START and STOP.
 */
import type { AVRTWI, CPU, TWIEventHandler } from 'avr8js';

export class PCF8574 implements TWIEventHandler {
  /** P0-P7 (quasi-bidirectional, high after power-on). */
  port = 0xff;
  private twi!: AVRTWI;
  private cpu!: CPU;
  private cpuHz = 16e6;
  private selected = false;

  constructor(
    readonly address: number,
    private readonly onWrite: (port: number) => void,
  ) {}

  /** Connects to a (new) MCU's bus. */
  attach(twi: AVRTWI, cpu: CPU, cpuHz: number): void {
    this.twi = twi;
    this.cpu = cpu;
    this.cpuHz = cpuHz;
    this.selected = false;
    twi.eventHandler = this;
  }

  private after(clocks: number, done: () => void): void {
    const cycles = Math.max(1, Math.round((clocks * this.cpuHz) / this.twi.sclFrequency));
    this.cpu.addClockEvent(done, cycles);
  }

  start(): void {
    this.after(1, () => this.twi.completeStart());
  }

  stop(): void {
    this.selected = false;
    this.after(1, () => this.twi.completeStop());
  }

  connectToSlave(addr: number, write: boolean): void {
    this.selected = addr === this.address;
    void write;
    this.after(9, () => this.twi.completeConnect(this.selected));
  }

  writeByte(value: number): void {
    const mine = this.selected;
    this.after(9, () => {
      if (mine) {
        this.port = value;
        this.onWrite(value);
      }
      this.twi.completeWrite(mine);
    });
  }

  readByte(): void {
    this.after(9, () => this.twi.completeRead(this.selected ? this.port : 0xff));
  }
}
