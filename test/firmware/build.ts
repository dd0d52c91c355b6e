/**
 * Builds a firmware variant from source with the firmware's own Makefile (gcc-avr, avr-libc,
 * make: .ci/run installs them), into firmware/build/ (gitignored), and reads its size.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../helpers/stack.js';

export interface FirmwareBuild {
  variant: string;
  hexPath: string;
  /** Flash (.text + .data) and static RAM (.data + .bss), in bytes. */
  flash: number;
  ram: number;
  /** The first SRAM address above .data and .bss: the stack may grow down to here. */
  bssEnd: number;
}

const FIRMWARE = path.join(ROOT, 'firmware');

export function buildFirmware(variant: string): FirmwareBuild {
  const dir = path.join(FIRMWARE, 'build', variant);
  try {
    execFileSync('make', ['-C', FIRMWARE, '--no-print-directory', variant], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: Buffer; code?: string };
    if (e.code === 'ENOENT') throw new Error('make is not installed: apt-get install make gcc-avr avr-libc (.ci/run does)');
    throw new Error(`building the firmware failed (apt-get install gcc-avr avr-libc make if they are missing):\n${e.stderr?.toString() ?? err}`);
  }
  const elf = path.join(dir, 'pinpad.elf');
  const sections = new Map<string, number>();
  for (const line of execFileSync('avr-size', ['-A', elf], { encoding: 'utf8' }).split('\n')) {
    const m = /^(\.\w+)\s+(\d+)/.exec(line);
    if (m) sections.set(m[1]!, Number(m[2]));
  }
  const symbols = execFileSync('avr-nm', [elf], { encoding: 'utf8' });
  const bssEnd = /^([0-9a-f]+) \w __bss_end$/m.exec(symbols);
  if (!bssEnd) throw new Error(`no __bss_end in ${elf}`);
  const data = sections.get('.data') ?? 0;
  return {
    variant,
    hexPath: path.join(dir, 'pinpad.hex'),
    flash: (sections.get('.text') ?? 0) + data,
    ram: data + (sections.get('.bss') ?? 0),
    bssEnd: parseInt(bssEnd[1]!, 16) & 0xffff,
  };
}
