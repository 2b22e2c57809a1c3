/**
 * Who may run the commands that change state (`/gatehouse decide`, `/gatehouse threat-decision`):
 * accounts the GLOBAL policy names, matched against the actor the platform reports for the comment.
 * A repository's override never grants this (the shell passes the authority from the global policy).
 * A refusal changes nothing, is audited with its actor, and is said in one sticky comment per issue,
 * edited in place, so refused commands never pile up comments.
 */
import type { Action } from '../actions.ts';
import type { IssueCommentEvent } from '../model.ts';
import type { Policy } from '../policy/schema.ts';
import { neutralizeMentions } from '../text.ts';

export type CommandName = 'decide' | 'threat-decision';

interface PerForge {
  github: readonly string[];
  gitlab: readonly string[];
}

/** The accounts allowed to run each state-changing command, from the global policy. */
export interface CommandAuthority {
  decide: PerForge;
  'threat-decision': PerForge;
}

/** No account may run any command (what the core assumes when the shell passes no authority). */
export const NOBODY: CommandAuthority = { decide: { github: [], gitlab: [] }, 'threat-decision': { github: [], gitlab: [] } };

export function commandAuthority(global: Policy): CommandAuthority {
  return { decide: global.tooling.deciders, 'threat-decision': global.planning.threatDeciders };
}

/** The policy key naming who may run the command on this forge (for refusals). */
export const authorityKey = (command: CommandName, platform: string): string =>
  `${command === 'decide' ? 'tooling.deciders' : 'planning.threatDeciders'}.${platform}`;

/** Whether the comment's actor (as the platform reports it) is named for the command. */
export function mayRun(authority: CommandAuthority, command: CommandName, event: IssueCommentEvent): boolean {
  const platform = event.issue.ref.repo.platform;
  if (platform === 'slack') return false;
  const login = event.actor.login.trim().toLowerCase();
  return login !== '' && authority[command][platform].some((a) => a.trim().toLowerCase() === login);
}

export const COMMAND_REFUSED_MARKER = '<!-- gatehouse:command-refused -->';

/** A refused command: audited with its actor; the issue's one refusal comment says the latest. */
export function refuseCommand(event: IssueCommentEvent, command: CommandName, reason: string, now: Date): Action[] {
  const target = event.issue.ref;
  const who = neutralizeMentions(`@${event.actor.login}`);
  const at = now.toISOString().slice(0, 16).replace('T', ' ');
  return [
    { type: 'refuseCommand', target, command, actor: event.actor.login, commentId: String(event.comment.id), reason },
    {
      type: 'ensureComment',
      target,
      marker: COMMAND_REFUSED_MARKER,
      body: `${COMMAND_REFUSED_MARKER}\n**Command refused.** ${who}'s \`/gatehouse ${command}\` (${at} UTC) was refused: ${reason}. Nothing was changed.\n\n_This comment shows the latest refused command on this issue; each one is in Gatehouse's audit log._`,
    },
  ];
}
