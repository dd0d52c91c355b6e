/**
 * `node --import tsx scripts/soak/heap-diff.ts A.heapsnapshot B.heapsnapshot [--top 25] [--retained-by NAME]`:
 * what grew between two heap snapshots of the daemon (taken by the soak's probe after a full
 * GC: `npm run soak -- --snapshots 40,400 --keep DIR`, or the two every long soak takes at its
 * end), in three parts (heapParts: V8's JIT, serialport's Poller leak, the rest) and, for the
 * rest, by constructor: objects and bytes (V8's self sizes) that B has more of than A. A leak
 * shows as a count that grows with the number of events between the snapshots. --retained-by NAME: in each snapshot, the objects
 * of that constructor and everything only they keep alive (what freeing them would free):
 * the size of a known leak per occurrence.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { HeapDiff } from './analysis.js';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** A parsed snapshot with what the walks below need. */
class Graph {
  readonly count: number;
  private readonly width: number;
  private readonly edgeWidth: number;
  private readonly at: { type: number; name: number; size: number; edgeCount: number; edgeType: number; edgeName: number; to: number };
  private readonly firstEdge: Uint32Array;
  private readonly types: string[];
  private readonly edgeTypes: string[];

  constructor(readonly snap: Snapshot) {
    const meta = snap.snapshot.meta;
    this.width = meta.node_fields.length;
    this.edgeWidth = meta.edge_fields.length;
    this.types = meta.node_types[0];
    this.edgeTypes = meta.edge_types[0];
    const nf = (f: string) => meta.node_fields.indexOf(f);
    const ef = (f: string) => meta.edge_fields.indexOf(f);
    this.at = { type: nf('type'), name: nf('name'), size: nf('self_size'), edgeCount: nf('edge_count'), edgeType: ef('type'), edgeName: ef('name_or_index'), to: ef('to_node') };
    this.count = snap.nodes.length / this.width;
    this.firstEdge = new Uint32Array(this.count + 1);
    for (let i = 0; i < this.count; i++) this.firstEdge[i + 1] = this.firstEdge[i]! + snap.nodes[i * this.width + this.at.edgeCount]! * this.edgeWidth;
  }

  static load(file: string): Graph {
    return new Graph(JSON.parse(readFileSync(file, 'utf8')) as Snapshot);
  }

  type(i: number): string {
    return this.types[this.snap.nodes[i * this.width + this.at.type]!]!;
  }

  name(i: number): string {
    return this.snap.strings[this.snap.nodes[i * this.width + this.at.name]!]!;
  }

  size(i: number): number {
    return this.snap.nodes[i * this.width + this.at.size]!;
  }

  /** Calls `f` for every edge out of `i`: its type, its name (for named edges) and the node it leads to. */
  forEdges(i: number, f: (type: string, name: string | null, to: number) => void): void {
    for (let e = this.firstEdge[i]!; e < this.firstEdge[i + 1]!; e += this.edgeWidth) {
      const type = this.edgeTypes[this.snap.edges[e + this.at.edgeType]!]!;
      const raw = this.snap.edges[e + this.at.edgeName]!;
      f(type, type === 'element' || type === 'hidden' ? null : this.snap.strings[raw]!, this.snap.edges[e + this.at.to]! / this.width);
    }
  }

  /** Marks what `from` reaches over strong edges, not entering marked nodes or `stop` nodes. */
  mark(from: number[], seen: Uint8Array, stop: (i: number) => boolean): void {
    const stack = [...from];
    for (const i of from) seen[i] = 1;
    while (stack.length) {
      this.forEdges(stack.pop()!, (type, _name, to) => {
        if (type === 'weak' || seen[to] || stop(to)) return;
        seen[to] = 1;
        stack.push(to);
      });
    }
  }

  /** Objects of constructor `name` and everything reachable from them that the roots do not reach another way. */
  retainedBy(name: string): { targets: number[]; retained: Uint8Array } {
    const isTarget = (i: number) => this.type(i) === 'object' && this.name(i) === name;
    const byRoots = new Uint8Array(this.count);
    this.mark([0], byRoots, isTarget);
    const targets = [...Array(this.count).keys()].filter(isTarget);
    const retained = new Uint8Array(this.count);
    this.mark(targets, retained, (i) => byRoots[i] === 1);
    return { targets, retained };
  }
}

/**
 * Objects of constructor `name` and everything reachable from them that the roots do not
 * reach another way (weak edges do not keep anything alive): their count and self sizes.
 */
export function retainedBy(file: string, name: string): { count: number; bytes: number } {
  const g = Graph.load(file);
  const { targets, retained } = g.retainedBy(name);
  let bytes = 0;
  for (let i = 0; i < g.count; i++) if (retained[i]) bytes += g.size(i);
  return { count: targets.length, bytes };
}

export type Census = Map<string, { count: number; bytes: number }>;

/** The census key of node i: "type name" (e.g. "object Timeout", "closure onLine", "hidden system / Map"); strings and numbers by type only (their names are their contents). */
function censusKey(g: Graph, i: number): string {
  const type = g.type(i);
  const named = type === 'object' || type === 'closure' || type === 'native' || type === 'code' || type === 'hidden' || type === 'array' || type === 'object shape';
  return named ? `${type} ${g.name(i).slice(0, 80)}` : type;
}

