/** What the IAM role playbook's unit tests share: the roles of the seeds' cases as IAM returns them, incidents from the GuardDuty fixture, and typed contexts. */
import {
  GetRoleCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListInstanceProfilesForRoleCommand,
  ListRolePoliciesCommand,
  type Role as AwsRole,
} from '@aws-sdk/client-iam';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { outputsReader, parseRecorded, type ReleaseContext, type Step, type StepContext, type UndoContext } from '../../../../shared/engine/index.ts';
import { EvidenceStore } from '../../../../shared/evidence/index.ts';
import { parseFindingMessage, type Incident } from '../../../../shared/findings/index.ts';
import { localPacer } from '../../../../shared/pacing/index.ts';
import { captureRole, readRole, type IamRole } from '../../../../shared/playbooks/iam-role/describe.ts';
import { IamRoleOptionsSchema, type IamRoleOptions } from '../../../../shared/playbooks/iam-role/options.ts';
import type { Role } from '../../../../shared/playbooks/iam-role/types.ts';
import type { StepOutcome } from '../../../../shared/vocabulary/index.ts';
import { aConfig, anS3Client, EVIDENCE_BUCKET, FIXED_NOW, fixtureEvent, RESPONDER, silentLogger, someClients } from '../../helpers/factories.ts';

export const ACCOUNT = '111122223333';
export const SOURCE_INSTANCE = 'i-0a1b2c3d4e5f67890';

const trust = (...statements: Array<Record<string, unknown>>) => encodeURIComponent(JSON.stringify({ Version: '2012-10-17', Statement: statements.map((s) => ({ Effect: 'Allow', ...s })) }));

/** A role as GetRole returns it (the trust policy URL-encoded, as IAM sends it). */
function awsRole(name: string, roleId: string, trustPolicy: string, path = '/'): AwsRole {
  return {
    RoleName: name,
    RoleId: roleId,
    Arn: `arn:aws:iam::${ACCOUNT}:role${path}${name}`,
    Path: path,
    CreateDate: new Date('2024-01-10T09:00:00Z'),
    AssumeRolePolicyDocument: trustPolicy,
    MaxSessionDuration: 3600,
    Tags: [{ Key: 'Owner', Value: 'team-web' }],
    RoleLastUsed: { LastUsedDate: new Date('2025-06-24T22:24:47Z'), Region: 'us-east-1' },
  };
}

