/**
 * Readiness (`GET /readyz`): each check answers `null` when its part is ready, or one line saying
 * why not. Checks run together, each bounded by a short timeout (a database that hangs is not
 * ready either). Liveness (`GET /healthz`) is apart: it only says the process serves.
 */
export interface ReadinessCheck {
  /** What is checked, e.g. `database`, `github`. */
  name: string;
  probe: () => Promise<string | null> | string | null;
}

export interface ReadinessReport {
  ready: boolean;
  /** Every check: `ok`, or why it is not ready. */
  checks: Record<string, string>;
  /** `<name>: <why>` for each check that is not ready. */
  notReady: string[];
}

export const DEFAULT_READINESS_TIMEOUT_MS = 2000;

const oneLine = (s: string): string => {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 299)}…` : flat;
};

async function run(check: ReadinessCheck, timeoutMs: number): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([Promise.resolve().then(check.probe), late]);
  } catch (err) {
    return oneLine(err instanceof Error ? err.message || err.name : String(err)) || 'failed';
  } finally {
    clearTimeout(timer);
  }
}

/** Runs every check (together); the report names each that is not ready. */
export function readinessProbe(
  checks: readonly ReadinessCheck[],
  timeoutMs = DEFAULT_READINESS_TIMEOUT_MS,
): () => Promise<ReadinessReport> {
  return async () => {
    const results = await Promise.all(checks.map(async (c) => [c.name, await run(c, timeoutMs)] as const));
    const notReady = results.filter(([, why]) => why !== null).map(([name, why]) => `${name}: ${why}`);
    return { ready: notReady.length === 0, checks: Object.fromEntries(results.map(([name, why]) => [name, why ?? 'ok'])), notReady };
  };
}
