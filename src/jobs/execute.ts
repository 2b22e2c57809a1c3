/** Carries out planned actions through the ports, auditing each one. */
import type { Action } from '../core/actions.ts';
import { issueKey } from '../core/model.ts';
import { nextFireAt } from '../core/outage/clocks.ts';
import { PLANNING_SECTION, reopenedSection } from '../core/workflows/planning.ts';
import { readSection } from '../core/workflows/sections.ts';
import type { Forge } from '../ports/forge.ts';
import type { GateStore } from '../ports/gate-store.ts';
import type { ReleaseForge } from '../ports/release.ts';
import type { AuditEntry, AuditLog } from '../ports/audit-log.ts';
import type { ClockStore } from '../ports/clock-store.ts';
import type { IntakeStore } from '../ports/intake-store.ts';
import type { Notifications } from '../ports/notifications.ts';
import type { TierDecisions } from '../ports/tier-decisions.ts';
import type { Metrics } from '../ports/metrics.ts';
import type { ToolDecisionStore } from '../ports/tool-decisions.ts';
import type { ThreatLogStore } from '../ports/threat-log.ts';

/** What a plan's actions write: intake records, tier decisions, clocks, notifications, and the audit of each. */
export type PlanStore = IntakeStore & TierDecisions & ClockStore & Notifications & AuditLog;

export interface ExecuteDeps {
  /** The forge acting on the targets; absent for runs whose actions never touch one (reminders). */
  forge?: Forge;
  store: PlanStore;
  metrics: Metrics;
  now: () => Date;
  deliveryId: string | null;
  /** GitHub installation acting on the target (kept with clocks for the scheduler). */
  installationId: number | null;
  /** The release gate's ports (needed by its actions only). */
  release?: ReleaseForge;
  gateStore?: GateStore;
  /** Tooling intake decisions (needed by recordToolDecision only). */
  toolDecisions?: ToolDecisionStore;
  /** The threat-model decision log (needed by recordThreatDecision only). */
  threatLog?: ThreatLogStore;
}

function gatePorts(deps: ExecuteDeps): { release: ReleaseForge; gateStore: GateStore } {
  if (!deps.release || !deps.gateStore) throw new Error('release gate action without the release forge and gate store');
  return { release: deps.release, gateStore: deps.gateStore };
}

function gateStoreOf(deps: ExecuteDeps): GateStore {
  if (!deps.gateStore) throw new Error('exception register action without the gate store');
  return deps.gateStore;
}

/** What the audit log keeps of an action: no comment bodies, no intake text. */
function summary(action: Action): unknown {
  switch (action.type) {
    case 'ensureLabels':
      return { add: action.add, remove: action.remove };
    case 'ensureComment':
      return { marker: action.marker, length: action.body.length };
    case 'saveIntake':
      return { complete: action.record.complete, problems: action.record.problems.map((p) => p.fieldId) };
    case 'recordDecision':
      return { tier: action.tier, routes: action.routes, rules: action.reasons.map((r) => r.rule) };
    case 'notifyChat':
      return { key: action.key, channel: action.channel, kind: action.notice.kind };
    case 'requestReview':
      return { reviewers: action.reviewers };
    case 'recordMiss':
      return { tool: action.tool, kind: action.kind };
    case 'closeIntake':
      return {};
    case 'saveClocks':
      return {
        clocks: action.clocks.map((c) => ({
          kind: c.kind,
          criticality: c.criticality,
          dueAt: c.dueAt,
          warnedAt: c.warnedAt,
          breachedAt: c.breachedAt,
        })),
      };
    case 'setGateCheck':
      return { sha: action.headSha, conclusion: action.check.conclusion, title: action.check.title };
    case 'recordGateDecision':
      return { sha: action.headSha, verdict: action.verdict, releaseClass: action.releaseClass, rules: action.reasons.map((r) => r.rule) };
    case 'recordEmergency':
      return {
        sha: action.record.headSha,
        approver: action.record.approver,
        bypassed: action.record.controlsBypassed.map((r) => r.rule),
        due: action.retrospective.dueDate,
      };
    case 'addReleaseNote':
      return { repo: action.repo.fullName, tag: action.tag };
    case 'saveException':
      return {
        id: action.exception.id,
        status: action.exception.status,
        findingRef: action.exception.findingRef,
        expiresAt: action.exception.expiresAt,
      };
    case 'markExceptionReminded':
      return { id: action.id };
    case 'refuseExceptionApproval':
      return { actor: action.actor, reason: action.reason, digest: action.digest };
    case 'ensureBodySection':
      return { sections: action.sections.map((s) => s.name), length: action.sections.reduce((n, s) => n + s.text.length, 0) };
    case 'reopenPlanning':
      return {};
    case 'recordToolDecision':
      return {
        tool: action.decision.tool,
        decision: action.decision.decision,
        pathForward: action.decision.pathForward,
        criticality: action.decision.criticality,
        by: action.decision.decidedBy,
      };
    case 'refuseClassLabel':
      return { actor: action.actor, sender: action.sender, label: action.label, reason: action.reason };
    case 'refuseCommand':
      return { command: action.command, actor: action.actor, commentId: action.commentId, reason: action.reason };
    case 'recordThreatDecision':
      return { by: action.decision.decidedBy, commentId: action.decision.commentId, length: action.decision.text.length };
  }
}

