/** What the core asks the shell to do. Every action is an "ensure": repeating it does no harm. */
import type { IssueRef, Reason, Tier } from './model.ts';
import type { IntakeRecord } from './intake/parse.ts';
import type { ClockState } from './outage/clocks.ts';
import type { Notice } from './chat/notice.ts';
import type { GateAction } from './gate/actions.ts';
import type { ToolDecisionRecord } from './workflows/tooling.ts';
import type { CommandName } from './workflows/commands.ts';
import type { ThreatDecision } from './workflows/threat-log.ts';
import type { BodySection } from './workflows/sections.ts';

export interface EnsureLabels {
  type: 'ensureLabels';
  target: IssueRef;
  add: string[];
  remove: string[];
}

export interface EnsureComment {
  type: 'ensureComment';
  target: IssueRef;
  /** Hidden marker that finds the sticky comment again. */
  marker: string;
  body: string;
}

export interface SaveIntake {
  type: 'saveIntake';
  target: IssueRef;
  /** The intake record this is (issue or change request key: on GitLab issue #N and merge request !N are two items). */
  key: string;
  record: IntakeRecord;
}

export interface RecordDecision {
  type: 'recordDecision';
  target: IssueRef;
  /** The decision history this belongs to (issue or change request key). */
  key: string;
  tier: Tier | null;
  routes: string[];
  reasons: Reason[];
}

export interface NotifyChat {
  type: 'notifyChat';
  /**
   * Idempotency key: one chat message per key. A later notice with the same key (and different
   * content) updates that message rather than posting another.
   */
  key: string;
  channel: string;
  /** Plain-text fallback (notifications, screen readers); the message itself renders `notice`. */
  text: string;
  notice: Notice;
}

/** An intake's issue was closed: it leaves the open queue (a reopen saves it again). */
export interface CloseIntake {
  type: 'closeIntake';
  target: IssueRef;
}

export interface RequestReview {
  type: 'requestReview';
  target: IssueRef;
  /** Logins / usernames; GitHub team slugs as `org/team`. */
  reviewers: string[];
}

export interface SaveClocks {
  type: 'saveClocks';
  target: IssueRef;
  clocks: ClockState[];
}

/** A tool missed a target: kept to tell when one tool keeps missing. */
export interface RecordMiss {
  type: 'recordMiss';
  target: IssueRef;
  tool: string;
  kind: 'slo' | 'rto';
  at: Date;
}

/**
 * Gatehouse blocks in the issue description (checklists people tick): written, replaced, or left
 * alone, all in one edit (one read, at most one write; none when every block is as it should be).
 */
export interface EnsureBodySection {
  type: 'ensureBodySection';
  target: IssueRef;
  /** The blocks, each `<!-- gatehouse:<name>:start -->` … `:end -->`, in the order they are appended when absent. */
  sections: BodySection[];
}

/** A material change: the issue's security planning checklist has its last stage un-ticked (read, then rewritten). */
export interface ReopenPlanning {
  type: 'reopenPlanning';
  target: IssueRef;
}

/** A tooling intake decision: kept, and overlaid on the policy's inventory from then on. */
export interface RecordToolDecision {
  type: 'recordToolDecision';
  target: IssueRef;
  decision: ToolDecisionRecord;
}

/** A state-changing command that was refused (not named by the global policy, malformed): nothing changes, the refusal is audited. */
export interface RefuseCommand {
  type: 'refuseCommand';
  target: IssueRef;
  command: CommandName;
  /** The comment's author as the platform reported it. */
  actor: string;
  commentId: string;
  reason: string;
}

/** A threat-model decision: added to the issue's stored log (once per command comment). */
export interface RecordThreatDecision {
  type: 'recordThreatDecision';
  target: IssueRef;
  decision: ThreatDecision;
}

export type Action =
  | EnsureLabels
  | EnsureComment
  | SaveIntake
  | RecordDecision
  | NotifyChat
  | RequestReview
  | SaveClocks
  | RecordMiss
  | CloseIntake
  | EnsureBodySection
  | ReopenPlanning
  | RecordToolDecision
  | RefuseCommand
  | RecordThreatDecision
  | GateAction;
