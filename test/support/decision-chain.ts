import { DecisionChainVerifier, type ChainVerification, type ChainVerifierOptions } from '../../src/storage/decision-chain.ts';

type Verified = Parameters<DecisionChainVerifier['add']>[0];

/** A whole chain of decision records through the verifier `gatehouse decisions verify` pages through. */
export function verifyDecisionChain(records: readonly Verified[], opts: ChainVerifierOptions = {}): ChainVerification {
  const v = new DecisionChainVerifier(opts);
  for (const r of records) v.add(r);
  return v.result();
}