async function perform(action: Action, deps: ExecuteDeps): Promise<unknown> {
  const { store } = deps;
  const forge = (): Forge => {
    if (!deps.forge) throw new Error(`${action.type} acts on a forge, and this run has none`);
    return deps.forge;
  };
  switch (action.type) {
    case 'ensureLabels':
      return forge().ensureLabels(action.target, action.add, action.remove);
    case 'ensureComment':
      return forge().ensureComment(action.target, action.marker, action.body);
    case 'saveIntake': {
      const { repo, number } = action.target;
      return store.saveIntake({
        issueKey: action.key,
        platform: repo.platform,
        repo: repo.fullName,
        number,
        answers: action.record.answers,
        problems: action.record.problems.map((p) => ({ field: p.label, message: p.message })),
        complete: action.record.complete,
        updatedAt: deps.now(),
      });
    }
    case 'recordDecision':
      return store.recordDecision({
        issueKey: action.key,
        tier: action.tier,
        routes: action.routes,
        reasons: action.reasons,
        decidedAt: deps.now(),
        deliveryId: deps.deliveryId,
      });
    case 'requestReview':
      return forge().requestReview(action.target, action.reviewers);
    case 'closeIntake':
      return store.closeIntake(issueKey(action.target), deps.now());
    case 'recordMiss':
      return store.recordMiss({ issueKey: issueKey(action.target), tool: action.tool, kind: action.kind, at: action.at });
    case 'saveClocks': {
      const moments = action.clocks.map(nextFireAt).filter((d): d is Date => d !== null);
      return store.saveClocks({
        issueKey: issueKey(action.target),
        target: action.target,
        installationId: deps.installationId,
        clocks: action.clocks,
        nextFireAt: moments.length > 0 ? new Date(Math.min(...moments.map((d) => d.getTime()))) : null,
      });
    }
    case 'setGateCheck':
      return gatePorts(deps).release.setGateCheck(action.target, action.headSha, action.check);
    case 'recordGateDecision': {
      const r = await gatePorts(deps).gateStore.recordGateDecision({
        key: action.key,
        headSha: action.headSha,
        releaseClass: action.releaseClass,
        verdict: action.verdict,
        reasons: action.reasons,
        inputs: action.inputs,
        policyHash: action.policyHash,
        decidedAt: deps.now(),
        deliveryId: deps.deliveryId,
      });
      return { seq: r.seq, hash: r.hash };
    }
    case 'recordEmergency': {
      const { release, gateStore } = gatePorts(deps);
      const { record, retrospective } = action;
      // The follow-up first, so that the stored record links it. A retrospective already opened for
      // this head (even one closed since) is not opened again on a later evaluation.
      const earlier = (await gateStore.emergencyRecordsFor(action.key)).find((r) => r.headSha === record.headSha && r.followUp.issueUrl);
      const issue = earlier?.followUp.issueUrl
        ? { url: earlier.followUp.issueUrl }
        : await release.openIssue(action.target.repo, retrospective.key, {
            title: retrospective.title,
            body: retrospective.body,
            labels: retrospective.labels,
            dueDate: retrospective.dueDate,
          });
      const saved = await gateStore.saveEmergencyRecord({
        key: action.key,
        headSha: record.headSha,
        reason: record.reason,
        evidence: record.evidence,
        approver: record.approver,
        controlsBypassed: record.controlsBypassed.map((r) => `${r.rule}: ${r.summary}`),
        followUp: { issueUrl: issue.url, dueAt: new Date(`${retrospective.dueDate}T00:00:00.000Z`) },
        decidedAt: new Date(record.decidedAt),
      });
      return { id: saved.id, retrospective: issue.url };
    }
    case 'addReleaseNote':
      return gatePorts(deps).release.addReleaseNote(action.repo, action.tag, action.marker, action.text);
    case 'saveException':
      return gateStoreOf(deps).saveException(action.exception);
    case 'markExceptionReminded':
      return gateStoreOf(deps).markExceptionReminded(action.id, action.at);
    case 'refuseExceptionApproval':
      return { refused: true };
    case 'ensureBodySection': {
      const f = forge();
      if (!f.ensureBodySection) throw new Error(`the ${f.platform} forge cannot edit an issue description`);
      return f.ensureBodySection(action.target, action.sections);
    }
    case 'recordToolDecision':
      if (!deps.toolDecisions) throw new Error('tooling decision without the decision store');
      return deps.toolDecisions.record(action.decision, deps.deliveryId);
    case 'refuseClassLabel':
    case 'refuseCommand':
      return { refused: true };
    case 'recordThreatDecision':
      if (!deps.threatLog) throw new Error('threat-model decision without the decision log store');
      return deps.threatLog.recordThreatDecision(action.decision, deps.deliveryId);
    case 'reopenPlanning': {
      const f = forge();
      if (!f.readBody || !f.ensureBodySection) throw new Error(`the ${f.platform} forge cannot edit an issue description`);
      const section = readSection(await f.readBody(action.target), PLANNING_SECTION);
      if (section === null) return 'no planning checklist';
      return f.ensureBodySection(action.target, [{ name: PLANNING_SECTION, text: reopenedSection(section).trim() }]);
    }
    case 'notifyChat':
      // Delivered by the chat worker; the key makes a repeat a no-op.
      return store.enqueueNotification({
        key: action.key,
        channel: action.channel,
        text: action.text,
        notice: action.notice,
        createdAt: deps.now(),
      });
  }
}

