/**
 * Which checks count for a scan kind: the ones the policy's `gate.sources` names for it (an App,
 * a workflow file the change request does not modify (nor the files it runs that the policy names), a status creator, a GitLab job of a pipeline
 * whose configuration the change request does not modify), read from the check's producer as the
 * adapter found it in the platform's API. A kind with no sources for the platform is unpinned: a
 * check counts by its name alone, as before. Pure.
 */
import picomatch from 'picomatch';
import type { Platform } from '../model.ts';
import type { CheckEvidence } from './evidence.ts';
import type { ScanSources } from './policy.ts';

export interface IgnoredCheck {
  check: CheckEvidence;
  /** Why it does not count, e.g. `from workflow .github/workflows/pr.yml, changed by this pull request`. */
  why: string;
}

export interface ScanChecks {
  /** Whether the policy names sources for this kind on this platform. */
  pinned: boolean;
  /** The checks that count (all name matches when unpinned). */
  counted: CheckEvidence[];
  /** Name matches from a producer the policy does not name for the kind (pinned only). */
  ignored: IgnoredCheck[];
}

const lower = (s: string): string => s.trim().toLowerCase();
/** A workflow path as GitHub gives it (`owner/repo/.github/workflows/x.yml@ref` in some answers) or a policy names it. */
const workflowFile = (path: string): string => {
  const bare = path
    .trim()
    .replace(/\.(ya?ml)@.*$/i, '.$1')
    .replace(/^\.\//, '');
  const at = bare.indexOf('.github/workflows/');
  return at > 0 ? bare.slice(at) : bare;
};

export function isPinned(sources: ScanSources | undefined, platform: Platform): boolean {
  if (!sources) return false;
  if (platform === 'github') return sources.github.apps.length + sources.github.workflows.length + sources.github.statusCreators.length > 0;
  if (platform === 'gitlab') return sources.gitlab.jobs.length + sources.gitlab.statusCreators.length > 0;
  return false;
}

/** Whether the change request touches any of these files (exact paths) or globs. */
function touches(changedPaths: readonly string[], files: readonly string[], globs: readonly string[]): string | null {
  const exact = new Set(files.map(lower));
  const match = globs.length > 0 ? picomatch(globs as string[], { dot: true }) : null;
  return changedPaths.find((p) => exact.has(lower(p)) || (match !== null && match(p))) ?? null;
}

function githubVerdict(c: CheckEvidence, s: ScanSources['github'], changedPaths: readonly string[], noun: string): string | null {
  const p = c.producer;
  if (c.source === 'status') {
    const creator = p?.statusCreator ?? null;
    if (creator && s.statusCreators.some((x) => lower(x) === lower(creator))) return null;
    return `commit status posted by ${creator ?? 'an unknown account'}, not a status creator named for it`;
  }
  const app = p?.app;
  if (!app) return 'check run of an unknown App';
  const isActions = app.id === 15368 || lower(app.slug ?? '') === 'github-actions';
  if (!isActions) {
    if (s.apps.some((a) => (typeof a === 'number' ? a === app.id : lower(a) === lower(app.slug ?? '') || a === String(app.id))))
      return null;
    return `check run of App ${app.slug ?? app.id}, not an App named for it`;
  }
  const path = p?.workflowPath ? workflowFile(p.workflowPath) : null;
  if (!path) return 'GitHub Actions check run whose workflow run was not found';
  if (!s.workflows.some((w) => lower(workflowFile(w)) === lower(path))) return `from workflow ${path}, not a workflow named for it`;
  if (touches(changedPaths, [path], [])) return `from workflow ${path}, changed by this ${noun}`;
  const dependency = touches(changedPaths, [], s.configPaths);
  if (dependency) return `from workflow ${path}, which runs ${dependency}, changed by this ${noun}`;
  return null;
}

function gitlabVerdict(c: CheckEvidence, s: ScanSources['gitlab'], changedPaths: readonly string[], noun: string): string | null {
  const p = c.producer;
  if (c.source === 'status') {
    const creator = p?.statusCreator ?? null;
    if (creator && s.statusCreators.some((x) => lower(x) === lower(creator))) return null;
    return `commit status posted by ${creator ?? 'an unknown account'}, not a status creator named for it`;
  }
  const job = p?.jobName ?? c.name;
  if (!s.jobs.some((j) => j === job)) return `job ${job}, not a job named for it`;
  if (p?.pipelineConfigPath === undefined) return `job ${job}: the pipeline configuration could not be read`;
  const changed = touches(changedPaths, p.pipelineConfigPath ? [p.pipelineConfigPath] : [], s.configPaths);
  if (changed) return `job ${job}: the pipeline configuration (${changed}) is changed by this ${noun}`;
  return null;
}

/**
 * The checks of `kind`: name matches of `pattern` (the gate's own check left out), plus, on GitLab,
 * jobs named in the kind's sources; when pinned, split into counted and ignored.
 */
export function scanChecks(input: {
  pattern: string;
  checks: readonly CheckEvidence[];
  ownCheck: string;
  sources: ScanSources | undefined;
  platform: Platform;
  changedPaths: readonly string[];
}): ScanChecks {
  const { sources, platform, changedPaths } = input;
  const re = new RegExp(input.pattern, 'i');
  const pinned = isPinned(sources, platform);
  const namedJobs = new Set(pinned && platform === 'gitlab' ? sources!.gitlab.jobs : []);
  const candidates = input.checks.filter(
    (c) =>
      lower(c.name) !== lower(input.ownCheck) && (re.test(c.name) || (c.source === 'job' && namedJobs.has(c.producer?.jobName ?? c.name))),
  );
  if (!pinned || !sources) return { pinned: false, counted: candidates, ignored: [] };
  const noun = platform === 'gitlab' ? 'merge request' : 'pull request';
  const counted: CheckEvidence[] = [];
  const ignored: IgnoredCheck[] = [];
  for (const c of candidates) {
    const why =
      platform === 'github' ? githubVerdict(c, sources.github, changedPaths, noun) : gitlabVerdict(c, sources.gitlab, changedPaths, noun);
    if (why === null) counted.push(c);
    else ignored.push({ check: c, why });
  }
  return { pinned: true, counted, ignored };
}

export const describeIgnored = (i: IgnoredCheck): string => `${i.check.name} (${i.check.source}, ${i.check.state}) ignored: ${i.why}`;