/** The roles of the tests, by what makes each a case. */
export const ROLES = {
  /** The fixture's instance role: trusts EC2 only. */
  plain: awsRole('web-app-instance-role', 'AROA4EXAMPLEWEBROLE7Q', trust({ Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' })),
  saml: awsRole(
    'okta-engineers',
    'AROA4EXAMPLESAMLROLE1',
    trust({ Principal: { Federated: `arn:aws:iam::${ACCOUNT}:saml-provider/Okta` }, Action: 'sts:AssumeRoleWithSAML', Condition: { StringEquals: { 'SAML:aud': 'https://signin.aws.amazon.com/saml' } } }),
  ),
  oidc: awsRole(
    'github-deploy',
    'AROA4EXAMPLEOIDCROLE1',
    trust({
      Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com` },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: { StringLike: { 'token.actions.githubusercontent.com:sub': 'repo:example/app:*' } },
    }),
  ),
  sso: awsRole(
    'AWSReservedSSO_AdministratorAccess_0123456789abcdef',
    'AROA4EXAMPLESSOROLE01',
    trust({ Principal: { Federated: `arn:aws:iam::${ACCOUNT}:saml-provider/AWSSSO_0123456789abcdef_DO_NOT_DELETE` }, Action: ['sts:AssumeRoleWithSAML', 'sts:TagSession'] }),
    '/aws-reserved/sso.amazonaws.com/',
  ),
  breakGlass: awsRole('BreakGlassAdmin', 'AROA4EXAMPLEBREAKGLAS', trust({ Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'sts:AssumeRole' })),
  own: awsRole('firebreak-ec2-instance', 'AROA4EXAMPLEFIREBREAK', trust({ Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' })),
  serviceLinked: awsRole(
    'AWSServiceRoleForAutoScaling',
    'AROA4EXAMPLEASGSLR001',
    trust({ Principal: { Service: 'autoscaling.amazonaws.com' }, Action: 'sts:AssumeRole' }),
    '/aws-service-role/autoscaling.amazonaws.com/',
  ),
} as const;

export type RoleCase = keyof typeof ROLES;

/** IAM answers describe for `role`: GetRole, one inline and one attached policy, its instance profile (for the instance role). */
export function givenRole(iam: AwsClientStub<IAMClient>, role: AwsRole): void {
  iam.on(GetRoleCommand, { RoleName: role.RoleName }).resolves({ Role: role });
  iam.on(ListAttachedRolePoliciesCommand, { RoleName: role.RoleName }).resolves({ AttachedPolicies: [{ PolicyName: 'ReadOnlyAccess', PolicyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }], IsTruncated: false });
  iam.on(ListRolePoliciesCommand, { RoleName: role.RoleName }).resolves({ PolicyNames: ['app-secrets'], IsTruncated: false });
  iam.on(ListInstanceProfilesForRoleCommand, { RoleName: role.RoleName }).resolves({
    InstanceProfiles: role === ROLES.plain ? [{ InstanceProfileName: 'web-app-instance-profile', Arn: `arn:aws:iam::${ACCOUNT}:instance-profile/web-app-instance-profile`, InstanceProfileId: 'AIPA4EXAMPLEWEB01PRF2', Path: '/', CreateDate: new Date(), Roles: [] }] : [],
    IsTruncated: false,
  });
}

/** The role as describe reads it from the mocked IAM (so steps get what describe really returns). */
export async function described(iam: AwsClientStub<IAMClient>, role: AwsRole): Promise<IamRole> {
  givenRole(iam, role);
  return readRole(someClients().iam, role.RoleName!);
}

/**
 * The incident of the GuardDuty fixture (an instance role's credentials used outside AWS),
 * as the parser makes it, retargeted to `role` and, when given, the session `sessionName`.
 */
export function anIncidentFor(role: AwsRole, options: { sessionName?: string | null; findingType?: string; instanceDetails?: boolean } = {}): Incident {
  const event = fixtureEvent('iam-role-instancecredentialexfiltration-outsideaws.json');
  const key = event.detail.resource.accessKeyDetails;
  key.userName = role.RoleName;
  const sessionName = options.sessionName === undefined ? SOURCE_INSTANCE : options.sessionName;
  if (sessionName === null) delete key.principalId;
  else key.principalId = `${role.RoleId}:${sessionName}`;
  if (options.findingType) event.detail.type = options.findingType;
  if (options.instanceDetails === false) delete event.detail.resource.instanceDetails;
  const [incident] = parseFindingMessage(JSON.stringify(event));
  return incident!;
}

/** IAM role options as the function reads them (schema defaults applied). */
export const roleOptions = (overrides: Partial<IamRoleOptions> = {}): IamRoleOptions => IamRoleOptionsSchema.parse(overrides);

type WithOutcomes = { outcomes?: Record<string, StepOutcome> };

export const handOffs: Array<{ target: { resourceType: string; id: string }; reason: string }> = [];

/** A step context for an IAM role step: `resource` is what describe returned; the capture is taken from it. */
export function aRoleStepContext<D>(resource: IamRole, incident: Incident, overrides: Partial<StepContext<Role, D>> & WithOutcomes = {}): StepContext<Role, D> {
  const { outcomes = {}, ...rest } = overrides;
  return {
    ...outputsReader<Role>(() => outcomes),
    incident,
    resource,
    capture: captureRole(resource),
    options: roleOptions(),
    clients: someClients(),
    evidence: new EvidenceStore(anS3Client(), EVIDENCE_BUCKET),
    config: aConfig({ playbook: 'iam-role', protectedPrincipals: ['arn:aws:iam::*:role/BreakGlass*'] }),
    logger: silentLogger(),
    now: () => FIXED_NOW,
    pacer: localPacer({ sleep: async () => undefined }),
    handOff: async (target, reason) => {
      handOffs.push({ target, reason });
      return { eventId: `handoff-${handOffs.length}` };
    },
    relate: async () => [],
    ...rest,
  } as StepContext<Role, D>;
}

/** A release context for an IAM role undo or release action; `resource` is what describe finds now (undefined: the role is gone). */
export function aRoleReleaseContext(resource: IamRole | undefined, incident: Incident, overrides: Partial<Omit<ReleaseContext<Role>, 'resource'>> & WithOutcomes = {}): ReleaseContext<Role> {
  const { outcomes = {}, ...rest } = overrides;
  return {
    ...outputsReader<Role>(() => outcomes),
    incident,
    capture: resource ? captureRole(resource) : { roleName: incident.resource.id, roleId: 'AROA', arn: '', path: '/', tags: {}, attachedPolicies: [], inlinePolicyNames: [], instanceProfiles: [], federation: { providers: [] } },
    request: { requestedBy: RESPONDER, reason: 'false positive', reattach: false, via: 'cli' },
    resource: async () => resource,
    clients: someClients(),
    logger: silentLogger(),
    now: () => FIXED_NOW,
    released: {},
    ...rest,
  };
}

/** What a step's undo receives after the step ran: its data through a JSON round trip and the step's schema, as the engine reads it. */
export function recordedBy<D>(step: Step<Role, D>, result: { status: string; data?: unknown }): D {
  if (result.status !== 'done') throw new Error(`${step.name} returned ${result.status}: an undo runs only after done`);
  return parseRecorded(step, result.data === undefined ? undefined : JSON.parse(JSON.stringify(result.data)));
}

export function anUndoContext<D>(step: Step<Role, D>, result: { status: string; data?: unknown }, resource: IamRole | undefined, incident: Incident): UndoContext<Role, D> {
  return { ...aRoleReleaseContext(resource, incident), recorded: recordedBy(step, result) };
}

/** A recorded outcome, as the engine keeps it. */
export const outcome = (status: StepOutcome['status'], data?: unknown): StepOutcome => ({ stage: 'contain', status, summary: status, attempts: 1, ...(data === undefined ? {} : { data: JSON.parse(JSON.stringify(data)) }) });