/**
 * Runs the actions in order; the first failure stops the run (the job is retried as a whole).
 * The audit entries of a run are written together at its end, the failed one included.
 */
export async function execute(actions: readonly Action[], deps: ExecuteDeps): Promise<void> {
  const audit: AuditEntry[] = [];
  try {
    for (const action of actions) {
      const started = process.hrtime.bigint();
      const key =
        action.type === 'recordDecision' || action.type === 'saveIntake' ? action.key : 'target' in action ? issueKey(action.target) : null;
      const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
      try {
        const result = await perform(action, deps);
        deps.metrics.actionDuration.observe({ action: action.type, outcome: 'ok' }, seconds());
        const detail = summary(action);
        audit.push({
          at: deps.now(),
          deliveryId: deps.deliveryId,
          issueKey: key,
          action: action.type,
          detail:
            typeof result === 'string' || (typeof result === 'object' && result !== null) ? { ...(detail as object), result } : detail,
          outcome: 'ok',
        });
      } catch (err) {
        deps.metrics.actionDuration.observe({ action: action.type, outcome: 'error' }, seconds());
        audit.push({
          at: deps.now(),
          deliveryId: deps.deliveryId,
          issueKey: key,
          action: action.type,
          detail: summary(action),
          outcome: 'error',
          error: err instanceof Error ? err.message : String(err),
        });
        throw err;
      }
    }
  } finally {
    await deps.store.appendAudit(audit);
  }
}
