/**
 * The `/gatehouse` slash command: text → what was asked, or a helpful answer to a typo. Pure.
 */
import { trimTrailing } from '../line-scan.ts';

export interface ItemRef {
  platform: 'github' | 'gitlab';
  /** `owner/repo` (GitHub) or the project path (GitLab). */
  fullName: string;
  number: number;
  /** GitLab numbers issues and merge requests apart; a GitHub pull request is a change too. */
  kind: 'issue' | 'change';
  url: string;
}

export type ChatCommand =
  | { kind: 'help' }
  | { kind: 'status'; item: ItemRef }
  | { kind: 'queue' }
  | { kind: 'escalate'; item: ItemRef; reason: string }
  | { kind: 'invalid'; message: string };

export const SUBCOMMANDS = ['help', 'status', 'queue', 'escalate'] as const;

export function helpText(command: string): string {
  return [
    `Gatehouse answers these:`,
    `• ${command} help — this list`,
    `• ${command} status <issue or MR URL> — tier, route, SLO/RTO clocks with due times and state, last release-gate verdict`,
    `• ${command} queue — open intake by tier and age, clocks at risk or breached, open escalations (oldest first)`,
    `• ${command} escalate <issue or MR URL> <reason> — labels and comments on the item and posts an escalation notice`,
  ].join('\n');
}

export interface Hosts {
  /** Web hosts of GitHub (github.com, or the Enterprise host). */
  github: readonly string[];
  /** Web hosts of GitLab (from GITLAB_URL). */
  gitlab: readonly string[];
}

/** Slack may send a link as `<https://x|label>` or `<https://x>`; people paste it bare. */
const unwrap = (token: string): string => token.replace(/^<([^|>]+)(?:\|[^>]*)?>$/, '$1');

/** An issue, pull request or merge request URL → what it points at; null when it is none. */
export function parseItemUrl(raw: string, hosts: Hosts): ItemRef | null {
  let url: URL;
  try {
    url = new URL(unwrap(raw.trim()));
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  const host = url.host.toLowerCase();
  const path = trimTrailing(url.pathname, '/');
  const clean = `${url.protocol}//${url.host}${path}`;
  if (hosts.gitlab.some((h) => h.toLowerCase() === host)) {
    const m = /^\/(.+?)\/-\/(issues|merge_requests)\/(\d+)$/.exec(path);
    if (!m) return null;
    return {
      platform: 'gitlab',
      fullName: decodeURIComponent(m[1]!),
      number: Number(m[3]),
      kind: m[2] === 'issues' ? 'issue' : 'change',
      url: clean,
    };
  }
  if (hosts.github.some((h) => h.toLowerCase() === host)) {
    const m = /^\/([^/]+)\/([^/]+)\/(issues|pull)\/(\d+)$/.exec(path);
    if (!m) return null;
    return {
      platform: 'github',
      fullName: `${m[1]}/${m[2]}`,
      number: Number(m[4]),
      kind: m[3] === 'issues' ? 'issue' : 'change',
      url: clean,
    };
  }
  return null;
}

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

function suggest(word: string): string | null {
  // A word more than two letters longer than every subcommand is within distance 2 of none and the
  // start of none: no edit distance (quadratic) is worked out for it.
  if (word.length > Math.max(...SUBCOMMANDS.map((s) => s.length)) + 2) return null;
  const best = SUBCOMMANDS.map((s) => ({ s, d: distance(word, s) })).sort((x, y) => x.d - y.d)[0]!;
  return best.d <= 2 || (word.length >= 3 && best.s.startsWith(word)) ? best.s : null;
}

function badUrl(given: string | undefined, command: string, sub: string, hosts: Hosts): string {
  const where = [...hosts.github, ...hosts.gitlab].join(', ') || 'no forge configured';
  if (!given)
    return `\`${sub}\` needs the URL of an issue, pull request or merge request, e.g. \`${command} ${sub} https://${hosts.github[0] ?? hosts.gitlab[0] ?? 'github.com'}/org/repo/issues/42${sub === 'escalate' ? ' customer data exposed' : ''}\`.`;
  return `That is not an issue, pull request or merge request URL Gatehouse knows (${where}): ${given}`;
}

export function parseCommand(text: string, command: string, hosts: Hosts): ChatCommand {
  const words = text
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
  const sub = (words[0] ?? 'help').toLowerCase();
  switch (sub) {
    case 'help':
    case '?':
      return { kind: 'help' };
    case 'queue':
      return { kind: 'queue' };
    case 'status': {
      const item = words[1] ? parseItemUrl(words[1], hosts) : null;
      return item ? { kind: 'status', item } : { kind: 'invalid', message: badUrl(words[1], command, 'status', hosts) };
    }
    case 'escalate': {
      const item = words[1] ? parseItemUrl(words[1], hosts) : null;
      if (!item) return { kind: 'invalid', message: badUrl(words[1], command, 'escalate', hosts) };
      const reason = words.slice(2).join(' ').trim();
      if (reason === '')
        return {
          kind: 'invalid',
          message: `Say why: \`${command} escalate ${item.url} <reason>\`. The reason goes on the item and in the notice.`,
        };
      return { kind: 'escalate', item, reason: reason.slice(0, 2000) };
    }
    default: {
      const guess = suggest(sub);
      return {
        kind: 'invalid',
        message: `Gatehouse does not know \`${sub.slice(0, 40)}\`.${guess ? ` Did you mean \`${command} ${guess}\`?` : ''} Try \`${command} help\`.`,
      };
    }
  }
}
