/** The global policy: the file named by GATEHOUSE_POLICY, or the built-in default. */
import { readFile } from 'node:fs/promises';
import { defaultPolicy, parsePolicy, type PolicyError } from '../core/policy/load.ts';
import type { Policy } from '../core/policy/schema.ts';

export class PolicyFileError extends Error {
  constructor(
    readonly file: string,
    readonly errors: PolicyError[],
  ) {
    super(`policy ${file} is invalid:\n${errors.map((e) => `  - ${formatPolicyError(e)}`).join('\n')}`);
  }
}

export function formatPolicyError(e: PolicyError): string {
  const line = e.line ? ` (line ${e.line})` : '';
  if (e.path === '(file)') return e.message;
  if (e.path === '(yaml)') return `not valid YAML${line}: ${e.message}`;
  return `${e.path}${line}: ${e.message}`;
}

export async function loadGlobalPolicy(path: string | undefined): Promise<{ policy: Policy; source: string }> {
  if (!path) return { policy: defaultPolicy, source: 'built-in default' };
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new PolicyFileError(path, [
      { path: '(file)', line: null, message: `cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})` },
    ]);
  }
  const result = parsePolicy(text);
  if (!result.ok) throw new PolicyFileError(path, result.errors);
  return { policy: result.policy, source: path };
}
