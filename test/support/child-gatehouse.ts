/**
 * Starts test/support/gatehouse-child.ts in a child process (Node with tsx), collects its log
 * lines and resolves once it listens. Kill it with `kill()` (SIGKILL) or `stop()` (SIGTERM).
 * `startChild` does the same for any Node script that prints `READY <url> <pid>` (the benches').
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./gatehouse-child.ts', import.meta.url));

/** `npm start`'s command (package.json), the environment it sets and the Node options it gives. */
export const START_SCRIPT = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } }
).scripts.start;
export const START_SHAPE = /^((?:[A-Z_]+=\S+ )*)node((?: --[\w-]+(?:=\S+)?)*) bin\/gatehouse\.js start$/;
export const START_FLAGS: readonly string[] = START_SHAPE.exec(START_SCRIPT)?.[2]?.trim().split(' ').filter(Boolean) ?? [];
export const START_ENV: Readonly<Record<string, string>> = Object.fromEntries(
  (START_SHAPE.exec(START_SCRIPT)?.[1] ?? '')
    .split(' ')
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);

export interface ChildGatehouse {
  child: ChildProcess;
  url: string;
  pid: number;
  logs: string[];
  /** SIGKILL, resolved once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM (a clean shutdown), resolved once the process is gone. */
  stop(): Promise<void>;
}

export function startChildGatehouse(
  env: Record<string, string>,
  { timeoutMs = 60_000, nodeFlags = [...START_FLAGS] }: { timeoutMs?: number; nodeFlags?: string[] } = {},
): Promise<ChildGatehouse> {
  return startChild([...nodeFlags, '--import', 'tsx', CHILD], { ...START_ENV, ...env }, { timeoutMs });
}

/** `node <args>` on loopback (PORT=0), `env` over PATH and LOG_LEVEL=info; resolves once it prints `READY <url> <pid>`. */
export function startChild(args: string[], env: Record<string, string>, { timeoutMs = 60_000 } = {}): Promise<ChildGatehouse> {
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env['PATH'] ?? '', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const end = (signal: NodeJS.Signals) => async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await gone;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no start within ${timeoutMs} ms:\n${logs.slice(-30).join('\n')}`));
    }, timeoutMs);
    let partial = '';
    const onData = (chunk: Buffer): void => {
      const text = partial + chunk.toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (logs.length < 20_000) logs.push(line);
        const m = /^READY (\S+) (\d+)$/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve({ child, url: m[1]!, pid: Number(m[2]), logs, kill: end('SIGKILL'), stop: end('SIGTERM') });
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`gatehouse exited (${signal ?? code}) before listening:\n${logs.slice(-30).join('\n')}`));
    });
  });
}
