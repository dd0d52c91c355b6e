/**
 * `node --import tsx scripts/soak/heap-diff.ts A.heapsnapshot B.heapsnapshot [--top 25]`:
 * what grew between two heap snapshots of the daemon (taken by the soak's probe after a full
 * GC: `npm run soak -- --snapshots 40,400 --keep DIR`), by constructor: objects and bytes
 * (V8's self sizes) that B has more of than A. A leak shows as a count that grows with the
 * number of events between the snapshots.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export type Census = Map<string, { count: number; bytes: number }>;

/** Objects by "type name" (e.g. "object Timeout", "closure onLine", "string"). */
export function census(file: string): Census {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const out: Census = new Map();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!]!;
    // Strings and numbers by type only: their "names" are their contents.
    const named = type === 'object' || type === 'closure' || type === 'native' || type === 'code';
    const key = named ? `${type} ${snap.strings[snap.nodes[i + nameAt]!]!.slice(0, 80)}` : type;
    const c = out.get(key) ?? { count: 0, bytes: 0 };
    c.count++;
    c.bytes += snap.nodes[i + sizeAt]!;
    out.set(key, c);
  }
  return out;
}

export function diff(a: Census, b: Census): Array<{ key: string; count: number; bytes: number }> {
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys]
    .map((key) => ({ key, count: (b.get(key)?.count ?? 0) - (a.get(key)?.count ?? 0), bytes: (b.get(key)?.bytes ?? 0) - (a.get(key)?.bytes ?? 0) }))
    .filter((d) => d.count !== 0 || d.bytes !== 0)
    .sort((x, y) => y.bytes - x.bytes);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ options: { top: { type: 'string' } }, allowPositionals: true });
  if (positionals.length !== 2) {
    process.stderr.write('usage: heap-diff.ts A.heapsnapshot B.heapsnapshot [--top 25]\n');
    process.exit(2);
  }
  const [a, b] = positionals.map(census) as [Census, Census];
  const total = (c: Census) => [...c.values()].reduce((s, x) => s + x.bytes, 0);
  process.stdout.write(`self sizes: ${total(a)} -> ${total(b)} bytes (${total(b) - total(a) >= 0 ? '+' : ''}${total(b) - total(a)})\n`);
  const top = Number(values.top ?? '25');
  const rows = diff(a, b);
  process.stdout.write('grew (by bytes):\n');
  for (const d of rows.slice(0, top)) process.stdout.write(`  ${String(d.bytes).padStart(9)} B ${String(d.count).padStart(7)} objects  ${d.key}\n`);
  process.stdout.write('shrank (by bytes):\n');
  for (const d of rows.slice(-Math.min(10, rows.length)).reverse()) if (d.bytes < 0) process.stdout.write(`  ${String(d.bytes).padStart(9)} B ${String(d.count).padStart(7)} objects  ${d.key}\n`);
}
