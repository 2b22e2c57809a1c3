/** What the worker needs from a platform adapter: payload → event, and a forge to act through. */
import type { GatehouseEvent, RepoRef } from '../core/model.ts';
import type { Forge } from './forge.ts';
import type { ReleaseForge } from './release.ts';
import type { StoredDelivery } from './deliveries.ts';

export type Translation =
  | { kind: 'event'; event: GatehouseEvent; installationId: number | null }
  | { kind: 'ignored'; reason: string }
  | { kind: 'invalid'; reason: string };

/** A translated event checked against the platform's API (who acted, on which project). */
export type Confirmation =
  | { kind: 'event'; event: GatehouseEvent; /** The payload claimed something else (logged and audited). */ mismatch?: string }
  | { kind: 'ignored'; reason: string }
  /** Forged or unattributable: nothing is done, and the refusal is audited. */
  | { kind: 'refused'; reason: string; actor: string | null };

export interface PlatformAdapter {
  translate(delivery: StoredDelivery, payload: unknown): Translation;
  /**
   * Our own account on the platform (`<slug>[bot]`, the token's username); waits up to `waitMs`
   * for it to be learnt. Null: still unknown, and nothing may be done yet.
   */
  self?(waitMs: number): Promise<string | null>;
  /** Reads from the API what authority rests on (the actor of a command, the project); absent: the payload is the platform's own word. */
  confirm?(event: GatehouseEvent): Promise<Confirmation>;
  forgeFor(installationId: number | null): Promise<Forge>;
  /** A forge that can act on a repository named outside a webhook (a Slack command's URL). */
  forgeForRepo?(repo: RepoRef): Promise<Forge>;
  /** What the release gate reads and writes (evidence, current labels, its check); absent: the gate is off. */
  releaseFor?(installationId: number | null): Promise<ReleaseForge>;
}
