/** The built-in default policy: the operating model's intake form, routing rules and tiers. */
import type { PolicyInput } from './schema.ts';

export const defaultPolicyInput: PolicyInput = {
  version: 1,
  timeZone: 'UTC',
  intake: {
    title: 'Security review request',
    description: 'Ask product security for a review. Gatehouse reads your answers, says what is missing and routes the request to an engagement tier.',
    fields: [
      { id: 'service', label: 'Service or system name', kind: 'text', required: true, description: 'The service, system or component this request is about.' },
      { id: 'owner', label: 'Owner', kind: 'text', format: 'handle', required: true, description: 'Accountable engineer or team, as @handle.', placeholder: '@handle' },
      { id: 'deputy', label: 'Deputy owner', kind: 'text', format: 'handle', required: true, description: 'Who answers when the owner is away, as @handle.', placeholder: '@handle' },
      { id: 'environment', label: 'Deployment environment', kind: 'choice', options: ['non-prod', 'prod'], required: true, description: 'Where the change will run.' },
      { id: 'trust_tier', label: 'Trust tier', kind: 'choice', options: ['internal', 'partner', 'public'], required: true, description: 'Who can reach the service.' },
      { id: 'reason', label: 'Reason for engagement', kind: 'longtext', required: true, description: 'What is changing and what you need from product security.' },
      { id: 'exposure', label: 'Internet exposure', kind: 'choice', options: ['none', 'existing endpoint changed', 'new public endpoint'], required: true, description: 'Does the change expose anything to the internet?' },
      { id: 'data_sensitivity', label: 'Data sensitivity', kind: 'choice', options: ['public', 'internal', 'confidential', 'restricted'], required: true, description: 'The most sensitive data the change touches.' },
      {
        id: 'identity_changes',
        label: 'Identity or access changes',
        kind: 'checkboxes',
        options: ['Authentication change', 'Authorization change', 'Tenant boundary change', 'IAM or role-trust change', 'Network exposure change', 'Privileged automation change', 'None'],
        exclusiveOption: 'None',
        required: true,
        description: 'Tick every change that applies, or None.',
      },
      { id: 'golden_path', label: 'Uses an approved golden-path template', kind: 'choice', options: ['yes', 'no'], required: true, description: 'Built from an approved template with default controls?' },
      { id: 'blast_radius', label: 'Blast radius', kind: 'choice', options: ['single service', 'multiple services', 'multiple products or trust domains'], required: true, description: 'What a failure or compromise could reach.' },
      { id: 'active_exploitation', label: 'Suspected active exploitation', kind: 'choice', options: ['no', 'yes'], required: true, description: 'Do you suspect this is being exploited right now?' },
      { id: 'links', label: 'Links', kind: 'longtext', required: false, description: 'PRs, design docs, IaC, tickets, previous exceptions.' },
      { id: 'deadline', label: 'Requested deadline', kind: 'text', format: 'date', required: false, description: 'YYYY-MM-DD', placeholder: 'YYYY-MM-DD' },
      { id: 'business_event', label: 'Business event driving it', kind: 'text', required: false, description: 'Launch, customer commitment, audit…' },
      {
        id: 'service_line',
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
        description: 'Which service of the security catalog this is, if you know. Left empty, Gatehouse infers it where the routing makes it obvious.',
      },
    ],
  },
  labels: {
    intake: 'intake',
    intakeIncomplete: 'intake::incomplete',
    intakeComplete: 'intake::complete',
  },
  tiers: [
    { level: 0, name: 'self-service', label: 'tier::self-service', assets: ['Template usage', 'Default controls', 'Standard logs'] },
    { level: 1, name: 'advisory', label: 'tier::advisory', assets: ['Short design note', 'PR or IaC diff', 'Owner', 'Risk questions answered'] },
    {
      level: 2,
      name: 'deep review',
      label: 'tier::deep-review',
      assets: ['Architecture diagram', 'Threat assumptions', 'Control mapping', 'Rollout/rollback notes', 'Identified owners'],
    },
    {
      level: 3,
      name: 'leadership',
      label: 'tier::leadership',
      assets: ['Plain-language risk statement', 'Compensating controls', 'Time-bound decision proposal', 'Business owner acknowledgment'],
    },
  ],
  routes: [
    { name: 'incident', label: 'route::incident', description: 'Suspected active exploitation: handled as a security incident.' },
    { name: 'exception-board', label: 'route::exception-board', description: 'A risk exception goes to the exception board.' },
    { name: 'remediation-governance', label: 'route::remediation-governance', description: 'Tracked by remediation governance.' },
  ],
  routing: {
    rules: [
      {
        name: 'active-exploitation',
        description: 'Suspected active exploitation goes to incident response at once',
        when: { field: 'active_exploitation', equals: 'yes' },
        tier: 3,
        route: 'incident',
        notify: true,
        evenWhenIncomplete: true,
      },
      {
        name: 'cross-domain-blast-radius',
        description: 'A blast radius across products or trust domains needs a leadership decision',
        when: { field: 'blast_radius', equals: 'multiple products or trust domains' },
        tier: 3,
      },
      {
        name: 'public-endpoint-or-identity-boundary',
        description: 'A new public endpoint, or an authentication, authorization or tenant boundary change, needs a deep review',
        when: {
          any: [
            { field: 'exposure', equals: 'new public endpoint' },
            { field: 'identity_changes', includesAny: ['Authentication change', 'Authorization change', 'Tenant boundary change'] },
          ],
        },
        tier: 2,
      },
      {
        name: 'privileged-automation-or-sensitive-data',
        description: 'Privileged automation, or confidential or restricted data, needs a deep review',
        when: {
          any: [
            { field: 'identity_changes', includes: 'Privileged automation change' },
            { field: 'data_sensitivity', in: ['confidential', 'restricted'] },
          ],
        },
        tier: 2,
      },
      {
        name: 'iam-or-network-single-service',
        description: 'An IAM, role-trust or network exposure change confined to a single service gets advice',
        when: {
          all: [
            { field: 'identity_changes', includesAny: ['IAM or role-trust change', 'Network exposure change'] },
            { field: 'blast_radius', equals: 'single service' },
          ],
        },
        tier: 1,
      },
      {
        name: 'iam-or-network-wider',
        description: 'An IAM, role-trust or network exposure change reaching beyond one service needs a deep review',
        when: {
          all: [
            { field: 'identity_changes', includesAny: ['IAM or role-trust change', 'Network exposure change'] },
            { not: { field: 'blast_radius', equals: 'single service' } },
          ],
        },
        tier: 2,
      },
      {
        name: 'golden-path',
        description: 'An approved golden-path template with nothing else flagged is self-service with spot checks',
        when: { field: 'golden_path', equals: 'yes' },
        tier: 0,
        fallback: true,
      },
    ],
    defaultTier: 1,
    defaultReason: 'No routing rule fired: advisory review by default',
  },
  changes: {
    rules: [
      {
        name: 'authentication-authorization-code',
        description: 'Authentication or authorization code changed',
        paths: ['**/auth/**', '**/authn/**', '**/authz/**', '**/oauth*/**', '**/oidc/**', '**/saml/**', '**/login/**', '**/session/**', '**/sessions/**', '**/permissions/**', '**/rbac/**', '**/*{auth,Auth}*'],
        tier: 2,
      },
      {
        name: 'iam-and-infrastructure-as-code',
        description: 'IAM or infrastructure-as-code changed',
        paths: ['**/*.tf', '**/*.tfvars', '**/*.hcl', '**/iam/**', '**/terraform/**', '**/cloudformation/**', '**/*.{cfn,template}.{json,yaml,yml}', '**/Pulumi*.yaml', '**/helm/**', '**/k8s/**', '**/kubernetes/**'],
        tier: 2,
      },
      {
        name: 'ci-cd-and-deploy-keys',
        description: 'CI/CD workflows, deployment configuration or deploy keys changed',
        paths: ['.github/workflows/**', '.github/actions/**', '.gitlab-ci.yml', '.gitlab/ci/**', '**/Jenkinsfile', '.circleci/**', '**/deploy/**', '**/deploy-keys/**', '**/*.{pem,key,p12,pfx}', '**/id_{rsa,ed25519,ecdsa}*', 'CODEOWNERS', '.github/CODEOWNERS'],
        tier: 2,
      },
      {
        name: 'tenant-isolation',
        description: 'Tenant-isolation code changed',
        paths: ['**/tenant/**', '**/tenants/**', '**/tenancy/**', '**/multitenan*/**', '**/*{tenant,Tenant}*'],
        tier: 2,
      },
      {
        name: 'public-api-definitions',
        description: 'Public API definitions changed',
        paths: ['**/{openapi,swagger}*.{json,yaml,yml}', '**/*.proto', '**/*.graphql', '**/schema.graphqls', '**/api/public/**'],
        tier: 1,
      },
    ],
    ignore: ['**/*.{md,mdx,rst,txt,adoc}', 'docs/**', '**/docs/**', '**/*.{png,jpg,jpeg,gif,svg}'],
    reviewFromTier: 2,
    reviewers: { github: [], gitlab: [] },
  },
  tooling: {
    outageLabel: 'tool::outage',
    criticalityPrefix: 'criticality::',
    pathPrefix: 'path::',
    sloAtRisk: 'slo::at-risk',
    sloBreached: 'slo::breached',
    rtoAtRisk: 'rto::at-risk',
    rtoBreached: 'rto::breached',
    pauseLabels: [],
    featureLabels: ['feature', 'enhancement', 'feature-request', 'type::feature'],
    backlogLabel: 'backlog',
    inventory: [],
    repeatedMisses: { count: 3, windowDays: 90 },
  },
  chat: {
    escalationChannel: '#prodsec-escalations',
    incidentChannel: '#prodsec-incidents',
  },
};
