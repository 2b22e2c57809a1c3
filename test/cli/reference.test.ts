/**
 * The command-line reference (docs/operations.md, "Command line") against the CLI itself: every
 * command and every option `--help` lists is in it, so the reference cannot fall behind the code.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';

/** The "Commands:" and "Options:" of one `--help` text. */
function parseHelp(text: string): { commands: string[]; options: string[] } {
  const commands: string[] = [];
  const options: string[] = [];
  let section = '';
  for (const line of text.split('\n')) {
    if (/^\S.*:$/.test(line)) section = line;
    const entry = /^ {2}(\S+)/.exec(line);
    if (!entry) continue;
    if (section === 'Commands:' && entry[1] !== 'help') commands.push(entry[1]!);
    if (section === 'Options:') options.push(...[...line.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]).filter((o) => o !== '--help'));
  }
  return { commands, options };
}

/** Every command path (`decisions verify`) with its options, read from `--help` recursively. */
async function commandTree(path: string[] = []): Promise<{ path: string; options: string[] }[]> {
  const help = await runCli(...path, '--help');
  expect(help.code).toBe(0);
  const { commands, options } = parseHelp(help.out);
  const here = path.length > 0 ? [{ path: path.join(' '), options }] : [];
  const below = await Promise.all(commands.map((c) => commandTree([...path, c])));
  return [...here, ...below.flat()];
}

async function referenceText(): Promise<string> {
  const doc = await readFile(new URL('../../docs/operations.md', import.meta.url), 'utf8');
  const start = doc.indexOf('## Command line');
  expect(start).toBeGreaterThan(-1);
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end === -1 ? undefined : end);
}

describe('the command-line reference in docs/operations.md', () => {
  it('names every command and every option the CLI accepts', async () => {
    const tree = await commandTree();
    const reference = await referenceText();
    expect(tree.map((c) => c.path)).toEqual(expect.arrayContaining(['start', 'validate', 'decisions verify', 'deliveries retry']));
    const missing: string[] = [];
    for (const { path, options } of tree) {
      if (!reference.includes(`gatehouse ${path}`)) missing.push(`gatehouse ${path}`);
      const lines = reference.split('\n').filter((l) => l.includes(`gatehouse ${path}`));
      for (const option of options) if (!lines.some((l) => l.includes(option))) missing.push(`gatehouse ${path} ${option}`);
    }
    expect(missing).toEqual([]);
  });
});
