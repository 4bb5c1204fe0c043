import {
  GetRoleCommand,
  ListAttachedRolePoliciesCommand,
  ListInstanceProfilesForRoleCommand,
  ListRolePoliciesCommand,
  type IAMClient,
  type Role as AwsRole,
} from '@aws-sdk/client-iam';
import * as z from 'zod';
import { assumedRoleArn, parsePolicyDocument } from '../../actions/role-sessions.ts';
import type { Config } from '../../config/index.ts';
import { matchesPattern, type DescribeContext } from '../../engine/index.ts';
import { hasErrorCode, ResourceNotFoundError } from '../../errors/index.ts';
import type { Incident } from '../../findings/index.ts';

/** An identity provider a role's trust policy admits (`Federated`), by the API that assumes it. */
export interface FederatedProvider {
  /** `saml`: sts:AssumeRoleWithSAML; `oidc`: sts:AssumeRoleWithWebIdentity (an IAM OIDC provider or a well-known one). */
  kind: 'saml' | 'oidc';
  /** As the trust policy names it: a provider ARN (`arn:aws:iam::…:saml-provider/Okta`) or a host (`accounts.google.com`). */
  provider: string;
}

/** How people reach the role from outside IAM, as its name, path and trust policy say. */
export interface RoleFederation {
  /** A role IAM Identity Center created for a permission set (`AWSReservedSSO_<permission set>_<hex>`): only AWS may change it. */
  identityCenter?: { permissionSet: string };
  providers: FederatedProvider[];
}

/** An IAM role as the playbook sees it. */
export interface IamRole {
  roleName: string;
  roleId: string;
  arn: string;
  path: string;
  /** The trust policy, parsed (IAM returns it URL-encoded). */
  trustPolicy: unknown;
  tags: Record<string, string>;
  maxSessionDuration?: number;
  lastUsed?: { date?: string; region?: string };
  attachedPolicies: Array<{ name: string; arn: string }>;
  inlinePolicyNames: string[];
  instanceProfiles: Array<{ name: string; arn: string }>;
  federation: RoleFederation;
  /** GetRole's answer, kept verbatim for the evidence bucket. */
  raw: AwsRole;
}

export const DESCRIBE_IAM_ACTIONS = ['iam:GetRole', 'iam:ListAttachedRolePolicies', 'iam:ListRolePolicies', 'iam:ListInstanceProfilesForRole'] as const;

