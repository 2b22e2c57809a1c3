/** What the worker needs from a platform adapter: payload → event, and a forge to act through. */
import type { GatehouseEvent } from '../core/model.ts';
import type { Forge } from './forge.ts';
import type { StoredDelivery } from './store.ts';

export type Translation =
  | { kind: 'event'; event: GatehouseEvent; installationId: number | null }
  | { kind: 'ignored'; reason: string }
  | { kind: 'invalid'; reason: string };

export interface PlatformAdapter {
  translate(delivery: StoredDelivery, payload: unknown): Translation;
  forgeFor(installationId: number | null): Promise<Forge>;
}
