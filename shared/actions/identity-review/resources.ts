/**
 * The resource and persistence review: what the CloudTrail review found the principal created or
 * changed — instances, users, keys, login profiles, roles and trust policies, policy versions,
 * attached and inline policies, MFA devices, SSH keys, service-specific credentials, signing
 * certificates, functions, key pairs, security groups and rules — each checked to still exist,
 * tagged `firebreak:suspect=<incident>` where the resource takes tags, and listed in a report
 * with the AWS CLI commands a human runs to delete it. `neutraliseSuspects` (full mode) then
 * makes each harmless reversibly, and its undo brings each back. Firebreak deletes nothing, and
 * never touches a protected principal, a protected resource, its own roles or a service-linked role.
 */
import { randomInt } from 'node:crypto';
import {
  CreateTagsCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  StartInstancesCommand,
  StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  AttachGroupPolicyCommand,
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreateLoginProfileCommand,
  DeleteLoginProfileCommand,
  DeleteRolePolicyCommand,
  DeleteUserPolicyCommand,
  DetachGroupPolicyCommand,
  DetachRolePolicyCommand,
  DetachUserPolicyCommand,
  GetGroupPolicyCommand,
  GetLoginProfileCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetSSHPublicKeyCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  ListAccessKeysCommand,
  ListAttachedGroupPoliciesCommand,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupsForUserCommand,
  ListMFADevicesCommand,
  ListServiceSpecificCredentialsCommand,
  ListSigningCertificatesCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  TagMFADeviceCommand,
  TagPolicyCommand,
  TagRoleCommand,
  TagUserCommand,
  UpdateAccessKeyCommand,
  UpdateServiceSpecificCredentialCommand,
  UpdateSigningCertificateCommand,
  UpdateSSHPublicKeyCommand,
  type IAMClient,
} from '@aws-sdk/client-iam';
import { CreateSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import type { Clients } from '../../aws/index.ts';
import type { Config } from '../../config/index.ts';
import { matchesPattern, type PlaybookTypes, type Step, type StepContext, type UndoContext } from '../../engine/index.ts';
import { EVIDENCE_IAM_ACTIONS } from '../../evidence/index.ts';
import { classifyError, hasErrorCode, StepFailedError } from '../../errors/index.ts';
import { INCIDENT_ID_TAG } from '../tagging.ts';
import type { Incident } from '../../findings/index.ts';
import type { ReleaseResult } from '../../engine/index.ts';
import { ACTIVITY_LIMITS } from './activity.ts';
import { ChangeSchema, deleteCommands, SUSPECT_KINDS, type Change, type SuspectKind } from './changes.ts';
import type { ResourceReviewOptions } from './options.ts';
import type { StepConstructor, TrailReviewData } from './trail.ts';

/** The tag put on every suspect that takes tags: its value is the incident id. */
export const SUSPECT_TAG = 'firebreak:suspect';
/** Firebreak's own roles carry this tag (the Terraform module's): never neutralised. */
export const FIREBREAK_COMPONENT_TAG = 'firebreak:component';

export const SuspectSchema = ChangeSchema.extend({
  kind: z.enum(SUSPECT_KINDS),
  /** Whether it still exists (null: not checked, see `note`). */
  exists: z.boolean().nullable(),
  /** What it is now: `running`, `Active`, `attached`, `default`… */
  state: z.string().max(64).optional(),
  /** The IAM user or role it belongs to (or is), as IAM names it. */
  ownerArn: z.string().max(2048).optional(),
  tagged: z.boolean(),
  /** Why it is never changed: a protected principal or resource pattern, Firebreak's own role, a service-linked role. */
  protectedBy: z.string().max(300).optional(),
  note: z.string().max(500).optional(),
});
export type Suspect = z.infer<typeof SuspectSchema>;

const RefSchema = z.object({ bucket: z.string(), key: z.string(), sha256: z.string(), bytes: z.number(), versionId: z.string().optional() });

export const ResourceReviewDataSchema = z.object({
  suspects: z.array(SuspectSchema),
  /** Writes of kinds the review cannot check (listed in the CloudTrail report). */
  otherChanges: z.number(),
  /** Changes made by protected (or ignored) principals: not suspects. */
  ignoredChanges: z.number().optional(),
  report: z.object({ json: RefSchema, markdown: RefSchema }).optional(),
});
export type ResourceReviewData = z.infer<typeof ResourceReviewDataSchema>;

const NO_SUCH_ENTITY = ['NoSuchEntity', 'NoSuchEntityException'];

/** Actions the review calls (reads, then tags). */
export const RESOURCE_REVIEW_IAM_ACTIONS = [
  'ec2:DescribeInstances',
  'ec2:DescribeKeyPairs',
  'ec2:DescribeSecurityGroups',
  'ec2:DescribeSecurityGroupRules',
  'iam:GetUser',
  'iam:GetRole',
  'iam:ListAccessKeys',
  'iam:GetLoginProfile',
  'iam:GetPolicy',
  'iam:GetPolicyVersion',
  'iam:ListAttachedUserPolicies',
  'iam:ListAttachedRolePolicies',
  'iam:ListAttachedGroupPolicies',
  'iam:GetUserPolicy',
  'iam:GetRolePolicy',
  'iam:GetGroupPolicy',
  'iam:ListMFADevices',
  'iam:GetSSHPublicKey',
  'iam:ListServiceSpecificCredentials',
  'iam:ListSigningCertificates',
  'iam:ListGroupsForUser',
  'ec2:CreateTags',
  'iam:TagUser',
  'iam:TagRole',
  'iam:TagPolicy',
  'iam:TagMFADevice',
  ...EVIDENCE_IAM_ACTIONS,
] as const;

interface Checked {
  exists: boolean | null;
  state?: string;
  ownerArn?: string;
  note?: string;
  protectedBy?: string;
}

/** Reads IAM principals once per review. */
class Principals {
  readonly #iam: IAMClient;
  readonly #users = new Map<string, Promise<{ arn: string } | null>>();
  readonly #roles = new Map<string, Promise<{ arn: string; tags: Record<string, string>; path: string } | null>>();
  constructor(iam: IAMClient) {
    this.#iam = iam;
  }
  user(name: string) {
    let p = this.#users.get(name);
    if (!p) {
      p = this.#iam.send(new GetUserCommand({ UserName: name })).then(
        (o) => (o.User?.Arn ? { arn: o.User.Arn } : null),
        (e: unknown) => (hasErrorCode(e, ...NO_SUCH_ENTITY) ? null : Promise.reject(e)),
      );
      this.#users.set(name, p);
    }
    return p;
  }
  role(name: string) {
    let p = this.#roles.get(name);
    if (!p) {
      p = this.#iam.send(new GetRoleCommand({ RoleName: name })).then(
        (o) => (o.Role?.Arn ? { arn: o.Role.Arn, path: o.Role.Path ?? '/', tags: Object.fromEntries((o.Role.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])) } : null),
        (e: unknown) => (hasErrorCode(e, ...NO_SUCH_ENTITY) ? null : Promise.reject(e)),
      );
      this.#roles.set(name, p);
    }
    return p;
  }
}

