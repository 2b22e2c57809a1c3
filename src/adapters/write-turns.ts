/**
 * Write turns per key (a GitHub installation, a GitLab instance): the writes of one key are made
 * one at a time and spaced as the platform asks, while the writes of different keys do not wait on
 * each other. A write first reserves its turn (the earliest time the spacing allows, first come
 * first served), then waits for it through its job's worker slot (../ports/work-slot.ts): parked
 * with the slot given back, or handed back to the queue when the turn is far away. A job handed
 * back keeps its reserved turn: when it runs again, its first write on that key takes it.
 *
 * The requester's comment first: a write that creates the comment (GitHub) or note (GitLab) the
 * requester waits for (`WriteKind` 'comment') takes the turn of the earliest write of another kind
 * (a label, a description edit, a check run…) still waiting for its turn on that key, and that write
 * and the ones after it each move one turn later. Not without end: a write is passed by at most
 * `MAX_PASSES` comments, and by none once it has waited `MAX_PASSED_WAIT_MS` for its turn; so it is
 * made at most `MAX_PASSES` turns later than first come first served would have made it. Other
 * content-creating writes (issues, reviews) and turns kept for jobs handed back are never passed,
 * and the comment keeps every limit (spacing, one at a time, the content windows).
 *
 * The turns are this process's: two replicas each keep their own, so together they may write to one
 * key up to twice as often (docs/operations.md, "Write pacing").
 */
import { currentSlot, HandedBack, waitUntil } from '../ports/work-slot.ts';

export interface TurnLimits {
  /** Least time between two writes of one key (ms). */
  spacingMs: number;
  /** Least time between two content-creating writes (comments, issues) of one key (ms). */
  contentSpacingMs: number;
  /** At most `count` content-creating writes of one key in any `windowMs`. */
  contentWindows: readonly { count: number; windowMs: number }[];
  /** A write of one key waits for the one before it to be answered. Default true. */
  oneAtATime?: boolean;
}

/**
 * GitHub's documented pacing ("Best practices for using the REST API", "Rate limits for the REST
 * API"): at least one second between POST, PATCH, PUT and DELETE requests of one installation,
 * made one at a time; no more than 80 content-generating requests a minute and 500 an hour. One
 * write a second already keeps under 80 a minute; the hourly bound is kept by its window.
 */
export const githubTurnLimits: TurnLimits = {
  spacingMs: 1_000,
  contentSpacingMs: 1_000,
  contentWindows: [
    { count: 80, windowMs: 60_000 },
    { count: 500, windowMs: 3_600_000 },
  ],
};

/**
 * GitLab's default per-user limits on a self-managed instance and on GitLab.com ("Rate limits on
 * note creation", "Rate limits on issue creation": 300 a minute). GitLab asks for no spacing nor
 * for writes one at a time: the instance's other writes are not held back.
 */
export const gitlabTurnLimits: TurnLimits = {
  spacingMs: 0,
  contentSpacingMs: 0,
  contentWindows: [{ count: 300, windowMs: 60_000 }],
  oneAtATime: false,
};

/**
 * What a write is, as write turns see it: `comment`, a new comment or note on an issue, pull or
 * merge request (the one its requester waits for: it goes first); `content`, another
 * content-creating write (an issue, a review, a release…); `other`, any other write (labels,
 * description edits, check runs, comment edits…).
 */
export type WriteKind = 'comment' | 'content' | 'other';

const createsContent = (kind: WriteKind): boolean => kind !== 'other';

/** A write of kind `other` is passed by at most this many comments… */
export const MAX_PASSES = 10;
/** …and by none once it has waited this long for its turn (ms). */
export const MAX_PASSED_WAIT_MS = 10_000;

/** A turn reserved for a write not made yet; a comment may move a waiting write's turn later. */
interface Ticket {
  at: number;
  /** When it was reserved. */
  since: number;
  /** How many comments took its turn. */
  passes: number;
}

