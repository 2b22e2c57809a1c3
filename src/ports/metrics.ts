/**
 * What the shell counts, as the layers below the server see it: labelled counters and one
 * histogram. src/server/metrics.ts implements it with prom-client and serves /metrics; adapters
 * and jobs take this port, so they never import the server.
 */
export type MetricLabels<L extends string> = Partial<Record<L, string | number>>;

export interface MetricCounter<L extends string> {
  inc(labels: MetricLabels<L>, value?: number): void;
}

export interface MetricHistogram<L extends string> {
  observe(labels: MetricLabels<L>, value: number): void;
}

export interface Metrics {
  /** Deliveries by platform, event and outcome. */
  deliveries: MetricCounter<'platform' | 'event' | 'outcome'>;
  /** How long each planned action took, by action and outcome. */
  actionDuration: MetricHistogram<'action' | 'outcome'>;
  /** Chat messages by outcome: posted, updated, rate_limited, retried, failed. */
  chatMessages: MetricCounter<'outcome'>;
  /** Slack requests by kind (command, action, event) and outcome (answered, refused, invalid…). */
  slackRequests: MetricCounter<'kind' | 'outcome'>;
  /** `/gatehouse …` commands ignored because their account sent more than the policy's `commands.perActor` allows. */
  commandsLimited: MetricCounter<'platform'>;
}
