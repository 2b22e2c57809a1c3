import { describe, expect, it } from 'vitest';
import type { IssueCommentEvent } from '../../../src/core/model.ts';
import { parseThreatDecision, planThreatDecision, threatLogEntries, THREAT_LOG_SECTION } from '../../../src/core/workflows/threat-log.ts';
import { withSection } from '../../../src/core/workflows/sections.ts';

const NOW = new Date('2026-12-02T12:34:00Z');
const deepReview = withSection('### Service or system name\n\npayments-api', 'planning', '- [ ] 1. Context');
const comment = (body: string, issueBody = deepReview): IssueCommentEvent => ({
  kind: 'comment',
  action: 'created',
  deliveryId: 'd',
  actor: { login: 'alice', isBot: false },
  issue: { ref: { repo: { platform: 'github', fullName: 'acme/app', id: 1, defaultBranch: 'main' }, number: 7 }, title: 'Review', body: issueBody, labels: [], state: 'open', author: { login: 'dev', isBot: false }, assignees: [], url: 'https://github.com/acme/app/issues/7', createdAt: NOW.toISOString() },
  comment: { id: 1, body },
});

describe('parseThreatDecision', () => {
  it.each([
    ['/gatehouse threat-decision Accept SSRF risk on the webhook fetcher: egress proxy', 'Accept SSRF risk on the webhook fetcher: egress proxy'],
    ['/gatehouse threat-decision Keep mTLS\nbecause the mesh\nenforces it', 'Keep mTLS because the mesh enforces it'],
    ['/GATEHOUSE THREAT-DECISION x', 'x'],
    ['/gatehouse threat-decision', ''],
    ['/gatehouse decide build-internal', null],
    ['Looks good to me', null],
  ])('%j → %j', (body, expected) => {
    expect(parseThreatDecision(body)).toBe(expected);
  });
});

describe('planThreatDecision', () => {
  it('appends a dated, attributed entry to the log in the description, after the earlier ones', () => {
    const first = planThreatDecision(comment('/gatehouse threat-decision Tokens stay in the vault @secops'), NOW);
    const section = first.find((a) => a.type === 'ensureBodySection');
    expect(section).toMatchObject({ type: 'ensureBodySection', section: THREAT_LOG_SECTION });
    const text = section && section.type === 'ensureBodySection' ? section.text : '';
    expect(text).toContain('- 2026-12-02 12:34 UTC · alice: Tokens stay in the vault @\u200bsecops');
    const after = withSection(deepReview, THREAT_LOG_SECTION, text);
    const second = planThreatDecision(comment('/gatehouse threat-decision <b>No</b> public S3', after), new Date('2026-12-03T08:00:00Z'));
    const text2 = second.find((a) => a.type === 'ensureBodySection');
    const body2 = withSection(after, THREAT_LOG_SECTION, text2 && text2.type === 'ensureBodySection' ? text2.text : '');
    expect(threatLogEntries(body2)).toEqual(['2026-12-02 12:34 UTC · alice: Tokens stay in the vault @\u200bsecops', '2026-12-03 08:00 UTC · alice: <b>No</b> public S3']);
    expect(body2).toContain('&lt;b&gt;No&lt;/b&gt;');
  });

  it('logs nothing, and says why, on an issue that is no deep review or without a decision', () => {
    const notDeep = planThreatDecision(comment('/gatehouse threat-decision x', '### Service or system name\n\nx'), NOW);
    expect(notDeep.map((a) => a.type)).toEqual(['ensureComment']);
    const empty = planThreatDecision(comment('/gatehouse threat-decision'), NOW);
    expect(empty.map((a) => a.type)).toEqual(['ensureComment']);
    expect(planThreatDecision(comment('thanks!'), NOW)).toEqual([]);
  });
});
