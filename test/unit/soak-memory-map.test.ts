/** The soak's reading of /proc/PID/smaps (scripts/soak/memory-map.ts): whose resident pages are whose. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { residentParts } from '../../scripts/soak/memory-map.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** One smaps entry, with the fields the kernel prints that matter here and one that does not. */
const entry = (start: number, size: number, perms: string, rssKiB: number, name = '') =>
  `${start.toString(16)}-${(start + size).toString(16)} ${perms} 00000000 00:00 0          ${name}\nSize:   ${size / KiB} kB\nRss:    ${rssKiB} kB\nPss:    ${rssKiB} kB\nVmFlags: rd wr mr mw me ac\n`;

describe('resident memory by owner (smaps)', () => {
  it('tells V8\'s pages, malloc\'s arenas, other anonymous memory and file pages apart', () => {
    const arena = 0x7f00_0000_0000; // 64 MiB-aligned, as glibc places a thread arena
    const codeRange = 0x7f10_0000_0000;
    const text = [
      entry(0x5600_0000_0000, 8 * KiB, 'r--p', 8, '/usr/bin/node'),
      entry(0x5600_0000_2000, 40 * MiB, 'r-xp', 30_000, '/usr/bin/node'),
      entry(0x5600_1000_0000, 3 * MiB, 'rw-p', 2_900, '[heap]'),
      // V8's pages: 256 KiB-aligned, one mapping each; a large object's page is bigger
      entry(0x3a37_bc00_0000, 256 * KiB, 'rw-p', 256),
      entry(0x4faa_b804_0000, 256 * KiB, 'rw-p', 8),
      entry(0x160a_9918_0000, 404 * KiB, 'rw-p', 404),
      // a thread's malloc arena: its used part read-write, the rest of 64 MiB reserved
      entry(arena, 300 * KiB, 'rw-p', 120),
      entry(arena + 300 * KiB, 64 * MiB - 300 * KiB, '---p', 0),
      // V8's code range: a first page, a guard, executable code pages, the reservation
      entry(codeRange, 8 * KiB, 'rw-p', 8),
      entry(codeRange + 8 * KiB, 4 * KiB, '---p', 0),
      entry(codeRange + 12 * KiB, 240 * KiB, 'rwxp', 20),
      entry(codeRange + 252 * KiB, 510 * MiB, '---p', 0),
      // a thread's stack and a big malloc chunk mapped on its own: page-aligned only
      entry(0x7f20_0000_1000, 8 * MiB, 'rw-p', 24),
      entry(0x7f20_0080_3000, 132 * KiB, 'rw-p', 132),
      entry(0x7ffd_0000_0000, 132 * KiB, 'rw-p', 40, '[stack]'),
    ].join('');
    assert.deepEqual(residentParts(text), {
      v8: (256 + 8 + 404 + 8 + 20) * KiB,
      malloc: (2_900 + 120) * KiB,
      otherAnon: (24 + 132 + 40) * KiB,
      file: (8 + 30_000) * KiB,
    });
  });

  it('adds up to the resident set of a real process', () => {
    const parts = residentParts(readFileSync('/proc/self/smaps', 'utf8'));
    const status = readFileSync('/proc/self/status', 'utf8');
    const vmRss = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]) * KiB;
    const sum = parts.v8 + parts.malloc + parts.otherAnon + parts.file;
    // the two reads are moments apart: this process allocates in between
    assert.ok(Math.abs(sum - vmRss) < 4 * MiB, `smaps parts ${sum} vs VmRSS ${vmRss}`);
    assert.ok(parts.v8 > 1 * MiB && parts.malloc > 0 && parts.file > 10 * MiB, JSON.stringify(parts));
  });
});
