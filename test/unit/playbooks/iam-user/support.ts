/** What the IAM user playbook's unit tests share: a stateful fake of IAM and Secrets Manager, and typed contexts. */
import {
  CreateAccessKeyCommand,
  CreateLoginProfileCommand,
  DeleteAccessKeyCommand,
  DeleteLoginProfileCommand,
  DeleteUserPolicyCommand,
  GetAccessKeyLastUsedCommand,
  GetLoginProfileCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupsForUserCommand,
  ListMFADevicesCommand,
  ListUserPoliciesCommand,
  PutUserPolicyCommand,
  TagUserCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { CreateSecretCommand, DescribeSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { outputsReader, parseRecorded, type ReleaseContext, type Step, type StepContext, type StepResult, type UndoContext } from '../../../../shared/engine/index.ts';
import { EvidenceStore } from '../../../../shared/evidence/index.ts';
import { incidentIdFor, type Incident } from '../../../../shared/findings/index.ts';
import { localPacer } from '../../../../shared/pacing/index.ts';
import { captureIamUser, exposureOf, type IamUserResource, type UserState } from '../../../../shared/playbooks/iam-user/describe.ts';
import { identifyUser } from '../../../../shared/playbooks/iam-user/identify.ts';
import { IamUserOptionsSchema, type IamUserOptions } from '../../../../shared/playbooks/iam-user/options.ts';
import type { IamUserTypes } from '../../../../shared/playbooks/iam-user/types.ts';
import type { StepOutcome } from '../../../../shared/vocabulary/index.ts';
import { ACCOUNT_ID, aConfig, anIncident, anS3Client, awsError, EVIDENCE_BUCKET, FIXED_NOW, RESPONDER, silentLogger, someClients } from '../../helpers/factories.ts';

export const USER = 'alice.nguyen';
export const USER_ARN = `arn:aws:iam::${ACCOUNT_ID}:user/engineering/${USER}`;
export const EXPOSED_KEY = 'AKIA4EXAMPLEEXPOSED1';
export const OTHER_KEY = 'AKIA4EXAMPLEOTHERKEY';
export const TEMP_KEY = 'ASIA4EXAMPLESESSION1';
export const FINDING_ID = 'f2b4d6e8a0c2f4b6d8e0a2c4f6b8d0e2';

const noSuchEntity = (what: string) => awsError('NoSuchEntityException', { httpStatusCode: 404, message: `The user with name ${what} cannot be found.` });

interface FakeUser {
  userName: string;
  userId: string;
  arn: string;
  keys: Array<{ id: string; status: 'Active' | 'Inactive'; created: Date; lastUsed?: Date }>;
  login: { created: Date; reset: boolean } | null;
  inline: Map<string, string>;
  attached: Array<{ PolicyName: string; PolicyArn: string }>;
  tags: Record<string, string>;
}

/**
 * IAM and Secrets Manager as state, behind aws-sdk-client-mock: the calls the playbook makes
 * read and change it as AWS would (two keys at most, NoSuchEntity for what is missing), so a
 * test asserts on the account as the playbook left it, and a second delivery or a release
 * starts from there.
 */
export class FakeAccount {
  readonly iam = mockClient(IAMClient);
  readonly secrets = mockClient(SecretsManagerClient);
  users = new Map<string, FakeUser>();
  secretStore = new Map<string, { value: string; versions: number; tags: Array<{ Key?: string; Value?: string }> }>();
  #keySeq = 0;

  constructor() {
    this.install();
  }

  reset(): void {
    this.iam.reset();
    this.secrets.reset();
    this.users.clear();
    this.secretStore.clear();
    this.install();
  }

  addUser(userName: string, opts: { path?: string; keys?: Array<{ id: string; status?: 'Active' | 'Inactive'; lastUsed?: Date }>; login?: boolean; quarantined?: string; tags?: Record<string, string> } = {}): FakeUser {
    const user: FakeUser = {
      userName,
      userId: `AIDA${userName.replace(/[^A-Za-z0-9]/g, '').toUpperCase().padEnd(16, 'X').slice(0, 16)}`,
      arn: `arn:aws:iam::${ACCOUNT_ID}:user${opts.path ?? '/'}${userName}`,
      keys: (opts.keys ?? []).map((k) => ({ id: k.id, status: k.status ?? 'Active', created: new Date('2024-01-02T03:04:05Z'), ...(k.lastUsed ? { lastUsed: k.lastUsed } : {}) })),
      login: opts.login ? { created: new Date('2024-02-03T04:05:06Z'), reset: false } : null,
      inline: new Map(),
      attached: opts.quarantined ? [{ PolicyName: opts.quarantined, PolicyArn: `arn:aws:iam::aws:policy/${opts.quarantined}` }] : [],
      tags: { ...(opts.tags ?? {}) },
    };
    this.users.set(userName, user);
    return user;
  }

  user(name: string): FakeUser {
    const u = this.users.get(name);
    if (!u) throw noSuchEntity(name);
    return u;
  }

  keyStatus(userName: string, keyId: string): string | undefined {
    return this.users.get(userName)?.keys.find((k) => k.id === keyId)?.status;
  }

  /** Every call that changes IAM or Secrets Manager (reads excluded). */
  writes(): string[] {
    const names = [...this.iam.calls(), ...this.secrets.calls()].map((c) => (c.args[0] as { constructor: { name: string } }).constructor.name.replace(/Command$/, ''));
    return names.filter((n) => !/^(Get|List|Describe)/.test(n));
  }

  private install(): void {
    const iam = this.iam;
    iam.on(GetUserCommand).callsFake(async ({ UserName }) => {
      const u = this.user(UserName);
      return { User: { UserName: u.userName, UserId: u.userId, Arn: u.arn, Path: '/', CreateDate: new Date('2023-05-06T07:08:09Z'), Tags: Object.entries(u.tags).map(([Key, Value]) => ({ Key, Value })) } };
    });
    iam.on(ListAccessKeysCommand).callsFake(async ({ UserName }) => ({ AccessKeyMetadata: this.user(UserName).keys.map((k) => ({ UserName, AccessKeyId: k.id, Status: k.status, CreateDate: k.created })) }));
    iam.on(GetAccessKeyLastUsedCommand).callsFake(async ({ AccessKeyId }) => {
      const key = [...this.users.values()].flatMap((u) => u.keys).find((k) => k.id === AccessKeyId);
      return { AccessKeyLastUsed: key?.lastUsed ? { LastUsedDate: key.lastUsed, ServiceName: 's3', Region: 'us-east-1' } : { ServiceName: 'N/A', Region: 'N/A' } };
    });
    iam.on(GetLoginProfileCommand).callsFake(async ({ UserName }) => {
      const login = this.user(UserName).login;
      if (!login) throw noSuchEntity(`Login Profile for User ${UserName}`);
      return { LoginProfile: { UserName, CreateDate: login.created, PasswordResetRequired: login.reset } };
    });
    iam.on(DeleteLoginProfileCommand).callsFake(async ({ UserName }) => {
      const u = this.user(UserName);
      if (!u.login) throw noSuchEntity(`Login Profile for User ${UserName}`);
      u.login = null;
      return {};
    });
    iam.on(CreateLoginProfileCommand).callsFake(async ({ UserName, PasswordResetRequired }) => {
      const u = this.user(UserName);
      if (u.login) throw awsError('EntityAlreadyExistsException', { httpStatusCode: 409 });
      u.login = { created: FIXED_NOW, reset: Boolean(PasswordResetRequired) };
      return { LoginProfile: { UserName, CreateDate: FIXED_NOW, PasswordResetRequired } };
    });
    iam.on(ListAttachedUserPoliciesCommand).callsFake(async ({ UserName }) => ({ AttachedPolicies: this.user(UserName).attached }));
    iam.on(ListUserPoliciesCommand).callsFake(async ({ UserName }) => ({ PolicyNames: [...this.user(UserName).inline.keys()] }));
    iam.on(ListMFADevicesCommand).callsFake(async ({ UserName }) => (this.user(UserName), { MFADevices: [] }));
    iam.on(ListGroupsForUserCommand).callsFake(async ({ UserName }) => (this.user(UserName), { Groups: [{ GroupName: 'developers', GroupId: 'AGPA1', Arn: 'arn:aws:iam::111122223333:group/developers', Path: '/', CreateDate: new Date() }] }));
    iam.on(UpdateAccessKeyCommand).callsFake(async ({ UserName, AccessKeyId, Status }) => {
      const key = this.user(UserName!).keys.find((k) => k.id === AccessKeyId);
      if (!key) throw noSuchEntity(`Access key ${AccessKeyId}`);
      key.status = Status;
      return {};
    });
    iam.on(CreateAccessKeyCommand).callsFake(async ({ UserName }) => {
      const u = this.user(UserName!);
      if (u.keys.length >= 2) throw awsError('LimitExceededException', { httpStatusCode: 409, message: 'Cannot exceed quota for AccessKeysPerUser: 2' });
      const id = `AKIA4NEWREPLACEMENT${++this.#keySeq}`;
      u.keys.push({ id, status: 'Active', created: FIXED_NOW });
      return { AccessKey: { UserName, AccessKeyId: id, Status: 'Active', SecretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', CreateDate: FIXED_NOW } };
    });
    iam.on(DeleteAccessKeyCommand).callsFake(async ({ UserName, AccessKeyId }) => {
      const u = this.user(UserName!);
      const before = u.keys.length;
      u.keys = u.keys.filter((k) => k.id !== AccessKeyId);
      if (u.keys.length === before) throw noSuchEntity(`Access key ${AccessKeyId}`);
      return {};
    });
    iam.on(GetUserPolicyCommand).callsFake(async ({ UserName, PolicyName }) => {
      const doc = this.user(UserName).inline.get(PolicyName);
      if (doc === undefined) throw noSuchEntity(`policy ${PolicyName}`);
      // IAM returns policy documents URL-encoded.
      return { UserName, PolicyName, PolicyDocument: encodeURIComponent(doc) };
    });
    iam.on(PutUserPolicyCommand).callsFake(async ({ UserName, PolicyName, PolicyDocument }) => (this.user(UserName).inline.set(PolicyName, PolicyDocument), {}));
    iam.on(DeleteUserPolicyCommand).callsFake(async ({ UserName, PolicyName }) => {
      if (!this.user(UserName).inline.delete(PolicyName)) throw noSuchEntity(`policy ${PolicyName}`);
      return {};
    });
    iam.on(TagUserCommand).callsFake(async ({ UserName, Tags }) => {
      const u = this.user(UserName);
      for (const t of Tags ?? []) u.tags[t.Key!] = t.Value!;
      return {};
    });
    const secrets = this.secrets;
    secrets.on(CreateSecretCommand).callsFake(async ({ Name, SecretString, Tags }) => {
      if (this.secretStore.has(Name)) throw awsError('ResourceExistsException', { message: `The operation failed because the secret ${Name} already exists.` });
      this.secretStore.set(Name, { value: SecretString, versions: 1, tags: Tags ?? [] });
      return { ARN: `arn:aws:secretsmanager:us-east-1:${ACCOUNT_ID}:secret:${Name}-AbCdEf`, Name };
    });
    secrets.on(PutSecretValueCommand).callsFake(async ({ SecretId, SecretString }) => {
      const s = this.secretStore.get(SecretId);
      if (!s) throw awsError('ResourceNotFoundException');
      s.value = SecretString;
      s.versions += 1;
      return {};
    });
    secrets.on(DescribeSecretCommand).callsFake(async ({ SecretId }) => {
      const s = this.secretStore.get(SecretId);
      if (!s) throw awsError('ResourceNotFoundException');
      return { Name: SecretId, ARN: `arn:aws:secretsmanager:us-east-1:${ACCOUNT_ID}:secret:${SecretId}-AbCdEf`, Tags: s.tags };
    });
  }
}

/** A GuardDuty AccessKey finding about IAM user `alice.nguyen` and its exposed key, unless overridden. */
export function aUserIncident(overrides: Partial<Incident> & { hints?: Record<string, string> } = {}): Incident {
  const { hints, ...rest } = overrides;
  const id = rest.resource?.id ?? USER;
  return anIncident({
    incidentId: incidentIdFor(ACCOUNT_ID, FINDING_ID, id),
    playbook: 'iam-user',
    findingId: FINDING_ID,
    findingType: 'UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS',
    title: `Credentials of ${id} used from an unusual place`,
    resource: { type: 'IAMUser', id, hints: hints ?? { userType: 'IAMUser', accessKeyId: EXPOSED_KEY, principalId: 'AIDA4EXAMPLEALICE7XQZ' } },
    ...rest,
  });
}

export const anIamUserOptions = (overrides: Record<string, unknown> = {}): IamUserOptions => IamUserOptionsSchema.parse(overrides);

/** The resource describe would return for an incident, from a user as read (or a federated session). */
export function aResource(incident: Incident, user?: UserState): IamUserResource {
  const exposure = exposureOf(incident);
  if (exposure.userType === 'FederatedUser') {
    return { kind: 'federated-session', exposure, sessionName: incident.resource.id, federatedUserArn: `arn:aws:sts::${ACCOUNT_ID}:federated-user/${incident.resource.id}` };
  }
  return { kind: 'user', exposure, user: user! };
}

type WithOutcomes = { outcomes?: Record<string, StepOutcome> };

/** A step context for an IAM user step; `outcomes` are the other steps' recorded outcomes. */
export function aUserStepContext<D = any>(overrides: Partial<StepContext<IamUserTypes, D>> & WithOutcomes & { resource: IamUserResource }): StepContext<IamUserTypes, D> {
  const { outcomes = {}, ...rest } = overrides;
  const incident = overrides.incident ?? aUserIncident();
  return {
    incident,
    capture: captureIamUser(overrides.resource),
    options: anIamUserOptions(),
    clients: someClients(),
    evidence: new EvidenceStore(anS3Client(), EVIDENCE_BUCKET),
    config: aConfig({ playbook: 'iam-user' }),
    logger: silentLogger(),
    now: () => FIXED_NOW,
    pacer: localPacer({ sleep: async () => undefined }),
    handOff: async () => ({ eventId: 'handoff-event-id' }),
    relate: async () => [],
    ...rest,
    // After `rest`: a context built from another one reads these outcomes, not that one's.
    ...outputsReader<IamUserTypes>(() => outcomes),
  } as StepContext<IamUserTypes, D>;
}

/** A step's result as the ledger keeps it (a JSON round trip). */
export const outcomeOf = (result: StepResult<unknown>): StepOutcome => ({ stage: 'contain', status: result.status, summary: result.summary, attempts: 1, ...(result.data === undefined ? {} : { data: JSON.parse(JSON.stringify(result.data)) }) });

/** Runs identifyUser for the context's resource and returns the outcomes other steps read. */
export async function identified(ctx: StepContext<IamUserTypes, any>): Promise<Record<string, StepOutcome>> {
  return { identifyUser: outcomeOf(await identifyUser.run(ctx)) };
}

/** A release context for an IAM user undo or release action. */
export function aUserReleaseContext(overrides: Partial<Omit<ReleaseContext<IamUserTypes>, 'resource'>> & WithOutcomes & { resource?: IamUserResource } = {}): ReleaseContext<IamUserTypes> {
  const { outcomes = {}, resource, ...rest } = overrides;
  const incident = overrides.incident ?? aUserIncident();
  return {
    ...outputsReader<IamUserTypes>(() => outcomes),
    incident,
    capture: resource ? captureIamUser(resource) : { kind: 'user', exposure: exposureOf(incident) },
    request: { requestedBy: RESPONDER, reason: 'false positive', reattach: false, via: 'cli' },
    resource: async () => resource,
    clients: someClients(),
    logger: silentLogger(),
    now: () => FIXED_NOW,
    released: {},
    ...rest,
  };
}

/** An undo context from what the step really returned (through the ledger's JSON and the step's schema). */
export function aUserUndoContext<D>(step: Step<IamUserTypes, D>, result: StepResult<D>, overrides: Parameters<typeof aUserReleaseContext>[0] = {}): UndoContext<IamUserTypes, D> {
  if (result.status !== 'done') throw new Error(`${step.name} returned ${result.status}: an undo runs only after done`);
  return { ...aUserReleaseContext(overrides), recorded: parseRecorded(step, JSON.parse(JSON.stringify(result.data ?? null))) };
}
