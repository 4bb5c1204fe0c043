/** Factories for the whole-account playbook's unit tests (typed like the EC2 ones in helpers/factories.ts). */
import { outputsReader, parseRecorded, type ReleaseContext, type Step, type StepContext, type UndoContext } from '../../../../shared/engine/index.ts';
import { EvidenceStore } from '../../../../shared/evidence/index.ts';
import { localPacer } from '../../../../shared/pacing/index.ts';
import { captureAccount, type AwsAccount, type IamUserState } from '../../../../shared/playbooks/account/describe.ts';
import { AccountOptionsSchema, type AccountOptions } from '../../../../shared/playbooks/account/options.ts';
import type { Account } from '../../../../shared/playbooks/account/types.ts';
import { incidentIdFor, type Incident } from '../../../../shared/findings/index.ts';
import type { StepOutcome } from '../../../../shared/vocabulary/index.ts';
import { ACCOUNT_ID, aConfig, anIncident, anS3Client, EVIDENCE_BUCKET, FIXED_NOW, RESPONDER, silentLogger, someClients } from '../../helpers/factories.ts';

export const ROOT_FINDING_ID = 'b6d8f0a2c4e6b8d0f2a4c6e8b0d2f4a6';

/** A root-credential finding as the parser makes it: resource Account, id the account. */
export function aRootIncident(overrides: Partial<Incident> = {}): Incident {
  return anIncident({
    incidentId: incidentIdFor(ACCOUNT_ID, ROOT_FINDING_ID, ACCOUNT_ID),
    playbook: 'account',
    findingId: ROOT_FINDING_ID,
    findingType: 'Policy:IAMUser/RootCredentialUsage',
    title: 'API ListBuckets was invoked using root credentials.',
    severity: 2,
    createdAt: '2025-06-19T08:10:56.420Z',
    resource: { type: 'Account', id: ACCOUNT_ID, hints: { userType: 'Root', accessKeyId: 'ASIA4EXAMPLEROOTSES9', principalId: ACCOUNT_ID } },
    ...overrides,
  });
}

export const aUser = (userName: string, keys: Array<[string, string]> = [], createDate = '2024-01-01T00:00:00.000Z'): IamUserState => ({
  userName,
  userId: `AIDA${userName.toUpperCase().replace(/[^A-Z0-9]/g, '').padEnd(16, 'X').slice(0, 16)}`,
  arn: `arn:aws:iam::${ACCOUNT_ID}:user/${userName}`,
  createDate,
  accessKeys: keys.map(([accessKeyId, status]) => ({ accessKeyId, status, createDate })),
});

export function anAccount(overrides: Partial<AwsAccount> = {}): AwsAccount {
  return {
    accountId: ACCOUNT_ID,
    alias: 'acme-prod',
    regions: ['eu-west-1', 'us-east-1'],
    regionsLeftOut: [{ region: 'af-south-1', reason: 'not enabled in the account (not-opted-in)' }],
    users: [aUser('alice', [['AKIAALICE00000000001', 'Active']]), aUser('bob', [['AKIABOB0000000000001', 'Active'], ['AKIABOB0000000000002', 'Inactive']]), aUser('carol')],
    ...overrides,
  };
}

export const sweepOptions = (sweep: Record<string, unknown> = {}, rest: Record<string, unknown> = {}): AccountOptions =>
  AccountOptionsSchema.parse({ credential_sweep: { enabled: true, ...sweep }, ...rest });

type WithOutcomes = { outcomes?: Record<string, StepOutcome> };

/** A step context of the account playbook: full mode with the sweep enabled unless overridden. */
export function anAccountStepContext<D = any>(overrides: Partial<StepContext<Account, D>> & WithOutcomes = {}): StepContext<Account, D> {
  const { outcomes = {}, ...rest } = overrides;
  const resource = overrides.resource ?? anAccount();
  return {
    ...outputsReader<Account>(() => outcomes),
    incident: aRootIncident(),
    resource,
    capture: captureAccount(resource),
    options: sweepOptions(),
    clients: someClients(),
    evidence: new EvidenceStore(anS3Client(), EVIDENCE_BUCKET),
    config: aConfig({ playbook: 'account', mode: 'full' }),
    logger: silentLogger(),
    now: () => FIXED_NOW,
    pacer: localPacer({ sleep: async () => undefined }),
    handOff: async () => ({ eventId: 'handoff-event-id' }),
    relate: async () => [],
    ...rest,
  } as StepContext<Account, D>;
}

export function anAccountReleaseContext(overrides: Partial<Omit<ReleaseContext<Account>, 'resource'>> & WithOutcomes & { resource?: AwsAccount } = {}): ReleaseContext<Account> {
  const { outcomes = {}, resource, ...rest } = overrides;
  const account = resource ?? anAccount();
  return {
    ...outputsReader<Account>(() => outcomes),
    incident: aRootIncident(),
    capture: captureAccount(account),
    request: { requestedBy: RESPONDER, reason: 'owners rotated the root credentials', reattach: false, via: 'cli' },
    resource: async () => account,
    clients: someClients(),
    logger: silentLogger(),
    now: () => FIXED_NOW,
    released: {},
    ...rest,
  };
}

/** What an undo receives: the data its step really returned, through JSON (DynamoDB) and the step's schema. */
export function anAccountUndoContext<D>(step: Step<Account, D>, result: { status: string; data?: unknown }, overrides: Parameters<typeof anAccountReleaseContext>[0] = {}): UndoContext<Account, D> {
  if (result.status !== 'done') throw new Error(`${step.name} returned ${result.status}: an undo runs only after done`);
  return { ...anAccountReleaseContext(overrides), recorded: parseRecorded(step, JSON.parse(JSON.stringify(result.data))) };
}
