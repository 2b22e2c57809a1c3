/**
 * The Forge port's contract, one suite for every implementation (GitHub, GitLab, the in-memory
 * fake), so the platforms cannot drift apart. Each implementation supplies a small "world": a way
 * to seed an issue's labels, comments and files as the platform would hold them, and to read the
 * resulting labels and comments back.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IssueRef, RepoRef } from '../../src/core/model.ts';
import type { Forge } from '../../src/ports/forge.ts';

export interface WorldComment {
  /** `null`: written by our bot. */
  author: string | null;
  body: string;
}

export interface ForgeWorld {
  forge: Forge;
  repo: RepoRef;
  seedIssue(number: number, spec: { labels?: string[]; comments?: WorldComment[] }): void;
  seedFile(path: string, text: string): void;
  labels(number: number): string[];
  /** Comments in the order written; ours have `author: null`. */
  comments(number: number): WorldComment[];
  /** Called after each test: fails on unmocked requests or leftovers. */
  verify(): void;
  close?(): void | Promise<void>;
}

const MARKER = '<!-- gatehouse:contract -->';
const sorted = (xs: string[]): string[] => [...xs].sort();

export function describeForgeContract(name: string, setup: () => ForgeWorld | Promise<ForgeWorld>): void {
  describe(`Forge contract: ${name}`, () => {
    let world: ForgeWorld;
    let ref: IssueRef;

    beforeEach(async () => {
      world = await setup();
      ref = { repo: world.repo, number: 7 };
    });
    afterEach(async () => {
      try {
        world.verify();
      } finally {
        await world.close?.();
      }
    });

    it('adds missing labels and keeps the others; the same call again changes nothing', async () => {
      world.seedIssue(7, { labels: ['bug', 'intake'] });
      await world.forge.ensureLabels(ref, ['intake', 'tier::advisory', 'intake::complete'], []);
      expect(sorted(world.labels(7))).toEqual(['bug', 'intake', 'intake::complete', 'tier::advisory']);
      await world.forge.ensureLabels(ref, ['intake', 'tier::advisory', 'intake::complete'], []);
      expect(sorted(world.labels(7))).toEqual(['bug', 'intake', 'intake::complete', 'tier::advisory']);
    });

    it('removes listed labels; removing an absent label is not an error', async () => {
      world.seedIssue(7, { labels: ['intake', 'tier::advisory'] });
      await world.forge.ensureLabels(ref, [], ['tier::advisory', 'tier::leadership']);
      expect(world.labels(7)).toEqual(['intake']);
      await world.forge.ensureLabels(ref, [], ['tier::advisory']);
      expect(world.labels(7)).toEqual(['intake']);
    });

    it('adds and removes in one call (swapping a scoped label)', async () => {
      world.seedIssue(7, { labels: ['intake', 'tier::advisory'] });
      await world.forge.ensureLabels(ref, ['tier::leadership'], ['tier::advisory']);
      expect(sorted(world.labels(7))).toEqual(['intake', 'tier::leadership']);
    });

    it('doing nothing is allowed', async () => {
      world.seedIssue(7, { labels: ['intake'] });
      await world.forge.ensureLabels(ref, [], []);
      expect(world.labels(7)).toEqual(['intake']);
    });

    it('creates the marked comment once, leaves it when unchanged, edits it in place when the body changes', async () => {
      world.seedIssue(7, { comments: [{ author: 'alice', body: 'please review' }] });
      expect(await world.forge.ensureComment(ref, MARKER, `${MARKER}\nTier 1`)).toBe('created');
      expect(await world.forge.ensureComment(ref, MARKER, `${MARKER}\nTier 1`)).toBe('unchanged');
      expect(await world.forge.ensureComment(ref, MARKER, `${MARKER}\nTier 3`)).toBe('updated');
      expect(world.comments(7)).toEqual([
        { author: 'alice', body: 'please review' },
        { author: null, body: `${MARKER}\nTier 3` },
      ]);
    });

    it('writes the comment whole: a block someone edited in our comment is overwritten, or dropped when the new body has none', async () => {
      const block = (text: string): string => `<!-- gatehouse:note:start -->\n${text}\n<!-- gatehouse:note:end -->`;
      world.seedIssue(7, { comments: [{ author: null, body: `${MARKER}\nTier 1\n\n${block('waived by someone')}` }] });
      expect(await world.forge.ensureComment(ref, MARKER, `${MARKER}\nTier 1\n\n${block('ours')}`)).toBe('updated');
      expect(world.comments(7).map((c) => c.body)).toEqual([`${MARKER}\nTier 1\n\n${block('ours')}`]);
      expect(await world.forge.ensureComment(ref, MARKER, `${MARKER}\nTier 1\n\n${block('ours')}`)).toBe('unchanged');
      expect(await world.forge.ensureComment(ref, MARKER, `${MARKER}\nTier 1`)).toBe('updated');
      expect(world.comments(7).map((c) => c.body)).toEqual([`${MARKER}\nTier 1`]);
    });

    it("never edits someone else's comment that carries the marker", async () => {
      world.seedIssue(7, { comments: [{ author: 'mallory', body: `${MARKER}\nfake verdict` }] });
      expect(await world.forge.ensureComment(ref, MARKER, `${MARKER}\nTier 2`)).toBe('created');
      expect(world.comments(7)).toEqual([
        { author: 'mallory', body: `${MARKER}\nfake verdict` },
        { author: null, body: `${MARKER}\nTier 2` },
      ]);
    });

    it('keeps markers apart: our comment with another marker is not touched', async () => {
      world.seedIssue(7, { comments: [{ author: null, body: '<!-- gatehouse:other -->\nclock' }] });
      expect(await world.forge.ensureComment(ref, MARKER, `${MARKER}\nTier 0`)).toBe('created');
      expect(world.comments(7).map((c) => c.body)).toEqual(['<!-- gatehouse:other -->\nclock', `${MARKER}\nTier 0`]);
    });

    it('finds our comment behind more than a page of others', async () => {
      world.seedIssue(7, {
        comments: [
          ...Array.from({ length: 130 }, (_, i) => ({ author: 'alice', body: `comment ${i}` })),
          { author: null, body: `${MARKER}\nTier 1` },
        ],
      });
      expect(await world.forge.ensureComment(ref, MARKER, `${MARKER}\nTier 1`)).toBe('unchanged');
      expect(await world.forge.ensureComment(ref, MARKER, `${MARKER}\nTier 2`)).toBe('updated');
      expect(world.comments(7)).toHaveLength(131);
      expect(world.comments(7).at(-1)).toEqual({ author: null, body: `${MARKER}\nTier 2` });
    });

    it('reads a file on the default branch as text, and a missing one as null', async () => {
      const text = 'tiers:\n  - name: advisory # ü, ✓\n';
      world.seedFile('.gatehouse/policy.yml', text);
      expect(await world.forge.readFile(world.repo, '.gatehouse/policy.yml')).toBe(text);
      expect(await world.forge.readFile(world.repo, '.gatehouse/absent.yml')).toBeNull();
    });
  });
}