const IDENTITY_CENTER_PATH = '/aws-reserved/sso.amazonaws.com/';
const IDENTITY_CENTER_NAME = /^AWSReservedSSO_(.+)_[0-9a-f]{16}$/;
const asList = (value: unknown): unknown[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/**
 * Who the role federates: IAM Identity Center (by its reserved name and path), and every SAML or
 * OIDC provider an Allow statement of the trust policy names under `Federated`.
 *
 * @example
 * ```ts
 * federationOf('AWSReservedSSO_Admin_0123456789abcdef', '/aws-reserved/sso.amazonaws.com/', trust)
 * // { identityCenter: { permissionSet: 'Admin' }, providers: [{ kind: 'saml', provider: 'arn:aws:iam::…:saml-provider/AWSSSO_…_DO_NOT_DELETE' }] }
 * ```
 */
export function federationOf(roleName: string, path: string, trustPolicy: unknown): RoleFederation {
  const providers = new Map<string, FederatedProvider>();
  for (const s of asList((trustPolicy as { Statement?: unknown } | undefined)?.Statement) as Array<{ Effect?: string; Principal?: unknown; Action?: unknown } | null>) {
    if (s?.Effect !== 'Allow' || typeof s.Principal !== 'object' || s.Principal === null) continue;
    const actions = asList(s.Action).map(String);
    for (const provider of asList((s.Principal as { Federated?: unknown }).Federated).map(String)) {
      const saml = provider.includes(':saml-provider/') || actions.includes('sts:AssumeRoleWithSAML');
      providers.set(provider, { kind: saml ? 'saml' : 'oidc', provider });
    }
  }
  const permissionSet = path.startsWith(IDENTITY_CENTER_PATH) ? IDENTITY_CENTER_NAME.exec(roleName)?.[1] : undefined;
  return { ...(permissionSet ? { identityCenter: { permissionSet } } : {}), providers: [...providers.values()].sort((a, b) => a.provider.localeCompare(b.provider)) };
}

/** The federation that decides what can be revoked: Identity Center first, then SAML, then OIDC. */
export function federationKind(federation: RoleFederation): 'identity-center' | 'saml' | 'oidc' | 'none' {
  if (federation.identityCenter) return 'identity-center';
  if (federation.providers.some((p) => p.kind === 'saml')) return 'saml';
  return federation.providers.length ? 'oidc' : 'none';
}

/** The session a finding names: `principalId` is `<role id>:<session name>` (for instance credentials the session name is the instance id). */
export interface FindingSession {
  principalId: string;
  roleId: string;
  sessionName: string;
}

/** The session of the finding's `principalId` hint; undefined for a manual finding or a principal id without a session. */
export function sessionOf(incident: Incident): FindingSession | undefined {
  const principalId = incident.resource.hints.principalId;
  if (typeof principalId !== 'string') return undefined;
  const at = principalId.indexOf(':');
  if (at <= 0 || at === principalId.length - 1) return undefined;
  return { principalId, roleId: principalId.slice(0, at), sessionName: principalId.slice(at + 1) };
}

/**
 * Every name the protected-principal list may use for the role: its ARN (with its path, and
 * without it as `arn:…:role/<name>` patterns are often written) and the finding's session ARN.
 */
export function rolePrincipals(incident: Incident, role: Pick<IamRole, 'arn' | 'roleName'>): string[] {
  const [, partition, , , account] = role.arn.split(':');
  const names = new Set([role.arn, `arn:${partition}:iam::${account}:role/${role.roleName}`]);
  const session = sessionOf(incident);
  if (session) names.add(assumedRoleArn(role.arn, session.sessionName));
  return [...names];
}

/**
 * Why the playbook must never change the role, or undefined: a protected principal, one of
 * Firebreak's own roles (`<name_prefix>-…`, and the member role it assumes in member accounts) —
 * responders would lock themselves out — or a service-linked role (only its service may change
 * it, and its sessions cannot be revoked).
 */
export function refusalOf(incident: Incident, role: Pick<IamRole, 'arn' | 'roleName' | 'path'>, config: Pick<Config, 'protectedPrincipals' | 'namePrefix' | 'members'>): string | undefined {
  const principals = rolePrincipals(incident, role);
  const protectedBy = config.protectedPrincipals.find((p) => principals.some((v) => matchesPattern(p, v)));
  if (protectedBy) return `role ${role.roleName} is a protected principal (matches ${protectedBy})`;
  if (role.roleName.startsWith(`${config.namePrefix}-`) || role.roleName === config.members.roleName) {
    return `role ${role.roleName} is one of Firebreak's own roles (${config.namePrefix}-*, ${config.members.roleName}): changing it would take the responders' tools away`;
  }
  if (role.path.startsWith('/aws-service-role/')) return `role ${role.roleName} is a service-linked role: only its service may change it, and AWS cannot revoke its sessions`;
  return undefined;
}

const NO_SUCH_ENTITY = ['NoSuchEntity', 'NoSuchEntityException'];

async function allPages<T>(fetch: (marker: string | undefined) => Promise<{ items: T[]; marker: string | undefined }>): Promise<T[]> {
  const out: T[] = [];
  let marker: string | undefined;
  do {
    const page = await fetch(marker);
    out.push(...page.items);
    marker = page.marker;
  } while (marker);
  return out;
}

/** GetRole, its attached and inline policies and its instance profiles; ResourceNotFoundError when the role is gone. */
export async function readRole(iam: IAMClient, roleName: string): Promise<IamRole> {
  let role: AwsRole | undefined;
  try {
    role = (await iam.send(new GetRoleCommand({ RoleName: roleName }))).Role;
  } catch (error) {
    if (hasErrorCode(error, ...NO_SUCH_ENTITY)) throw new ResourceNotFoundError(roleName, { cause: error });
    throw error;
  }
  if (!role?.Arn || !role.RoleId || !role.RoleName) throw new ResourceNotFoundError(roleName);
  const [attachedPolicies, inlinePolicyNames, instanceProfiles] = await Promise.all([
    allPages(async (Marker) => {
      const out = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName, ...(Marker ? { Marker } : {}) }));
      return { items: (out.AttachedPolicies ?? []).map((p) => ({ name: p.PolicyName ?? '', arn: p.PolicyArn ?? '' })), marker: out.IsTruncated ? out.Marker : undefined };
    }),
    allPages(async (Marker) => {
      const out = await iam.send(new ListRolePoliciesCommand({ RoleName: roleName, ...(Marker ? { Marker } : {}) }));
      return { items: out.PolicyNames ?? [], marker: out.IsTruncated ? out.Marker : undefined };
    }),
    allPages(async (Marker) => {
      const out = await iam.send(new ListInstanceProfilesForRoleCommand({ RoleName: roleName, ...(Marker ? { Marker } : {}) }));
      return { items: (out.InstanceProfiles ?? []).map((p) => ({ name: p.InstanceProfileName ?? '', arn: p.Arn ?? '' })), marker: out.IsTruncated ? out.Marker : undefined };
    }),
  ]);
  const path = role.Path ?? '/';
  const trustPolicy = parsePolicyDocument(role.AssumeRolePolicyDocument);
  const lastUsed = role.RoleLastUsed?.LastUsedDate
    ? { date: role.RoleLastUsed.LastUsedDate.toISOString(), ...(role.RoleLastUsed.Region ? { region: role.RoleLastUsed.Region } : {}) }
    : undefined;
  return {
    roleName: role.RoleName,
    roleId: role.RoleId,
    arn: role.Arn,
    path,
    trustPolicy,
    tags: Object.fromEntries((role.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
    ...(role.MaxSessionDuration ? { maxSessionDuration: role.MaxSessionDuration } : {}),
    ...(lastUsed ? { lastUsed } : {}),
    attachedPolicies,
    inlinePolicyNames,
    instanceProfiles,
    federation: federationOf(role.RoleName, path, trustPolicy),
    raw: role,
  };
}

/** Reads the role the finding names (its `userName`; a manual finding's id). */
export const describeRole = ({ incident, clients }: DescribeContext): Promise<IamRole> => readRole(clients.iam, incident.resource.id);

const FederationSchema = z.object({
  identityCenter: z.object({ permissionSet: z.string() }).optional(),
  providers: z.array(z.object({ kind: z.enum(['saml', 'oidc']), provider: z.string() })).default([]),
});

/**
 * The "before" state kept in the ledger at the first delivery (the engine adds `capturedAt`):
 * the role's policies, trust and tags before Firebreak added its own.
 */
export const IamRoleCaptureSchema = z
  .object({
    roleName: z.string(),
    roleId: z.string(),
    arn: z.string(),
    path: z.string().default('/'),
    trustPolicy: z.unknown().optional(),
    tags: z.record(z.string(), z.string()).default({}),
    attachedPolicies: z.array(z.object({ name: z.string(), arn: z.string() })).default([]),
    inlinePolicyNames: z.array(z.string()).default([]),
    instanceProfiles: z.array(z.object({ name: z.string(), arn: z.string() })).default([]),
    federation: FederationSchema.default({ providers: [] }),
    lastUsed: z.object({ date: z.string().optional(), region: z.string().optional() }).optional(),
    capturedAt: z.string().optional(),
  })
  .loose();

export type IamRoleCapture = z.infer<typeof IamRoleCaptureSchema>;

export function captureRole(r: IamRole): IamRoleCapture {
  return {
    roleName: r.roleName,
    roleId: r.roleId,
    arn: r.arn,
    path: r.path,
    trustPolicy: r.trustPolicy,
    tags: r.tags,
    attachedPolicies: r.attachedPolicies,
    inlinePolicyNames: r.inlinePolicyNames,
    instanceProfiles: r.instanceProfiles,
    federation: r.federation,
    ...(r.lastUsed ? { lastUsed: r.lastUsed } : {}),
  };
}