interface KeyState {
  nextWrite: number;
  nextContent: number;
  /** Reserved times of content-creating writes within the longest window, ascending. */
  content: number[];
  /** Writes of kind `other` waiting for their turns (not sent, not handed back) that may still be passed, by turn. */
  waiting: Ticket[];
  /** Turns kept for jobs handed back, by job id. */
  held: Map<string, { at: number; content: boolean }>;
  /** The write being made now, if any: the next one waits for it to end. */
  inFlight: Promise<void> | null;
  /** When the last write and the last content-creating write were sent (a turn taken late moves the next one). */
  lastSent: number;
  lastContentSent: number;
  /** No write before this (a rate limit): a comment takes no turn reserved earlier. */
  blockedUntil: number;
  /** When the key was last used (for forgetting idle keys). */
  usedAt: number;
}

/** A held turn not claimed this long after it fell due is given up (its job ran elsewhere, or wrote nothing). */
const HELD_FOR_MS = 60_000;

export class WriteTurns {
  readonly #limits: TurnLimits;
  readonly #now: () => number;
  readonly #keys = new Map<string, KeyState>();
  readonly #longestWindow: number;

  constructor(limits: TurnLimits, now: () => number = Date.now) {
    this.#limits = limits;
    this.#now = now;
    this.#longestWindow = Math.max(0, ...limits.contentWindows.map((w) => w.windowMs));
  }

  #state(key: string, now: number): KeyState {
    let s = this.#keys.get(key);
    if (!s) {
      if (this.#keys.size >= 1_000) this.#forgetIdle(now);
      s = {
        nextWrite: 0,
        nextContent: 0,
        content: [],
        waiting: [],
        held: new Map(),
        inFlight: null,
        lastSent: -Infinity,
        lastContentSent: -Infinity,
        blockedUntil: -Infinity,
        usedAt: now,
      };
      this.#keys.set(key, s);
    }
    s.usedAt = now;
    return s;
  }