/** The ARNs a protected-principal pattern may name a user or role by (with its path, and without). */
function principalArns(incident: Pick<Incident, 'partition' | 'accountId'>, kind: 'user' | 'role', name: string, arn?: string): string[] {
  return [...new Set([arn, `arn:${incident.partition}:iam::${incident.accountId}:${kind}/${name}`].filter((a): a is string => Boolean(a)))];
}

const protectedBy = (patterns: readonly string[], values: readonly string[]) => patterns.find((p) => values.some((v) => matchesPattern(p, v)));

async function guarded(run: () => Promise<Checked>): Promise<Checked> {
  try {
    return await run();
  } catch (error) {
    const c = classifyError(error);
    return { exists: null, note: `could not check: ${c.code}` };
  }
}

/** The EC2 client of the region a change was made in: the incident's, or another through `clientsIn`; undefined when the context reaches no other region. */
function ec2In(region: string | undefined, ctx: { clients: Clients; clientsIn?: (region: string) => Clients; incident: Pick<Incident, 'region'> }) {
  if (!region || region === ctx.incident.region) return ctx.clients.ec2;
  return ctx.clientsIn?.(region).ec2;
}

/** Checks one suspect: does it still exist, in what state, who owns it, may Firebreak touch it. */
async function check(change: Change, ctx: { clients: Clients; clientsIn?: (region: string) => Clients; config: Config; incident: Incident; principals: Principals }): Promise<Checked> {
  const { clients, config, incident, principals } = ctx;
  const iam = clients.iam;
  const ec2 = ec2In(change.region, ctx);
  const unreachable: Checked = { exists: null, note: `in ${change.region}: this context has clients for ${incident.region} only` };
  const owner = async (): Promise<Pick<Checked, 'ownerArn' | 'protectedBy'> & { gone?: true }> => {
    if (change.role) {
      const role = await principals.role(change.role);
      const arns = principalArns(incident, 'role', change.role, role?.arn);
      const own = role && role.tags[FIREBREAK_COMPONENT_TAG] !== undefined ? `Firebreak's own role (tag ${FIREBREAK_COMPONENT_TAG})` : undefined;
      const service = role?.path.startsWith('/aws-service-role/') ? 'a service-linked role' : undefined;
      const by = own ?? service ?? protectedBy(config.protectedPrincipals, arns);
      return { ...(role ? { ownerArn: role.arn } : { gone: true as const }), ...(by ? { protectedBy: by } : {}) };
    }
    if (change.user) {
      const user = await principals.user(change.user);
      const by = protectedBy(config.protectedPrincipals, principalArns(incident, 'user', change.user, user?.arn));
      return { ...(user ? { ownerArn: user.arn } : { gone: true as const }), ...(by ? { protectedBy: by } : {}) };
    }
    return {};
  };
  const ownerGone = (what: string): Checked => ({ exists: false, note: `its ${what} no longer exists` });

  return guarded(async () => {
    switch (change.kind as SuspectKind) {
      case 'instance': {
        if (!ec2) return unreachable;
        const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: [change.id] }] }));
        const instance = out.Reservations?.flatMap((r) => r.Instances ?? [])[0];
        const state = instance?.State?.Name;
        if (!state || state === 'terminated') return { exists: false, ...(state ? { state } : {}) };
        const exempt = (instance?.Tags ?? []).some((t) => t.Key === config.exemptTagKey) ? `the exemption tag ${config.exemptTagKey}` : undefined;
        const by = exempt ?? protectedBy(config.protectedResources, [change.id, `arn:${incident.partition}:ec2:${change.region ?? incident.region}:${incident.accountId}:instance/${change.id}`]);
        return { exists: true, state, ...(by ? { protectedBy: by } : {}) };
      }
      case 'iam-user': {
        const o = await owner();
        return o.gone ? { exists: false } : { exists: true, ...o };
      }
      case 'iam-role':
      case 'trust-policy': {
        const o = await owner();
        return o.gone ? { exists: false } : { exists: true, ...o };
      }
      case 'access-key': {
        if (!change.user) return { exists: null, note: 'the event does not name the key\'s user' };
        const o = await owner();
        if (o.gone) return ownerGone('user');
        const keys = (await iam.send(new ListAccessKeysCommand({ UserName: change.user }))).AccessKeyMetadata ?? [];
        const key = keys.find((k) => k.AccessKeyId === change.id);
        return key ? { exists: true, ...(key.Status ? { state: key.Status } : {}), ...o } : { exists: false, ...o };
      }
      case 'login-profile': {
        const o = await owner();
        if (o.gone) return ownerGone('user');
        try {
          await iam.send(new GetLoginProfileCommand({ UserName: change.user }));
          return { exists: true, ...o };
        } catch (error) {
          if (hasErrorCode(error, ...NO_SUCH_ENTITY)) return { exists: false, ...o };
          throw error;
        }
      }
      case 'managed-policy': {
        try {
          const p = (await iam.send(new GetPolicyCommand({ PolicyArn: change.id }))).Policy;
          return { exists: true, ...(p?.DefaultVersionId ? { state: `default ${p.DefaultVersionId}` } : {}) };
        } catch (error) {
          if (hasErrorCode(error, ...NO_SUCH_ENTITY)) return { exists: false };
          throw error;
        }
      }
      case 'policy-version': {
        try {
          const v = (await iam.send(new GetPolicyVersionCommand({ PolicyArn: change.policyArn, VersionId: change.version }))).PolicyVersion;
          return { exists: true, state: v?.IsDefaultVersion ? 'default' : 'not default' };
        } catch (error) {
          if (hasErrorCode(error, ...NO_SUCH_ENTITY)) return { exists: false };
          throw error;
        }
      }
      case 'policy-attachment': {
        const o = await owner();
        if (o.gone) return ownerGone(change.role ? 'role' : 'user');
        const attached = change.role
          ? (await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: change.role, MaxItems: 1000 }))).AttachedPolicies
          : change.group
            ? (await iam.send(new ListAttachedGroupPoliciesCommand({ GroupName: change.group, MaxItems: 1000 }))).AttachedPolicies
            : (await iam.send(new ListAttachedUserPoliciesCommand({ UserName: change.user, MaxItems: 1000 }))).AttachedPolicies;
        const still = (attached ?? []).some((p) => p.PolicyArn === change.policyArn);
        return { exists: still, state: still ? 'attached' : 'detached', ...o };
      }
      case 'inline-policy': {
        const o = await owner();
        if (o.gone) return ownerGone(change.role ? 'role' : 'user');
        try {
          if (change.role) await iam.send(new GetRolePolicyCommand({ RoleName: change.role, PolicyName: change.policyName }));
          else if (change.group) await iam.send(new GetGroupPolicyCommand({ GroupName: change.group, PolicyName: change.policyName }));
          else await iam.send(new GetUserPolicyCommand({ UserName: change.user, PolicyName: change.policyName }));
          return { exists: true, ...o };
        } catch (error) {
          if (hasErrorCode(error, ...NO_SUCH_ENTITY)) return { exists: false, ...o };
          throw error;
        }
      }
      case 'mfa-device': {
        if (!change.user) return { exists: null, note: 'not enabled on a user by the events read: check the virtual MFA devices by hand' };
        const o = await owner();
        if (o.gone) return ownerGone('user');
        const devices = (await iam.send(new ListMFADevicesCommand({ UserName: change.user }))).MFADevices ?? [];
        return { exists: devices.some((d) => d.SerialNumber === change.id), ...o };
      }
      case 'ssh-public-key': {
        const o = await owner();
        if (o.gone) return ownerGone('user');
        try {
          const k = (await iam.send(new GetSSHPublicKeyCommand({ UserName: change.user, SSHPublicKeyId: change.id, Encoding: 'SSH' }))).SSHPublicKey;
          return { exists: true, ...(k?.Status ? { state: k.Status } : {}), ...o };
        } catch (error) {
          if (hasErrorCode(error, ...NO_SUCH_ENTITY)) return { exists: false, ...o };
          throw error;
        }
      }
      case 'service-specific-credential': {
        const o = await owner();
        if (o.gone) return ownerGone('user');
        const creds = (await iam.send(new ListServiceSpecificCredentialsCommand({ UserName: change.user }))).ServiceSpecificCredentials ?? [];
        const c = creds.find((x) => x.ServiceSpecificCredentialId === change.id);
        return c ? { exists: true, ...(c.Status ? { state: c.Status } : {}), ...o } : { exists: false, ...o };
      }
      case 'signing-certificate': {
        const o = await owner();
        if (o.gone) return ownerGone('user');
        const certs = (await iam.send(new ListSigningCertificatesCommand({ UserName: change.user }))).Certificates ?? [];
        const c = certs.find((x) => x.CertificateId === change.id);
        return c ? { exists: true, ...(c.Status ? { state: c.Status } : {}), ...o } : { exists: false, ...o };
      }
      case 'group-membership': {
        const o = await owner();
        if (o.gone) return ownerGone('user');
        const groups = (await iam.send(new ListGroupsForUserCommand({ UserName: change.user }))).Groups ?? [];
        return { exists: groups.some((g) => g.GroupName === change.group), ...o };
      }
      case 'key-pair': {
        if (!ec2) return unreachable;
        try {
          const byId = change.id.startsWith('key-');
          const out = await ec2.send(new DescribeKeyPairsCommand(byId ? { KeyPairIds: [change.id] } : { KeyNames: [change.id] }));
          return { exists: (out.KeyPairs ?? []).length > 0 };
        } catch (error) {
          if (hasErrorCode(error, 'InvalidKeyPair.NotFound')) return { exists: false };
          throw error;
        }
      }
      case 'security-group': {
        if (!ec2) return unreachable;
        try {
          const out = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [change.id] }));
          return { exists: (out.SecurityGroups ?? []).length > 0 };
        } catch (error) {
          if (hasErrorCode(error, 'InvalidGroup.NotFound', 'InvalidGroupId.NotFound')) return { exists: false };
          throw error;
        }
      }
      case 'security-group-rule': {
        if (!ec2) return unreachable;
        try {
          const out = await ec2.send(new DescribeSecurityGroupRulesCommand({ SecurityGroupRuleIds: [change.id] }));
          return { exists: (out.SecurityGroupRules ?? []).length > 0 };
        } catch (error) {
          if (hasErrorCode(error, 'InvalidSecurityGroupRuleId.NotFound')) return { exists: false };
          throw error;
        }
      }
      case 'lambda-function':
        return { exists: null, note: 'Firebreak reads no Lambda functions: check it (and its triggers) by hand' };
    }
  });
}