function add(c: Census, key: string, bytes: number): void {
  const e = c.get(key) ?? { count: 0, bytes: 0 };
  e.count++;
  e.bytes += bytes;
  c.set(key, e);
}

/** Objects by "type name". */
export function census(file: string): Census {
  const g = Graph.load(file);
  const out: Census = new Map();
  for (let i = 0; i < g.count; i++) add(out, censusKey(g, i), g.size(i));
  return out;
}

/**
 * A snapshot in three parts, each a census:
 * - `jit`: V8's compiled code and what the JIT and the inline caches keep beside it: every
 *   node the snapshot types 'code' (machine code, bytecode, deoptimisation data, relocation
 *   info, source positions, feedback vectors and their handlers, allocation sites, shared
 *   function infos) and the weak lists reached over a 'dependent_code' edge (which optimised
 *   code relies on an object shape or a property cell staying as it is);
 * - `poller`: serialport's Poller objects, what only they keep alive and the bound callback
 *   that holds them (the known leak per port open, upstream node-serialport #1582);
 * - `ours`: everything else: the daemon's objects, closures, strings, buffers, hidden classes.
 */
export interface HeapParts {
  jit: Census;
  poller: Census;
  ours: Census;
}

export function heapParts(file: string): HeapParts {
  const g = Graph.load(file);
  const dependentCode = new Uint8Array(g.count);
  for (let i = 0; i < g.count; i++) g.forEdges(i, (_type, name, to) => {
    if (name === 'dependent_code') dependentCode[to] = 1;
  });
  const { targets, retained: poller } = g.retainedBy('Poller');
  // The bound callback the native poller holds (a global handle: a root) is the leak's own too.
  const pollers = new Set(targets);
  for (let i = 0; i < g.count; i++) if (g.type(i) === 'closure') g.forEdges(i, (_type, name, to) => {
    if (name === 'bound_this' && pollers.has(to)) poller[i] = 1;
  });
  const parts: HeapParts = { jit: new Map(), poller: new Map(), ours: new Map() };
  for (let i = 0; i < g.count; i++) {
    const part = poller[i] ? parts.poller : g.type(i) === 'code' || dependentCode[i] ? parts.jit : parts.ours;
    add(part, censusKey(g, i), g.size(i));
  }
  return parts;
}

export const censusTotal = (c: Census) => [...c.values()].reduce((s, x) => s + x.bytes, 0);

export function diff(a: Census, b: Census): Array<{ key: string; count: number; bytes: number }> {
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys]
    .map((key) => ({ key, count: (b.get(key)?.count ?? 0) - (a.get(key)?.count ?? 0), bytes: (b.get(key)?.bytes ?? 0) - (a.get(key)?.bytes ?? 0) }))
    .filter((d) => d.count !== 0 || d.bytes !== 0)
    .sort((x, y) => y.bytes - x.bytes);
}

/** What grew from snapshot `a` to `b`, taken `rounds` rounds and `portOpens` port opens apart. */
export function heapGrowth(a: HeapParts, b: HeapParts, rounds: number, portOpens: number): HeapDiff {
  const grown = (part: keyof HeapParts) => censusTotal(b[part]) - censusTotal(a[part]);
  const maps = (p: HeapParts) => p.ours.get('object shape system / Map')?.count ?? 0;
  const rows = diff(a.ours, b.ours);
  const mostObjects = rows.reduce((m, d) => (d.count > m.count ? d : m), { key: 'none', count: 0, bytes: 0 });
  return { rounds, portOpens, ours: grown('ours'), jit: grown('jit'), poller: grown('poller'), hiddenClasses: maps(b) - maps(a), grew: rows.filter((d) => d.bytes > 0).slice(0, 12), mostObjects };
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
  const [a, b] = positionals.map(heapParts) as [HeapParts, HeapParts];
  const top = Number(values.top ?? '25');
  const signed = (n: number) => `${n >= 0 ? '+' : ''}${n}`;
  for (const part of ['ours', 'jit', 'poller'] as const) {
    const rows = diff(a[part], b[part]);
    process.stdout.write(`${part}: ${censusTotal(a[part])} -> ${censusTotal(b[part])} bytes (${signed(censusTotal(b[part]) - censusTotal(a[part]))})\n`);
    if (part !== 'ours') continue;
    process.stdout.write('  grew (by bytes):\n');
    for (const d of rows.slice(0, top)) if (d.bytes > 0) process.stdout.write(`  ${String(d.bytes).padStart(9)} B ${signed(d.count).padStart(7)} objects  ${d.key}\n`);
    process.stdout.write('  shrank (by bytes):\n');
    for (const d of rows.slice(-Math.min(10, rows.length)).reverse()) if (d.bytes < 0) process.stdout.write(`  ${String(d.bytes).padStart(9)} B ${signed(d.count).padStart(7)} objects  ${d.key}\n`);
  }
}