  /** Keys unused for longer than every window and with nothing pending hold nothing worth keeping. */
  #forgetIdle(now: number): void {
    for (const [key, s] of this.#keys) {
      const quiet = Math.max(s.nextWrite, s.nextContent, s.content.at(-1) ?? 0) + this.#longestWindow;
      if (quiet < now && s.held.size === 0 && s.inFlight === null) this.#keys.delete(key);
    }
  }

  #earliest(s: KeyState, content: boolean, now: number): number {
    let at = Math.max(now, s.nextWrite);
    if (!content) return at;
    at = Math.max(at, s.nextContent);
    for (const w of this.#limits.contentWindows) {
      const n = s.content.length;
      if (n >= w.count) at = Math.max(at, s.content[n - w.count]! + w.windowMs);
    }
    return at;
  }

  /** Whether a content-creating write at `at`, among those reserved, keeps the spacing and every window. */
  #contentFits(s: KeyState, at: number): boolean {
    if (at < s.lastContentSent + this.#limits.contentSpacingMs) return false;
    if (s.content.some((c) => Math.abs(c - at) < this.#limits.contentSpacingMs)) return false;
    const times = [...s.content, at].sort((a, b) => a - b);
    return this.#limits.contentWindows.every((w) =>
      times.every((t, i) => i + w.count >= times.length || times[i + w.count]! >= t + w.windowMs),
    );
  }

  /** Reserves the next turn of `key` (or takes the one held for `holder`); returns its time. */
  reserve(key: string, kind: WriteKind, holder?: string): number {
    return this.#reserve(key, kind, holder).at;
  }

  #reserve(key: string, kind: WriteKind, holder?: string): Ticket {
    const now = this.#now();
    const content = createsContent(kind);
    const s = this.#state(key, now);
    for (const [id, h] of s.held) if (h.at + HELD_FOR_MS < now) s.held.delete(id);
    // A write that may not be passed any more need not be found.
    s.waiting = s.waiting.filter((t) => t.passes < MAX_PASSES && now - t.since < MAX_PASSED_WAIT_MS);
    const held = holder === undefined ? undefined : s.held.get(holder);
    if (held && (held.content || !content)) {
      s.held.delete(holder!);
      return { at: held.at, since: now, passes: MAX_PASSES };
    }
    if (held) s.held.delete(holder!);
    const at = this.#earliest(s, content, now);
    s.nextWrite = at + this.#limits.spacingMs;
    const ticket: Ticket = { at, since: now, passes: 0 };
    if (kind === 'comment') {
      // The turns of the waiting writes it may pass (not come yet), from the earliest one a comment may take.
      const passed = s.waiting.filter((t) => t.at > now && t.at >= s.blockedUntil && t.at < at);
      const first = passed.findIndex((t) => this.#contentFits(s, t.at));
      if (first >= 0) {
        const moved = passed.slice(first);
        ticket.at = moved[0]!.at;
        // Each passed write takes the turn of the next one; the last, the turn the comment leaves.
        moved.forEach((t, i) => {
          t.at = i + 1 < moved.length ? moved[i + 1]!.at : at;
          t.passes += 1;
        });
        s.waiting.sort((a, b) => a.at - b.at);
      }
    }
    if (content) {
      s.nextContent = Math.max(s.nextContent, ticket.at + this.#limits.contentSpacingMs);
      s.content.push(ticket.at);
      s.content.sort((a, b) => a - b);
      while (s.content.length > 0 && s.content[0]! + this.#longestWindow < now) s.content.shift();
    } else s.waiting.push(ticket);
    return ticket;
  }

  /** The write of `ticket` is made (or its job handed back): no comment takes its turn any more. */
  #sent(key: string, ticket: Ticket): void {
    const s = this.#keys.get(key);
    const i = s?.waiting.indexOf(ticket) ?? -1;
    if (i >= 0) s!.waiting.splice(i, 1);
  }

  /** Keeps a reserved turn for a job handed back until it runs again. */
  hold(key: string, holder: string, at: number, content: boolean): void {
    this.#state(key, this.#now()).held.set(holder, { at, content });
  }

  /** No write of `key` before `until` (the platform answered with a rate limit). */
  block(key: string, until: number): void {
    const s = this.#state(key, this.#now());
    s.nextWrite = Math.max(s.nextWrite, until);
    s.nextContent = Math.max(s.nextContent, until);
    s.blockedUntil = Math.max(s.blockedUntil, until);
  }

  /**
   * Waits for a write turn of `key`, under the job's slot (parked or handed back, see
   * ../ports/work-slot.ts), then for the key's write in flight to end. Call the returned function
   * once the write is answered.
   */
  async take(key: string, kind: WriteKind, what: string): Promise<() => void> {
    const slot = currentSlot();
    const content = createsContent(kind);
    const ticket = this.#reserve(key, kind, slot?.jobId);
    const reason = `write turn of ${key} for ${what}`;
    try {
      // A comment may move this write's turn later while it waits (see above): then it waits again.
      for (let waited = -Infinity; ticket.at > waited;) {
        waited = ticket.at;
        await waitUntil(waited, reason);
      }
    } catch (err) {
      if (err instanceof HandedBack && slot) this.hold(key, slot.jobId, ticket.at, content);
      throw err;
    } finally {
      this.#sent(key, ticket);
    }
    const s = this.#state(key, this.#now());
    if (this.#limits.oneAtATime === false) return () => undefined;
    for (;;) {
      while (s.inFlight) await s.inFlight;
      // Spaced from the writes actually sent: a turn taken late (a job resumed or run again after
      // its time) does not bring the next write closer than the spacing.
      const due = Math.max(s.lastSent + this.#limits.spacingMs, content ? s.lastContentSent + this.#limits.contentSpacingMs : -Infinity);
      if (due <= this.#now()) break;
      await waitUntil(due, reason);
    }
    const sent = this.#now();
    s.lastSent = sent;
    if (content) s.lastContentSent = sent;
    let end!: () => void;
    s.inFlight = new Promise<void>((resolve) => (end = resolve));
    return () => {
      s.inFlight = null;
      end();
    };
  }
}
