/**
 * Turn a JSON.parse failure into `line L, column C: reason` without echoing the input:
 * V8's message quotes a snippet of the text, and the text may hold the consumer secret.
 */

export interface JsonProblem {
  line: number;
  column: number;
  reason: string;
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split('\n');
  return { line: lines.length, column: lines[lines.length - 1]!.length + 1 };
}

function isUnexpectedToken(text: string): boolean {
  try {
    JSON.parse(text);
    return false;
  } catch (e) {
    return /^Unexpected token/.test((e as Error).message);
  }
}

/** Smallest prefix that already holds the bad token (Node 20 gives no position for it). */
function findUnexpectedToken(text: string): number {
  let lo = 1;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (isUnexpectedToken(text.slice(0, mid))) hi = mid;
    else lo = mid + 1;
  }
  return lo - 1;
}

export function describeJsonError(text: string, err: unknown): JsonProblem {
  const message = err instanceof Error ? err.message : String(err);
  // keep only V8's own words: drop the quoted snippet and the token itself
  const reason =
    message
      .replace(/ in JSON at position \d+.*$/s, '')
      .replace(/,\s*".*$/s, '')
      .replace(/^Unexpected token .*$/s, 'unexpected character')
      .replace(/^Unexpected end of JSON input$/, 'unexpected end of input')
      .trim() || 'invalid JSON';
  let offset: number;
  const pos = /at position (\d+)/.exec(message);
  if (pos) offset = Number(pos[1]);
  else if (/^Unexpected end/.test(message)) offset = text.length;
  else if (/^Unexpected token/.test(message)) offset = findUnexpectedToken(text);
  else offset = text.length;
  return { ...lineColumn(text, offset), reason };
}