/** Tags a suspect that takes tags (and that Firebreak may touch); the reason when it is not tagged. */
async function tagSuspect(s: Suspect, ctx: { clients: Clients; clientsIn?: (region: string) => Clients; incident: Incident }): Promise<{ tagged: boolean; note?: string }> {
  const { clients, incident } = ctx;
  const tag = { Key: SUSPECT_TAG, Value: incident.incidentId };
  // Only suspects that exist are tagged: an EC2 one was reached in its region by the check.
  const ec2 = ec2In(s.region, ctx)!;
  try {
    switch (s.kind) {
      case 'instance':
      case 'security-group':
        await ec2.send(new CreateTagsCommand({ Resources: [s.id], Tags: [tag] }));
        return { tagged: true };
      case 'key-pair':
        if (!s.id.startsWith('key-')) return { tagged: false, note: 'named, not by id: not tagged' };
        await ec2.send(new CreateTagsCommand({ Resources: [s.id], Tags: [tag] }));
        return { tagged: true };
      case 'iam-user':
        await clients.iam.send(new TagUserCommand({ UserName: s.id, Tags: [tag] }));
        return { tagged: true };
      case 'iam-role':
      case 'trust-policy':
        await clients.iam.send(new TagRoleCommand({ RoleName: s.role ?? s.id, Tags: [tag] }));
        return { tagged: true };
      case 'managed-policy':
        await clients.iam.send(new TagPolicyCommand({ PolicyArn: s.id, Tags: [tag] }));
        return { tagged: true };
      case 'mfa-device':
        if (!s.id.includes(':mfa/')) return { tagged: false };
        await clients.iam.send(new TagMFADeviceCommand({ SerialNumber: s.id, Tags: [tag] }));
        return { tagged: true };
      default:
        return { tagged: false };
    }
  } catch (error) {
    return { tagged: false, note: `tagging failed: ${classifyError(error).code}` };
  }
}

