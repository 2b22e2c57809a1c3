/** The release gate's actions (members of the core's `Action` union). Each is an "ensure". */
import type { IssueRef, RepoRef } from '../model.ts';
import type { EmergencyRecord, GateReason, Verdict } from './evaluate.ts';
import type { GateException } from './exceptions.ts';

/** The name of our check run (GitHub) and commit status (GitLab); a branch rule can require it. */
export const GATE_CHECK_NAME = 'gatehouse/release-gate';

/** Our `gatehouse/release-gate` check run (GitHub) / commit status (GitLab) on the head commit. */
export interface SetGateCheck {
  type: 'setGateCheck';
  target: IssueRef;
  headSha: string;
  check: { conclusion: 'success' | 'failure' | 'neutral' | 'pending'; title: string; summary: string };
}

/** A release decision record on the hash chain. */
export interface RecordGateDecision {
  type: 'recordGateDecision';
  target: IssueRef;
  /** The change request's key (`github:o/r!12`). */
  key: string;
  headSha: string;
  releaseClass: string;
  verdict: Verdict;
  reasons: GateReason[];
  /** What it was decided on: evidence, exceptions used, class decision, mode (plain data). */
  inputs: unknown;
  policyHash: string;
}

/**
 * The emergency lane's record and its mandatory follow-up: the retrospective issue is opened (once
 * per key) and linked in the stored record.
 */
export interface RecordEmergency {
  type: 'recordEmergency';
  target: IssueRef;
  key: string;
  record: EmergencyRecord;
  retrospective: { key: string; title: string; body: string; labels: string[]; dueDate: string };
}

/** Our section of a release's notes: the verdict of the tagged commit. */
export interface AddReleaseNote {
  type: 'addReleaseNote';
  repo: RepoRef;
  tag: string;
  marker: string;
  text: string;
}

/** Creates or replaces an entry of the exception register. */
export interface SaveException {
  type: 'saveException';
  target: IssueRef;
  exception: GateException;
}

/** The expiry reminder of an exception was sent. */
export interface MarkExceptionReminded {
  type: 'markExceptionReminded';
  id: string;
  at: Date;
}

/**
 * A `release-class::*` label that would have lowered the class was refused (its adder, read from
 * the platform's label events, is not a class setter of the global policy, or none could be
 * read): the label is removed by the plan's `ensureLabels`; this audits the refusal with its actor.
 */
export interface RefuseClassLabel {
  type: 'refuseClassLabel';
  target: IssueRef;
  label: string;
  /** The account the platform says added it; null when none could be read. */
  actor: string | null;
  /** Who caused the evaluation, as the webhook said (context only: never authority). */
  sender: string | null;
  reason: string;
}

/**
 * An exception approval was refused or withdrawn: nothing changes by this action, but it puts the
 * refusal in the audit log with its actor (who added the label, clicked, or edited the terms).
 */
export interface RefuseExceptionApproval {
  type: 'refuseExceptionApproval';
  target: IssueRef;
  /** The account the refusal is about; null when the platform did not say who (unattributable). */
  actor: string | null;
  reason: string;
  /** The digest of the terms at the time (null when the request is incomplete). */
  digest: string | null;
}

export type GateAction =
  | SetGateCheck
  | RecordGateDecision
  | RecordEmergency
  | AddReleaseNote
  | SaveException
  | MarkExceptionReminded
  | RefuseClassLabel
  | RefuseExceptionApproval;
