/**
 * The `gate` section of the policy: release candidates, classes, evidence and blocking rules.
 * (Fleshed out with the release gate; this placeholder keeps the section's place in the schema.)
 */
import { z } from 'zod';

export const gatePolicySchema = z.object({}).passthrough();

export type GatePolicy = z.infer<typeof gatePolicySchema>;