/** The latest change per resource: a key created then updated is one suspect. */
function suspectsOf(changes: readonly Change[]): Array<Change & { kind: SuspectKind }> {
  const byId = new Map<string, Change & { kind: SuspectKind }>();
  for (const c of changes) if (c.kind !== 'other') byId.set(`${c.kind}|${c.id}`, c as Change & { kind: SuspectKind });
  return [...byId.values()];
}

export interface ResourceReviewSpec<T extends PlaybookTypes> {
  /** The ledger name (default `reviewResources`). */
  name?: string;
  /** The playbook's CloudTrail review step: this one reads what it found. */
  trail: Step<T, TrailReviewData>;
  /** The playbook's `resource_review` options (absent: the defaults, tagging on). */
  settings?(options: T['options']): Partial<ResourceReviewOptions> | undefined;
  /**
   * Principals (ARN patterns, `*` any run) whose changes are not suspects, besides the protected
   * principals: e.g. Firebreak's own sessions when the account playbook reviews every write.
   */
  ignoreChangesBy?(ctx: StepContext<T, ResourceReviewData>): string[];
}

/**
 * The resource and persistence review (stage `investigate`, after the CloudTrail review): lists,
 * checks and tags what the principal created or changed, and writes the report with the commands
 * to delete each. Changes nothing else; runs in every containing mode.
 *
 * @example
 * ```ts
 * export const reviewResources = resourceReview(iamUserStep, { trail: reviewCloudTrail, settings: (o) => o.resource_review });
 * ```
 */
export function resourceReview<T extends PlaybookTypes>(define: StepConstructor<T>, spec: ResourceReviewSpec<T>): Step<T, ResourceReviewData> {
  return define<ResourceReviewData>({
    name: spec.name ?? 'reviewResources',
    stage: 'investigate',
    description: 'Review the resources the principal created or changed (persistence): check each still exists, tag it firebreak:suspect, and report the commands to delete it',
    iamActions: RESOURCE_REVIEW_IAM_ACTIONS,
    requires: [spec.trail],
    data: ResourceReviewDataSchema,
    async run(ctx) {
      const trail = ctx.outputOf(spec.trail);
      if (!trail) return { status: 'skipped', summary: 'the CloudTrail review read nothing, so there is nothing to review' };
      const tagging = spec.settings?.(ctx.options)?.tag_suspects ?? true;
      // What a protected principal (a break-glass role, Firebreak itself) did is not the attacker's.
      const trusted = [...ctx.config.protectedPrincipals, ...(spec.ignoreChangesBy?.(ctx) ?? [])];
      const byTrusted = (c: Change) => c.by !== undefined && trusted.some((p) => matchesPattern(p, c.by!));
      const ignored = trail.activity.changes.filter(byTrusted).length;
      const candidates = suspectsOf(trail.activity.changes.filter((c) => !byTrusted(c)));
      const otherChanges = trail.activity.changes.filter((c) => c.kind === 'other').length;
      const principals = new Principals(ctx.clients.iam);
      const suspects: Suspect[] = [];
      for (const change of candidates) {
        const checked = await check(change, { clients: ctx.clients, ...(ctx.clientsIn ? { clientsIn: ctx.clientsIn } : {}), config: ctx.config, incident: ctx.incident, principals });
        let suspect: Suspect = { ...change, tagged: false, ...checked };
        if (tagging && checked.exists === true && !checked.protectedBy) {
          const t = await tagSuspect(suspect, { clients: ctx.clients, ...(ctx.clientsIn ? { clientsIn: ctx.clientsIn } : {}), incident: ctx.incident });
          suspect = { ...suspect, tagged: t.tagged, ...(t.note ? { note: [suspect.note, t.note].filter(Boolean).join('; ') } : {}) };
        }
        suspects.push(suspect);
      }
      const report = {
        kind: 'firebreak-resource-review',
        incidentId: ctx.incident.incidentId,
        accountId: ctx.incident.accountId,
        note: 'Firebreak deletes nothing. Check each suspect is the attacker\'s, then run its commands (in the account and region named).',
        suspects: suspects.map((s) => ({ ...s, deleteCommands: deleteCommands(s) })),
        otherChanges: trail.activity.changes.filter((c) => c.kind === 'other'),
        truncated: trail.truncated ?? null,
      };
      const json = await ctx.evidence.putJson(ctx.incident.incidentId, 'resource-review/report.json', report);
      const markdown = await ctx.evidence.putText(ctx.incident.incidentId, 'resource-review/report.md', resourceMarkdown(ctx.incident, suspects, trail.truncated), 'text/markdown; charset=utf-8');
      const existing = suspects.filter((s) => s.exists === true);
      const kinds = [...new Set(existing.map((s) => s.kind))].join(', ');
      const guardedCount = suspects.filter((s) => s.protectedBy).length;
      const summary =
        suspects.length === 0
          ? `the principal created or changed nothing the review checks${otherChanges ? ` (${otherChanges} other writes are in the CloudTrail report)` : ''}`
          : `${suspects.length} suspect resources from the CloudTrail review, ${existing.length} still there${kinds ? ` (${kinds})` : ''}; ${suspects.filter((s) => s.tagged).length} tagged ${SUSPECT_TAG}` +
            `${guardedCount ? `; ${guardedCount} protected, left alone` : ''}; the commands to delete each are in ${markdown.key}`;
      const dropped = trail.activity.changesDropped ? `; ${trail.activity.changesDropped} more changes were past the CloudTrail review's limit of ${ACTIVITY_LIMITS.changes} and are not reviewed (they are in its evidence parts)` : '';
      const note = `${ignored ? ` (${ignored} changes by protected or ignored principals not counted)` : ''}${dropped}`;
      return { status: 'done', summary: `${summary}${note}`, data: { suspects, otherChanges, ignoredChanges: ignored, report: { json, markdown } }, evidence: [json, markdown] };
    },
  });
}

