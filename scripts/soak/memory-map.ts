/**
 * Where a process's resident memory lives, from /proc/PID/smaps: V8's heap pages, malloc,
 * the rest of the anonymous memory, and file pages. VmRSS alone cannot tell a native leak
 * from V8 touching pages of its heap it committed earlier (its young generation is committed
 * in full but touched page by page as the daemon allocates), nor is V8's committed size the
 * part of its heap that is resident: only the mappings say which pages are in memory.
 */

/** Resident bytes by owner. */
export interface ResidentParts {
  /** V8's heap: its pages (every one mapped on its own at a 256 KiB-aligned address, large objects included) and the executable pages of its code range. */
  v8: number;
  /** glibc malloc: the main arena ([heap], brk) and the threads' arenas (64 MiB reservations). */
  malloc: number;
  /** Every other anonymous mapping: thread stacks, large malloc chunks mapped on their own, libraries' data. */
  otherAnon: number;
  /** Pages of files mapped in (the node binary, libraries, the bundle's code cache): the kernel drops and reads them back at will. */
  file: number;
}

const V8_PAGE_ALIGNMENT = 256 * 1024;
/** glibc's HEAP_MAX_SIZE on 64-bit: a thread arena is a 64 MiB-aligned reservation of 64 MiB, its used part read-write, the rest PROT_NONE. */
const ARENA_SIZE = 64 * 1024 * 1024;

interface Mapping {
  start: number;
  end: number;
  perms: string;
  name: string;
  rss: number;
}

export function parseSmaps(text: string): Mapping[] {
  const maps: Mapping[] = [];
  let cur: Mapping | undefined;
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      // addresses above 2^53 do not occur on x86-64 or arm64 user space (47-48 bits)
      cur = { start: parseInt(head[1]!, 16), end: parseInt(head[2]!, 16), perms: head[3]!, name: head[4]!.trim(), rss: 0 };
      maps.push(cur);
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && cur) cur.rss = Number(rss[1]) * 1024;
  }
  return maps;
}

export function residentParts(smaps: string): ResidentParts {
  const maps = parseSmaps(smaps);
  const parts: ResidentParts = { v8: 0, malloc: 0, otherAnon: 0, file: 0 };
  maps.forEach((m, i) => {
    if (m.rss === 0) return;
    if (m.name.startsWith('/')) {
      parts.file += m.rss;
      return;
    }
    if (m.name === '[heap]') {
      parts.malloc += m.rss;
      return;
    }
    if (m.name !== '') {
      parts.otherAnon += m.rss; // [stack], [vdso], [anon:...]
      return;
    }
    const next = maps[i + 1];
    const arena = m.start % ARENA_SIZE === 0 && m.perms.startsWith('rw') && next !== undefined && next.start === m.end && next.perms.startsWith('---') && next.end - m.start === ARENA_SIZE;
    if (arena) parts.malloc += m.rss;
    else if (m.start % V8_PAGE_ALIGNMENT === 0 || m.perms.includes('x')) parts.v8 += m.rss;
    else parts.otherAnon += m.rss;
  });
  return parts;
}
