/**
 * Every markdown file renders as its author meant: each fenced block closes where it should
 * (a fence line with text after it, like "``` Your software", does not close a block, and
 * once turned the rest of the README into code), no prose ends up inside a code block, and
 * relative links point at files that exist. Rendered with markdown-it (CommonMark).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import MarkdownIt from 'markdown-it';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function markdownFiles(dir = ''): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return ['node_modules', 'dist', '.git', 'build'].includes(e.name) || e.name.startsWith('.') ? [] : markdownFiles(rel);
    return e.name.endsWith('.md') ? [rel] : [];
  });
}

/** What is wrong with one markdown text, one line per problem. */
export function fenceProblems(text: string): string[] {
  const md = new MarkdownIt({ html: true });
  const lines = text.split('\n');
  const problems: string[] = [];
  const walk = (tokens: ReturnType<typeof md.parse>) => {
    for (const t of tokens) {
      if (t.children) walk(t.children);
      if (t.type !== 'fence' || !t.map) continue;
      const [start, end] = t.map;
      const at = `line ${start + 1}`;
      // An info string is a language name; words there mean a closing fence was lost above.
      if (/\s/.test(t.info.trim())) problems.push(`${at}: fence info "${t.info.trim()}" looks like prose`);
      const marker = t.markup[0]!;
      const closing = new RegExp(`^ {0,3}\\${marker}{${t.markup.length},}\\s*$`);
      if (end > lines.length || !closing.test(lines[end - 1] ?? '')) problems.push(`${at}: the fenced block is never closed`);
      // A fence-like line inside a block: an attempt to close it that CommonMark does not take.
      const inner = lines.slice(start + 1, end - 1).findIndex((l) => new RegExp(`^ {0,3}\\${marker}{3,}`).test(l));
      if (inner >= 0) problems.push(`line ${start + 2 + inner}: a fence line with text after it does not close the block opened at ${at}`);
    }
  };
  walk(md.parse(text, {}));
  return problems;
}

/** Relative links and images whose file does not exist. */
function brokenLinks(file: string, text: string): string[] {
  const md = new MarkdownIt({ html: true });
  const out: string[] = [];
  const walk = (tokens: ReturnType<typeof md.parse>) => {
    for (const t of tokens) {
      if (t.children) walk(t.children);
      const href = t.attrGet(t.type === 'image' ? 'src' : 'href');
      if (!href || /^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('#')) continue;
      const target = path.join(ROOT, path.dirname(file), decodeURIComponent(href.split('#')[0]!));
      if (!existsSync(target)) out.push(`${file}: link to ${href}: no such file`);
    }
  };
  walk(md.parse(text, {}));
  return out;
}

test('the check finds the fence that broke the README once', () => {
  const broken = ['Use it:', '', '```sh', 'cmd | app', '``` Your software', 'already has it.', '', '## Next', '', '```', 'code', '```', ''].join('\n');
  assert.ok(fenceProblems(broken).length > 0);
  assert.deepEqual(fenceProblems(['```sh', 'cmd', '```', 'Your software', ''].join('\n')), []);
  assert.ok(fenceProblems(['```sh', 'cmd', ''].join('\n')).some((p) => /never closed/.test(p)));
});

test('every markdown file renders: fences close, no prose in code, relative links resolve', () => {
  const files = markdownFiles();
  assert.ok(files.includes('README.md') && files.some((f) => f.startsWith('docs/')), files.join(' '));
  const problems: string[] = [];
  for (const f of files) {
    const text = readFileSync(path.join(ROOT, f), 'utf8');
    new MarkdownIt({ html: true }).render(text);
    problems.push(...fenceProblems(text).map((p) => `${f}: ${p}`), ...brokenLinks(f, text));
  }
  assert.deepEqual(problems, []);
});