function resourceMarkdown(incident: Incident, suspects: readonly Suspect[], truncated?: string): string {
  const cell = (v: string) => v.replace(/[\r\n]+/g, ' ').replace(/([|`*_[\]<>])/g, '\\$1');
  const lines = [`# Resources created or changed by ${cell(incident.resource.id)} (${incident.incidentId})`, '', 'Firebreak deletes nothing: check each is the attacker\'s, then run its commands.', ''];
  if (truncated) lines.push(`**The CloudTrail review was truncated** (${cell(truncated)}): there may be more.`, '');
  for (const s of suspects) {
    const status = s.exists === null ? `not checked${s.note ? ` (${cell(s.note)})` : ''}` : s.exists ? `exists${s.state ? `, ${s.state}` : ''}` : 'gone';
    lines.push(`## ${s.kind}: ${cell(s.id)}`, '', `- ${cell(s.eventName)} at ${s.eventTime}${s.region ? ` in ${s.region}` : ''}; ${status}${s.tagged ? `; tagged ${SUSPECT_TAG}` : ''}`);
    if (s.protectedBy) lines.push(`- protected (${cell(s.protectedBy)}): Firebreak leaves it alone`);
    const commands = deleteCommands(s);
    if (commands.length && s.exists !== false) lines.push('', '```sh', ...commands.map((c) => c.replace(/```/g, '')), '```');
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

// --- Neutralisation (full mode) ---------------------------------------------------------------

const NEUTRALISED_ACTIONS = ['stopped', 'deactivated', 'login-profile-deleted', 'deny-policy-attached', 'detached'] as const;

const NeutralisedSchema = z.object({
  kind: z.enum(SUSPECT_KINDS),
  id: z.string(),
  user: z.string().optional(),
  role: z.string().optional(),
  group: z.string().optional(),
  policyArn: z.string().optional(),
  policyName: z.string().optional(),
  /** The region of an EC2 suspect (absent: the incident's). */
  region: z.string().optional(),
  action: z.enum(NEUTRALISED_ACTIONS),
  at: z.string(),
});
export type Neutralised = z.infer<typeof NeutralisedSchema>;

export const NeutraliseDataSchema = z.object({
  changed: z.array(NeutralisedSchema),
  /** Suspects left as they are, and why (gone, protected, a kind Firebreak cannot neutralise reversibly). */
  left: z.array(z.object({ kind: z.string(), id: z.string(), reason: z.string() })),
  failed: z.array(z.object({ kind: z.string(), id: z.string(), error: z.string() })),
});
export type NeutraliseData = z.infer<typeof NeutraliseDataSchema>;

/** The inline policy that denies a suspect user or role everything, one per incident. */
export const suspectPolicyName = (incidentId: string): string => `FirebreakSuspect-${incidentId}`;
const DENY_ALL = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'FirebreakSuspect', Effect: 'Deny', Action: '*', Resource: '*' }] });

/** Why a kind is never neutralised automatically. */
const NOT_NEUTRALISED: Partial<Record<SuspectKind, string>> = {
  'trust-policy': 'the trust policy before the change is not in the event; restore it by hand (the report gives the commands)',
  'managed-policy': 'a policy is harmless until attached; its attachments are reviewed on their own',
  'policy-version': 'which version to restore is a human decision (and the permissions boundary denies Firebreak SetDefaultPolicyVersion)',
  'inline-policy': 'an inline policy cannot be set aside without deleting it; the report gives the command',
  'mfa-device': 'an MFA device cannot be re-enabled without the device itself',
  'group-membership': 'removing a user from a group cannot be told apart from a human\'s change at release; the report gives the command',
  'lambda-function': 'Firebreak reads no Lambda functions; the report gives the command',
  'key-pair': 'deleting a key pair cannot be undone (and its key stays in authorized_keys); the report gives the command',
  'security-group': 'the group is harmless once its rules are reviewed',
  'security-group-rule': 'revoking a rule cannot be undone with the same rule id; the report gives the command',
};

export const NEUTRALISE_IAM_ACTIONS = [
  'ec2:DescribeInstanceAttribute',
  'ec2:StopInstances',
  'iam:UpdateAccessKey',
  'iam:DeleteLoginProfile',
  'iam:PutUserPolicy',
  'iam:PutRolePolicy',
  'iam:DetachUserPolicy',
  'iam:DetachRolePolicy',
  'iam:DetachGroupPolicy',
  'iam:UpdateSSHPublicKey',
  'iam:UpdateServiceSpecificCredential',
  'iam:UpdateSigningCertificate',
] as const;

export const RESTORE_IAM_ACTIONS = [
  'ec2:DescribeInstances',
  'ec2:StartInstances',
  'iam:ListAccessKeys',
  'iam:UpdateAccessKey',
  'iam:GetLoginProfile',
  'iam:CreateLoginProfile',
  'secretsmanager:CreateSecret',
  'secretsmanager:TagResource',
  'secretsmanager:PutSecretValue',
  'iam:DeleteUserPolicy',
  'iam:DeleteRolePolicy',
  'iam:ListAttachedUserPolicies',
  'iam:ListAttachedRolePolicies',
  'iam:ListAttachedGroupPolicies',
  'iam:AttachUserPolicy',
  'iam:AttachRolePolicy',
  'iam:AttachGroupPolicy',
  'iam:GetSSHPublicKey',
  'iam:UpdateSSHPublicKey',
  'iam:ListServiceSpecificCredentials',
  'iam:UpdateServiceSpecificCredential',
  'iam:ListSigningCertificates',
  'iam:UpdateSigningCertificate',
] as const;

/** Neutralises one suspect; returns what it did (for the undo) or why it left it. */
async function neutralise(s: Suspect, ctx: StepContext<PlaybookTypes, NeutraliseData>): Promise<{ done: Omit<Neutralised, 'at'> } | { left: string }> {
  const { clients, incident } = ctx;
  const ref = { kind: s.kind, id: s.id, ...(s.user ? { user: s.user } : {}), ...(s.role ? { role: s.role } : {}), ...(s.group ? { group: s.group } : {}), ...(s.policyArn ? { policyArn: s.policyArn } : {}) };
  const reason = NOT_NEUTRALISED[s.kind];
  if (reason) return { left: reason };
  switch (s.kind) {
    case 'instance': {
      if (s.state !== 'running' && s.state !== 'pending') return { left: `it is ${s.state ?? 'in an unknown state'}` };
      const ec2 = ec2In(s.region, ctx);
      if (!ec2) return { left: `in ${s.region}: this context has clients for ${incident.region} only` };
      const attr = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: s.id, Attribute: 'disableApiStop' }));
      // Someone turned stop protection on (its owner, or the attacker): lifting it is a human's call.
      if (attr.DisableApiStop?.Value) return { left: 'stop protection is on: not lifted; stop it by hand after checking who set it' };
      await ec2.send(new StopInstancesCommand({ InstanceIds: [s.id] }));
      return { done: { ...ref, ...(s.region && s.region !== incident.region ? { region: s.region } : {}), action: 'stopped' } };
    }
    case 'access-key':
      if (s.state !== 'Active') return { left: `it is ${s.state ?? 'in an unknown state'}` };
      await clients.iam.send(new UpdateAccessKeyCommand({ UserName: s.user, AccessKeyId: s.id, Status: 'Inactive' }));
      return { done: { ...ref, action: 'deactivated' } };
    case 'ssh-public-key':
      if (s.state !== 'Active') return { left: `it is ${s.state ?? 'in an unknown state'}` };
      await clients.iam.send(new UpdateSSHPublicKeyCommand({ UserName: s.user, SSHPublicKeyId: s.id, Status: 'Inactive' }));
      return { done: { ...ref, action: 'deactivated' } };
    case 'service-specific-credential':
      if (s.state !== 'Active') return { left: `it is ${s.state ?? 'in an unknown state'}` };
      await clients.iam.send(new UpdateServiceSpecificCredentialCommand({ UserName: s.user, ServiceSpecificCredentialId: s.id, Status: 'Inactive' }));
      return { done: { ...ref, action: 'deactivated' } };
    case 'signing-certificate':
      if (s.state !== 'Active') return { left: `it is ${s.state ?? 'in an unknown state'}` };
      await clients.iam.send(new UpdateSigningCertificateCommand({ UserName: s.user, CertificateId: s.id, Status: 'Inactive' }));
      return { done: { ...ref, action: 'deactivated' } };
    case 'login-profile':
      await clients.iam.send(new DeleteLoginProfileCommand({ UserName: s.user }));
      return { done: { ...ref, action: 'login-profile-deleted' } };
    case 'iam-user':
      await clients.iam.send(new PutUserPolicyCommand({ UserName: s.id, PolicyName: suspectPolicyName(incident.incidentId), PolicyDocument: DENY_ALL }));
      return { done: { ...ref, policyName: suspectPolicyName(incident.incidentId), action: 'deny-policy-attached' } };
    case 'iam-role':
      await clients.iam.send(new PutRolePolicyCommand({ RoleName: s.role ?? s.id, PolicyName: suspectPolicyName(incident.incidentId), PolicyDocument: DENY_ALL }));
      return { done: { ...ref, policyName: suspectPolicyName(incident.incidentId), action: 'deny-policy-attached' } };
    case 'policy-attachment':
      if (s.role) await clients.iam.send(new DetachRolePolicyCommand({ RoleName: s.role, PolicyArn: s.policyArn }));
      else if (s.group) await clients.iam.send(new DetachGroupPolicyCommand({ GroupName: s.group, PolicyArn: s.policyArn }));
      else await clients.iam.send(new DetachUserPolicyCommand({ UserName: s.user, PolicyArn: s.policyArn }));
      return { done: { ...ref, action: 'detached' } };
    default:
      return { left: 'not a kind Firebreak neutralises' };
  }
}

export interface NeutraliseSpec<T extends PlaybookTypes> {
  /** The ledger name (default `neutraliseSuspects`; its undo: `restoreSuspects`). */
  name?: string;
  /** The playbook's resource review step. */
  review: Step<T, ResourceReviewData>;
  /** The playbook's `resource_review` options (absent: the defaults, neutralising on). */
  settings?(options: T['options']): Partial<ResourceReviewOptions> | undefined;
  /**
   * The option path that switches neutralisation (and its grants) on, as Terraform spells it,
   * e.g. `resource_review.neutralise`: without it set, the function is not granted these actions.
   */
  enabledBy?: string;
}

/**
 * Neutralises every suspect the resource review found, reversibly (stage `investigate`, `full`
 * mode only): instances stopped (never terminated; not when stop protection is on), access keys,
 * SSH keys, service-specific credentials and signing certificates deactivated, login profiles
 * removed, policies the principal attached detached, users and roles it created denied
 * everything by an inline policy. Never a protected principal or resource, Firebreak's own roles
 * or a service-linked role. Its undo restores each, leaving alone what a human changed since.
 *
 * @example
 * ```ts
 * export const neutralise = neutraliseSuspects(iamUserStep, { review: reviewResources, settings: (o) => o.resource_review, enabledBy: 'resource_review.neutralise' });
 * ```
 */
export function neutraliseSuspects<T extends PlaybookTypes>(define: StepConstructor<T>, spec: NeutraliseSpec<T>): Step<T, NeutraliseData> {
  return define<NeutraliseData>({
    name: spec.name ?? 'neutraliseSuspects',
    stage: 'investigate',
    description: 'Neutralise what the principal created or changed, reversibly (full mode): stop instances, deactivate keys and credentials, remove login profiles, detach policies, deny created users and roles everything; never delete',
    iamActions: NEUTRALISE_IAM_ACTIONS,
    minimumMode: 'full',
    ...(spec.enabledBy ? { enabledBy: [spec.enabledBy] } : {}),
    requires: [spec.review],
    data: NeutraliseDataSchema,
    async run(ctx) {
      if (spec.settings?.(ctx.options)?.neutralise === false) return { status: 'skipped', summary: 'resource_review.neutralise is off: the suspects are listed and tagged only' };
      const review = ctx.outputOf(spec.review);
      if (!review || review.suspects.length === 0) return { status: 'skipped', summary: 'the resource review found no suspect to neutralise' };
      const data: NeutraliseData = { changed: [], left: [], failed: [] };
      for (const s of review.suspects) {
        if (s.protectedBy) {
          data.left.push({ kind: s.kind, id: s.id, reason: `protected: ${s.protectedBy}` });
          continue;
        }
        if (s.exists !== true) {
          data.left.push({ kind: s.kind, id: s.id, reason: s.exists === false ? 'gone' : `not checked${s.note ? ` (${s.note})` : ''}` });
          continue;
        }
        try {
          const outcome = await neutralise(s, ctx as unknown as StepContext<PlaybookTypes, NeutraliseData>);
          if ('done' in outcome) data.changed.push({ ...outcome.done, at: ctx.now().toISOString() });
          else data.left.push({ kind: s.kind, id: s.id, reason: outcome.left });
        } catch (error) {
          const c = classifyError(error);
          data.failed.push({ kind: s.kind, id: s.id, error: `${c.code}: ${c.message.slice(0, 200)}` });
        }
      }
      if (data.changed.length === 0 && data.failed.length > 0) {
        const first = data.failed[0]!;
        throw new StepFailedError('neutraliseSuspects', 'NeutraliseFailed', `no suspect could be neutralised; ${first.kind} ${first.id}: ${first.error}`, { retryable: false });
      }
      const counts = NEUTRALISED_ACTIONS.map((a) => [a, data.changed.filter((c) => c.action === a).length] as const).filter(([, n]) => n > 0);
      const did = counts.length ? counts.map(([a, n]) => `${n} ${a}`).join(', ') : 'nothing changed';
      return {
        status: 'done',
        summary: `suspects neutralised reversibly: ${did}; ${data.left.length} left as they are${data.failed.length ? `; ${data.failed.length} FAILED (${data.failed.map((f) => `${f.kind} ${f.id}`).join(', ')})` : ''}`,
        data,
      };
    },
    undo: {
      name: 'restoreSuspects',
      description: 'Bring back what the resource review neutralised: start instances, reactivate keys and credentials, recreate login profiles (a new random password in Secrets Manager, reset required), re-attach policies, remove the deny policies',
      iamActions: RESTORE_IAM_ACTIONS,
      run: (ctx) => restoreSuspects(ctx),
    },
  });
}

/** A random console password meeting IAM's strictest policy (upper, lower, digit, symbol; 32 characters). */
export function randomPassword(): string {
  const sets = ['ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz', '23456789', '!@#$%^&*()_+-=[]{}'];
  const all = sets.join('');
  const chars = sets.map((s) => s[randomInt(s.length)]!);
  while (chars.length < 32) chars.push(all[randomInt(all.length)]!);
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}

/** The secret a recreated login profile's password is kept in. */
export const loginPasswordSecretName = (incidentId: string, userName: string): string => `firebreak/${incidentId}/login-profile/${userName}`;

async function restoreOne(c: Neutralised, ctx: UndoContext<PlaybookTypes, NeutraliseData>): Promise<string> {
  const { clients, incident } = ctx;
  const iam = clients.iam;
  const gone = (what: string) => `${c.kind} ${c.id}: ${what} no longer exists, nothing to restore`;
  const tryIam = async <R>(run: () => Promise<R>): Promise<R | 'gone'> => {
    try {
      return await run();
    } catch (error) {
      if (hasErrorCode(error, ...NO_SUCH_ENTITY)) return 'gone';
      throw error;
    }
  };
  switch (c.action) {
    case 'stopped': {
      const ec2 = ec2In(c.region, ctx);
      if (!ec2) return `instance ${c.id} in ${c.region}: this release reaches ${incident.region} only; start it by hand`;
      const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: [c.id] }] }));
      const state = out.Reservations?.flatMap((r) => r.Instances ?? [])[0]?.State?.Name;
      if (!state || state === 'terminated') return gone('the instance');
      if (state !== 'stopped') return `instance ${c.id} is ${state} (someone changed it since): left alone`;
      await ec2.send(new StartInstancesCommand({ InstanceIds: [c.id] }));
      return `instance ${c.id} started`;
    }
    case 'deactivated': {
      if (c.kind === 'access-key') {
        const keys = await tryIam(() => iam.send(new ListAccessKeysCommand({ UserName: c.user })));
        if (keys === 'gone') return gone('its user');
        const key = keys.AccessKeyMetadata?.find((k) => k.AccessKeyId === c.id);
        if (!key) return gone('the access key');
        if (key.Status !== 'Inactive') return `access key ${c.id} is ${key.Status} (someone changed it since): left alone`;
        await iam.send(new UpdateAccessKeyCommand({ UserName: c.user, AccessKeyId: c.id, Status: 'Active' }));
        return `access key ${c.id} of ${c.user} reactivated`;
      }
      if (c.kind === 'ssh-public-key') {
        const key = await tryIam(() => iam.send(new GetSSHPublicKeyCommand({ UserName: c.user, SSHPublicKeyId: c.id, Encoding: 'SSH' })));
        if (key === 'gone') return gone('the SSH public key');
        if (key.SSHPublicKey?.Status !== 'Inactive') return `SSH public key ${c.id} is ${key.SSHPublicKey?.Status} (someone changed it since): left alone`;
        await iam.send(new UpdateSSHPublicKeyCommand({ UserName: c.user, SSHPublicKeyId: c.id, Status: 'Active' }));
        return `SSH public key ${c.id} of ${c.user} reactivated`;
      }
      if (c.kind === 'service-specific-credential') {
        const list = await tryIam(() => iam.send(new ListServiceSpecificCredentialsCommand({ UserName: c.user })));
        const cred = list === 'gone' ? undefined : list.ServiceSpecificCredentials?.find((x) => x.ServiceSpecificCredentialId === c.id);
        if (!cred) return gone('the service-specific credential');
        if (cred.Status !== 'Inactive') return `service-specific credential ${c.id} is ${cred.Status} (someone changed it since): left alone`;
        await iam.send(new UpdateServiceSpecificCredentialCommand({ UserName: c.user, ServiceSpecificCredentialId: c.id, Status: 'Active' }));
        return `service-specific credential ${c.id} of ${c.user} reactivated`;
      }
      const list = await tryIam(() => iam.send(new ListSigningCertificatesCommand({ UserName: c.user })));
      const cert = list === 'gone' ? undefined : list.Certificates?.find((x) => x.CertificateId === c.id);
      if (!cert) return gone('the signing certificate');
      if (cert.Status !== 'Inactive') return `signing certificate ${c.id} is ${cert.Status} (someone changed it since): left alone`;
      await iam.send(new UpdateSigningCertificateCommand({ UserName: c.user, CertificateId: c.id, Status: 'Active' }));
      return `signing certificate ${c.id} of ${c.user} reactivated`;
    }
    case 'login-profile-deleted': {
      const user = c.user ?? c.id;
      const existing = await tryIam(() => iam.send(new GetLoginProfileCommand({ UserName: user })));
      if (existing !== 'gone') return `user ${user} has a login profile again (someone recreated it): left alone`;
      // A deleted password cannot come back: a new random one, kept in Secrets Manager, to be changed at first sign-in.
      const password = randomPassword();
      const name = loginPasswordSecretName(incident.incidentId, user);
      const secret = JSON.stringify({ userName: user, password, passwordResetRequired: true });
      try {
        // Tagged with the incident at creation: Firebreak may write only the secrets it made (shared/iam).
        await clients.secretsManager.send(
          new CreateSecretCommand({ Name: name, SecretString: secret, Description: `Firebreak ${incident.incidentId}: the console password of ${user} after release`, Tags: [{ Key: INCIDENT_ID_TAG, Value: incident.incidentId }] }),
        );
      } catch (error) {
        if (!hasErrorCode(error, 'ResourceExistsException')) throw error;
        await clients.secretsManager.send(new PutSecretValueCommand({ SecretId: name, SecretString: secret }));
      }
      const created = await tryIam(() => iam.send(new CreateLoginProfileCommand({ UserName: user, Password: password, PasswordResetRequired: true })));
      if (created === 'gone') return gone('the user');
      return `login profile of ${user} recreated with a new random password (secret ${name}); it must be changed at the next sign-in`;
    }
    case 'deny-policy-attached': {
      const policyName = c.policyName ?? suspectPolicyName(incident.incidentId);
      const removed = await tryIam(() =>
        c.kind === 'iam-role' ? iam.send(new DeleteRolePolicyCommand({ RoleName: c.role ?? c.id, PolicyName: policyName })) : iam.send(new DeleteUserPolicyCommand({ UserName: c.id, PolicyName: policyName })),
      );
      return removed === 'gone' ? `${policyName} was already gone from ${c.kind} ${c.id}` : `removed ${policyName} from ${c.kind} ${c.id}`;
    }
    case 'detached': {
      const owner = c.role ? `role ${c.role}` : c.group ? `group ${c.group}` : `user ${c.user}`;
      const attached = await tryIam(() =>
        c.role
          ? iam.send(new ListAttachedRolePoliciesCommand({ RoleName: c.role, MaxItems: 1000 }))
          : c.group
            ? iam.send(new ListAttachedGroupPoliciesCommand({ GroupName: c.group, MaxItems: 1000 }))
            : iam.send(new ListAttachedUserPoliciesCommand({ UserName: c.user, MaxItems: 1000 })),
      );
      if (attached === 'gone') return gone(owner);
      if ((attached.AttachedPolicies ?? []).some((p) => p.PolicyArn === c.policyArn)) return `${c.policyArn} is attached to ${owner} again (someone re-attached it): left alone`;
      if (c.role) await iam.send(new AttachRolePolicyCommand({ RoleName: c.role, PolicyArn: c.policyArn }));
      else if (c.group) await iam.send(new AttachGroupPolicyCommand({ GroupName: c.group, PolicyArn: c.policyArn }));
      else await iam.send(new AttachUserPolicyCommand({ UserName: c.user, PolicyArn: c.policyArn }));
      return `re-attached ${c.policyArn} to ${owner}`;
    }
  }
}

async function restoreSuspects<T extends PlaybookTypes>(ctx: UndoContext<T, NeutraliseData>): Promise<ReleaseResult> {
  const results: string[] = [];
  // In reverse order: a user's deny policy comes off after its keys come back, as they were taken.
  for (const c of [...ctx.recorded.changed].reverse()) results.push(await restoreOne(c, ctx as unknown as UndoContext<PlaybookTypes, NeutraliseData>));
  if (results.length === 0) return { status: 'skipped', summary: 'the resource review neutralised nothing' };
  return {
    status: 'done',
    summary: `restored what the resource review neutralised: ${results.join('; ')}. The suspects stay tagged ${SUSPECT_TAG}; deleting them is a human's decision (resource-review/report.md)`,
    data: { results },
    keptProtections: [`${SUSPECT_TAG} tags`],
  };
}
