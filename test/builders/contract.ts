/**
 * The intake form as CONTRACT.md promises it ("Intake form (default policy)"), copied word for
 * word so that a change to the policy or the templates that breaks the promise fails a test.
 */
export interface ContractField {
  label: string;
  kind: 'text' | 'long text' | 'choice' | 'checkboxes';
  options: string[];
  required: boolean;
}

export const CONTRACT_FIELDS: readonly ContractField[] = [
  { label: 'Service or system name', kind: 'text', options: [], required: true },
  { label: 'Owner', kind: 'text', options: [], required: true },
  { label: 'Deputy owner', kind: 'text', options: [], required: true },
  { label: 'Deployment environment', kind: 'choice', options: ['non-prod', 'prod'], required: true },
  { label: 'Trust tier', kind: 'choice', options: ['internal', 'partner', 'public'], required: true },
  { label: 'Reason for engagement', kind: 'long text', options: [], required: true },
  { label: 'Internet exposure', kind: 'choice', options: ['none', 'existing endpoint changed', 'new public endpoint'], required: true },
  { label: 'Data sensitivity', kind: 'choice', options: ['public', 'internal', 'confidential', 'restricted'], required: true },
  {
    label: 'Identity or access changes',
    kind: 'checkboxes',
    options: [
      'Authentication change',
      'Authorization change',
      'Tenant boundary change',
      'IAM or role-trust change',
      'Network exposure change',
      'Privileged automation change',
      'None',
    ],
    required: true,
  },
  { label: 'Uses an approved golden-path template', kind: 'choice', options: ['yes', 'no'], required: true },
  {
    label: 'Blast radius',
    kind: 'choice',
    options: ['single service', 'multiple services', 'multiple products or trust domains'],
    required: true,
  },
  { label: 'Suspected active exploitation', kind: 'choice', options: ['no', 'yes'], required: true },
  { label: 'Links', kind: 'long text', options: [], required: false },
  { label: 'Requested deadline', kind: 'text', options: [], required: false },
  { label: 'Business event driving it', kind: 'text', options: [], required: false },
  {
    label: 'Service line',
    kind: 'choice',
    options: [
      'Secure design / architecture review',
      'Security testing and validation support',
      'Platform standards and golden paths',
      'CI/CD and release governance',
      'Cloud / Kubernetes control review',
      'Vulnerability management and remediation governance',
      'Incident partnership and post-incident hardening',
      'Metrics, reporting, and executive narrative',
    ],
    required: false,
  },
];

/** "Default labels": tiers in order 0..3. */
export const CONTRACT_TIER_LABELS = ['tier::self-service', 'tier::advisory', 'tier::deep-review', 'tier::leadership'] as const;

/** "Default routing": the assets each tier's comment lists. */
export const CONTRACT_TIER_ASSETS: readonly (readonly string[])[] = [
  ['template usage', 'default controls', 'standard logs'],
  ['short design note', 'PR or IaC diff', 'owner', 'risk questions answered'],
  ['architecture diagram', 'threat assumptions', 'control mapping', 'rollout/rollback notes', 'identified owners'],
  ['plain-language risk statement', 'compensating controls', 'time-bound decision proposal', 'business owner acknowledgment'],
];
