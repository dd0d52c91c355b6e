/**
 * `node --import tsx scripts/soak/heap-diff.ts A.heapsnapshot B.heapsnapshot [--top 25] [--retained-by NAME]`:
 * what grew between two heap snapshots of the daemon (taken by the soak's probe after a full
 * GC: `npm run soak -- --snapshots 40,400 --keep DIR`), by constructor: objects and bytes
 * (V8's self sizes) that B has more of than A. A leak shows as a count that grows with the
 * number of events between the snapshots. --retained-by NAME: in each snapshot, the objects
 * of that constructor and everything only they keep alive (what freeing them would free):
 * the size of a known leak per occurrence.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/**
 * Objects of constructor `name` and everything reachable from them that the roots do not
 * reach another way (weak edges do not keep anything alive): their count and self sizes.
 */
export function retainedBy(file: string, name: string): { count: number; bytes: number } {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const meta = snap.snapshot.meta;
  const width = meta.node_fields.length;
  const [typeAt, nameAt, sizeAt, edgeCountAt] = ['type', 'name', 'self_size', 'edge_count'].map((f) => meta.node_fields.indexOf(f)) as [number, number, number, number];
  const edgeWidth = meta.edge_fields.length;
  const edgeTypeAt = meta.edge_fields.indexOf('type');
  const toAt = meta.edge_fields.indexOf('to_node');
  const weak = meta.edge_types[0].indexOf('weak');
  const objectType = meta.node_types[0].indexOf('object');
  const count = snap.nodes.length / width;
  const firstEdge = new Uint32Array(count + 1);
  for (let i = 0; i < count; i++) firstEdge[i + 1] = firstEdge[i]! + snap.nodes[i * width + edgeCountAt]! * edgeWidth;
  const isTarget = (i: number) => snap.nodes[i * width + typeAt] === objectType && snap.strings[snap.nodes[i * width + nameAt]!] === name;
  /** Marks what `from` reaches (strong edges), not entering marked nodes or `stop` nodes. */
  const mark = (from: number[], seen: Uint8Array, stop: (i: number) => boolean) => {
    const stack = [...from];
    for (const i of from) seen[i] = 1;
    while (stack.length) {
      const i = stack.pop()!;
      for (let e = firstEdge[i]!; e < firstEdge[i + 1]!; e += edgeWidth) {
        if (snap.edges[e + edgeTypeAt] === weak) continue;
        const to = snap.edges[e + toAt]! / width;
        if (seen[to] || stop(to)) continue;
        seen[to] = 1;
        stack.push(to);
      }
    }
  };
  const byRoots = new Uint8Array(count);
  mark([0], byRoots, isTarget);
  const targets = [...Array(count).keys()].filter(isTarget);
  const retained = new Uint8Array(count);
  mark(targets, retained, (i) => byRoots[i] === 1);
  let bytes = 0;
  for (let i = 0; i < count; i++) if (retained[i]) bytes += snap.nodes[i * width + sizeAt]!;
  return { count: targets.length, bytes };
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
  const { values, positionals } = parseArgs({ options: { top: { type: 'string' }, 'retained-by': { type: 'string' } }, allowPositionals: true });
  if (positionals.length !== 2) {
    process.stderr.write('usage: heap-diff.ts A.heapsnapshot B.heapsnapshot [--top 25] [--retained-by NAME]\n');
    process.exit(2);
  }
  const only = values['retained-by'];
  if (only) {
    const [a, b] = positionals.map((f) => retainedBy(f, only)) as [{ count: number; bytes: number }, { count: number; bytes: number }];
    process.stdout.write(`${only}: ${a.count} objects retaining ${a.bytes} B -> ${b.count} retaining ${b.bytes} B: +${b.count - a.count} objects, +${b.bytes - a.bytes} B (${((b.bytes - a.bytes) / (b.count - a.count)).toFixed(0)} B each)\n`);
    process.exit(0);
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
