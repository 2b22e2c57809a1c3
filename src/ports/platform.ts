/** What the worker needs from a platform adapter: payload → event, and a forge to act through. */
import type { GatehouseEvent, RepoRef } from '../core/model.ts';
import type { Forge } from './forge.ts';
import type { ReleaseForge } from './release.ts';
import type { StoredDelivery } from './store.ts';

export type Translation =
  | { kind: 'event'; event: GatehouseEvent; installationId: number | null }
  | { kind: 'ignored'; reason: string }
  | { kind: 'invalid'; reason: string };

export interface PlatformAdapter {
  translate(delivery: StoredDelivery, payload: unknown): Translation;
  forgeFor(installationId: number | null): Promise<Forge>;
  /** A forge that can act on a repository named outside a webhook (a Slack command's URL). */
  forgeForRepo?(repo: RepoRef): Promise<Forge>;
  /** What the release gate reads and writes (evidence, current labels, its check); absent: the gate is off. */
  releaseFor?(installationId: number | null): Promise<ReleaseForge>;
}
