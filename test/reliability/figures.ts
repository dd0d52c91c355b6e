/**
 * Figures the reliability suite measures. Each test file records its figures as JSON lines
 * in $RELIABILITY_FIGURES (set by ./main.ts); without it (a file run on its own) they are
 * printed to stderr only.
 */
import { appendFileSync } from 'node:fs';

export interface Figure {
  section: string;
  name: string;
  value: string | number;
  /** What the figure must be for the suite to pass, in words. */
  bound?: string;
}

export function record(section: string, name: string, value: string | number, bound?: string): void {
  const f: Figure = { section, name, value, ...(bound ? { bound } : {}) };
  const file = process.env.RELIABILITY_FIGURES;
  if (file) appendFileSync(file, `${JSON.stringify(f)}\n`);
  else process.stderr.write(`figure: ${section} | ${name} | ${value}${bound ? ` (${bound})` : ''}\n`);
}

export function ms(n: number): string {
  return n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`;
}

/** Deterministic random numbers (mulberry32) so that a failing seed can be replayed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The same random choices on every run unless RELIABILITY_SEED says otherwise: a failure seen
 * once can be replayed, and CI does not draw new ones each time (vary it to explore).
 */
export const DEFAULT_SEED = 1;
export const SEED = Number(process.env.RELIABILITY_SEED ?? DEFAULT_SEED);
