/**
 * GitLab security reports and SARIF → findings, on samples written to GitLab's security report
 * schemas (v15) and SARIF 2.1.0 (test/fixtures/security/).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { gitlabSeverity, parseSecurityReport } from '../../src/adapters/gitlab/security-report.ts';
import { levelSeverity, parseSarif, scoreSeverity } from '../../src/adapters/sarif.ts';

const sample = (name: string): unknown => JSON.parse(readFileSync(new URL(`../fixtures/security/${name}`, import.meta.url), 'utf8'));
const JOB = 'https://gitlab.example.com/acme/payments/-/jobs/501';

describe('GitLab security reports', () => {
  it('reads a SAST report: rule from the primary identifier, severity, path; a malformed entry is reported and the others kept', async () => {
    const out = await parseSecurityReport(sample('gl-sast-report.json'), { reportType: 'sast', fallbackCategory: 'sast', url: JOB });
    expect(out.findings).toEqual([
      {
        id: 'gitlab:sast:6d2b4f0c1a7e2b9f5d3c8e1a4b6f9d2c7e0a3b5d8f1c4e7a9b2d5f8c1e4a7b0d',
        ruleId: 'python.lang.security.audit.formatted-sql-query',
        category: 'sast',
        severity: 'high',
        title: "Improper neutralization of special elements used in an SQL Command ('SQL Injection')",
        location: 'app/payments/ledger.py',
        tool: 'Semgrep',
        url: JOB,
      },
      expect.objectContaining({
        severity: 'critical',
        location: 'app/auth/passwords.py',
        ruleId: 'python.lang.security.insecure-hash-algorithms.insecure-hash-algorithm-md5',
      }),
    ]);
    expect(out.problems).toEqual([expect.stringMatching(/^vulnerabilities\[2\]: identifiers: /)]);
  });

  it('takes the category from the report itself (secret detection → secrets), whatever the job', async () => {
    const out = await parseSecurityReport(sample('gl-secret-detection-report.json'), { fallbackCategory: 'sast', url: null });
    expect(out.problems).toEqual([]);
    expect(out.findings).toEqual([
      {
        id: 'gitlab:secrets:27d0d7c3a4b5e6f7081920a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5',
        ruleId: 'AWS',
        category: 'secrets',
        severity: 'critical',
        title: 'AWS access token',
        location: 'deploy/edge/config.env',
        tool: 'Gitleaks',
        url: null,
      },
    ]);
  });

  it('reads dependency and container reports: the lock file or image as location, the package in the title', async () => {
    const deps = await parseSecurityReport(sample('gl-dependency-scanning-report.json'), {
      reportType: 'dependency_scanning',
      fallbackCategory: 'dependencies',
      url: JOB,
    });
    expect(deps.findings.map((f) => [f.category, f.ruleId, f.severity, f.location, f.title, f.tool])).toEqual([
      ['dependencies', '2a8c1d3e-9b7f-4e6a-8c5d-1f0e2d3c4b5a', 'high', 'package-lock.json', 'Prototype Pollution in lodash', 'Gemnasium'],
      ['dependencies', 'CVE-2022-25883', 'medium', 'package-lock.json', 'Regular expression denial of service in semver', 'Gemnasium'],
    ]);
    const image = await parseSecurityReport(sample('gl-container-scanning-report.json'), {
      reportType: 'container_scanning',
      fallbackCategory: 'container',
      url: JOB,
    });
    expect(image.findings).toEqual([
      expect.objectContaining({
        category: 'container',
        ruleId: 'CVE-2023-38545',
        severity: 'unknown',
        location: 'registry.example.com/acme/payments:aaaaaaa',
        title: 'CVE-2023-38545 in curl',
        tool: 'Trivy',
      }),
    ]);
  });

  it('refuses a document that is neither a security report nor SARIF', async () => {
    await expect(parseSecurityReport({ coverage: 81 }, { fallbackCategory: 'sast', url: null })).rejects.toThrow(/vulnerabilities/);
  });

  it('maps GitLab severities', () => {
    expect(['Critical', 'High', 'Medium', 'Low', 'Info', 'Unknown', 'Undefined', undefined].map(gitlabSeverity)).toEqual([
      'critical',
      'high',
      'medium',
      'low',
      'info',
      'unknown',
      'unknown',
      'unknown',
    ]);
  });
});

describe('SARIF', () => {
  it('reads failing, unsuppressed results with the rule by id or index, security-severity first, else the level', async () => {
    const out = await parseSarif(sample('semgrep.sarif'), { idPrefix: 'gitlab:sast', category: 'sast', url: JOB });
    expect(out.findings).toEqual([
      {
        id: 'gitlab:sast:9c1f0e2d3b4a59687766554433221100ffeeddccbbaa99887766554433221100',
        ruleId: 'javascript.express.security.audit.xss.direct-response-write',
        category: 'sast',
        severity: 'high',
        title: 'User input flows into res.write without escaping.',
        location: 'src/admin/report.js',
        tool: 'Semgrep OSS',
        url: JOB,
      },
      expect.objectContaining({
        id: 'gitlab:sast:generic.secrets.security.detected-private-key:deploy/keys/id_rsa:1',
        ruleId: 'generic.secrets.security.detected-private-key',
        severity: 'critical',
        location: 'deploy/keys/id_rsa',
      }),
      expect.objectContaining({ ruleId: 'javascript.lang.best-practice.leftover-debugging', severity: 'low', location: 'src/index.js' }),
    ]);
    expect(out.problems).toEqual(['runs[0].results[5]: no rule id']);
  });

  it('is recognised inside a job artifact and categorised by the artifact type', async () => {
    const out = await parseSecurityReport(sample('semgrep.sarif'), { reportType: 'secret_detection', fallbackCategory: 'sast', url: null });
    expect(new Set(out.findings.map((f) => f.category))).toEqual(new Set(['secrets']));
    expect(out.findings[0]!.id).toMatch(/^gitlab:secrets:/);
  });

  it('maps scores and levels', () => {
    expect(['9.8', 7, '4.0', '0.1', '0', 'n/a', undefined].map(scoreSeverity)).toEqual([
      'critical',
      'high',
      'medium',
      'low',
      'info',
      null,
      null,
    ]);
    expect(['error', 'warning', 'note', 'none', undefined].map(levelSeverity)).toEqual(['high', 'medium', 'low', 'info', 'unknown']);
  });
});

describe('large reports', () => {
  /** Whether the event loop had a turn (a setImmediate ran) before the read settled. */
  async function loopTurnedDuring(read: () => Promise<unknown>): Promise<boolean> {
    let settled = false;
    let turned = false;
    setImmediate(() => (turned = !settled));
    await read().then(() => (settled = true));
    return turned;
  }
  const sarif = (results: number, rules: number): unknown => ({
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'scanner',
            rules: [
              ...Array.from({ length: rules }, (_, i) => ({ id: `R${i}`, properties: { 'security-severity': '5.0' } })),
              { id: 'R0', properties: { 'security-severity': '9.9' } },
            ],
          },
        },
        results: Array.from({ length: results }, (_, i) => ({
          ruleId: `R${i % rules}`,
          message: { text: `m${i}` },
          locations: [{ physicalLocation: { artifactLocation: { uri: `src/f${i}.ts` } } }],
        })),
      },
    ],
  });

  it('a SARIF report of 20,000 results is read in slices: the event loop turns meanwhile, and a repeated rule id keeps its first definition', async () => {
    const doc = sarif(20_000, 5_000);
    expect(await loopTurnedDuring(() => parseSarif(doc, { idPrefix: 'gitlab:sast', category: 'sast', url: null }))).toBe(true);
    const out = await parseSarif(doc, { idPrefix: 'gitlab:sast', category: 'sast', url: null });
    expect(out.findings).toHaveLength(20_000);
    expect(out.findings[0]).toMatchObject({ ruleId: 'R0', severity: 'medium' });
    expect(out.findings[4_999]).toMatchObject({ ruleId: 'R4999', severity: 'medium' });
  });

  it('a GitLab report of 20,000 vulnerabilities is read in slices', async () => {
    const doc = {
      version: '15.0.0',
      scan: { type: 'dependency_scanning', scanner: { id: 'gemnasium', name: 'Gemnasium' } },
      vulnerabilities: Array.from({ length: 20_000 }, (_, i) => ({
        id: `v${i}`,
        name: `CVE-${i}`,
        severity: 'High',
        identifiers: [{ type: 'cve', name: `CVE-${i}`, value: `CVE-${i}` }],
        location: { file: 'package-lock.json', dependency: { package: { name: 'p' }, version: '1' } },
      })),
    };
    expect(await loopTurnedDuring(() => parseSecurityReport(doc, { fallbackCategory: 'dependencies', url: null }))).toBe(true);
    expect((await parseSecurityReport(doc, { fallbackCategory: 'dependencies', url: null })).findings).toHaveLength(20_000);
  });

  it('a small report is read within one turn', async () => {
    expect(
      await loopTurnedDuring(() => parseSarif(sample('semgrep.sarif'), { idPrefix: 'gitlab:sast', category: 'sast', url: null })),
    ).toBe(false);
  });
});
