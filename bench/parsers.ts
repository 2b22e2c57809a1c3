/**
 * bench/parsers: the worst time of every parser of user-written text over the hostile shapes of
 * issue 20 (headings and checkboxes followed by long runs of blanks, `<!--` floods, Gatehouse block
 * markers without an end, blank-line floods before commands, …), each 64 KB.
 *
 *   npx tsx bench/parsers.ts [--reps 3] [--size 65536]
 *
 * Prints one row per parser: its worst time, the shape that gave it, and its median over all
 * shapes. Figures, not a test: it exits 1 only when a parser returns a malformed answer or one call
 * takes longer than a second (a parser that is not linear).
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { HOSTILE_SHAPES, MAX, TEXT_PARSERS } from '../test/support/text-parsers.ts';

const { values } = parseArgs({ options: { reps: { type: 'string', default: '3' }, size: { type: 'string', default: String(MAX) } } });
const reps = Math.max(1, Number(values.reps));
const size = Math.max(1, Number(values.size));

/** A shape at `size` characters: the 64 KB shape repeated or cut. */
const sized = (text: string): string =>
  text.length >= size ? text.slice(0, size) : text.repeat(Math.ceil(size / text.length)).slice(0, size);

interface Row {
  parser: string;
  worstMs: number;
  worstShape: string;
  medianMs: number;
}

let failed = false;
const rows: Row[] = [];
const started = performance.now();
for (const [parser, run] of Object.entries(TEXT_PARSERS)) {
  const times: { shape: string; ms: number }[] = [];
  for (const [shape, text] of Object.entries(HOSTILE_SHAPES)) {
    const input = sized(text);
    let worst = 0;
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      const ok = run(input);
      const ms = performance.now() - t0;
      worst = Math.max(worst, ms);
      if (!ok) {
        console.error(`${parser}: malformed answer on "${shape}"`);
        failed = true;
      }
    }
    if (worst > 1000) {
      console.error(`${parser}: ${worst.toFixed(0)} ms on "${shape}" — not linear`);
      failed = true;
    }
    times.push({ shape, ms: worst });
  }
  const sorted = [...times].sort((a, b) => a.ms - b.ms);
  const worst = sorted[sorted.length - 1]!;
  rows.push({ parser, worstMs: worst.ms, worstShape: worst.shape, medianMs: sorted[Math.floor(sorted.length / 2)]!.ms });
}

const width = Math.max(...rows.map((r) => r.parser.length), 'parser'.length);
console.log(
  `${Object.keys(HOSTILE_SHAPES).length} hostile shapes of ${size.toLocaleString('en-US')} characters, worst of ${reps} run(s) each\n`,
);
console.log(`${'parser'.padEnd(width)}  ${'worst ms'.padStart(9)}  ${'median ms'.padStart(9)}  worst shape`);
for (const r of rows)
  console.log(`${r.parser.padEnd(width)}  ${r.worstMs.toFixed(2).padStart(9)}  ${r.medianMs.toFixed(2).padStart(9)}  ${r.worstShape}`);
console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
process.exitCode = failed ? 1 : 0;
