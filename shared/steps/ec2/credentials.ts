import {
  DescribeIamInstanceProfileAssociationsCommand,
  DescribeInstancesCommand,
  DisassociateIamInstanceProfileCommand,
  ReplaceIamInstanceProfileAssociationCommand,
  type EC2Client,
  type Filter,
  type IamInstanceProfileAssociation,
} from '@aws-sdk/client-ec2';
import {
  GetInstanceProfileCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  ListInstanceProfilesForRoleCommand,
  PutRolePolicyCommand,
  type IAMClient,
} from '@aws-sdk/client-iam';
import { hasErrorCode, StepFailedError } from '../../errors/index.ts';
import { matchesPattern, type StepDefinition } from '../../engine/index.ts';
import type { Ec2Instance } from './describe.ts';

/** The service principal of instance roles (`.cn` in the China partition). */
const EC2_SERVICE_PRINCIPALS = new Set(['ec2.amazonaws.com', 'ec2.amazonaws.com.cn']);

/** DescribeInstances filters accept at most 200 values each. */
const FILTER_VALUES_LIMIT = 200;

const revocationPolicyName = (incidentId: string) => `FirebreakRevokeOlderSessions-${incidentId}`;

function revocationPolicy(revokedBefore: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'FirebreakRevokeOlderSessions',
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: { DateLessThan: { 'aws:TokenIssueTime': revokedBefore } },
      },
    ],
  });
}

/** Instance-role sessions are named after the instance id, so `aws:userid` is `<RoleId>:<instanceId>`. */
function instanceSessionPolicy(roleId: string, instanceId: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'FirebreakDenyInstanceSessions',
        Effect: 'Deny',
        Action: '*',
        Resource: '*',
        Condition: { StringLike: { 'aws:userid': `${roleId}:${instanceId}` } },
      },
    ],
  });
}

/** IAM returns policy documents URL-encoded (RFC 3986); tolerate a plain one too. */
function parsePolicyDocument(document: string | undefined): unknown {
  if (!document) return undefined;
  const text = document.trimStart().startsWith('{') ? document : decodeURIComponent(document);
  return JSON.parse(text);
}

const asList = (value: unknown): unknown[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/**
 * Every principal an Allow statement of the trust policy names, except the EC2
 * service: each one may hold sessions of the role that a TokenIssueTime deny would cut off.
 */
function otherTrustedPrincipals(trustPolicy: unknown): string[] {
  const found = new Set<string>();
  const statements = asList((trustPolicy as { Statement?: unknown } | undefined)?.Statement);
  for (const s of statements as Array<{ Effect?: string; Principal?: unknown; NotPrincipal?: unknown }>) {
    if (s?.Effect !== 'Allow') continue;
    if (s.NotPrincipal !== undefined) found.add(`NotPrincipal ${JSON.stringify(s.NotPrincipal)}`);
    if (s.Principal === '*') {
      found.add('*');
      continue;
    }
    for (const [kind, values] of Object.entries((s.Principal ?? {}) as Record<string, unknown>)) {
      for (const v of asList(values).map(String)) {
        if (!(kind === 'Service' && EC2_SERVICE_PRINCIPALS.has(v))) found.add(kind === 'AWS' ? v : `${kind}:${v}`);
      }
    }
  }
  return [...found].sort();
}

/** Every instance profile association matching `filters`, across pages. */
export async function associationsWhere(ec2: EC2Client, filters: Filter[]): Promise<IamInstanceProfileAssociation[]> {
  const associations: IamInstanceProfileAssociation[] = [];
  let token: string | undefined;
  do {
    const out = await ec2.send(new DescribeIamInstanceProfileAssociationsCommand({ Filters: filters, NextToken: token }));
    associations.push(...(out.IamInstanceProfileAssociations ?? []));
    token = out.NextToken;
  } while (token);
  return associations;
}

async function instanceProfilesOf(iam: IAMClient, roleName: string): Promise<string[]> {
  const arns: string[] = [];
  let marker: string | undefined;
  do {
    const out = await iam.send(new ListInstanceProfilesForRoleCommand({ RoleName: roleName, Marker: marker }));
    arns.push(...(out.InstanceProfiles ?? []).flatMap((p) => (p.Arn ? [p.Arn] : [])));
    marker = out.IsTruncated ? out.Marker : undefined;
  } while (marker);
  return arns;
}

/** Other pending or running instances whose instance profile carries `roleName` (stopped ones hold no live credentials). */
async function otherInstancesWithRole(ec2: EC2Client, iam: IAMClient, roleName: string, instanceId: string): Promise<string[]> {
  const [profileArns, associations] = await Promise.all([
    instanceProfilesOf(iam, roleName),
    associationsWhere(ec2, [{ Name: 'state', Values: ['associated'] }]),
  ]);
  const profiles = new Set(profileArns);
  const candidates = [
    ...new Set(associations.filter((a) => a.InstanceId && a.InstanceId !== instanceId && profiles.has(a.IamInstanceProfile?.Arn ?? '')).map((a) => a.InstanceId!)),
  ];
  const live: string[] = [];
  for (let i = 0; i < candidates.length; i += FILTER_VALUES_LIMIT) {
    // Filtering by instance-id (not InstanceIds) so an instance gone meanwhile is not an error.
    const filters: Filter[] = [
      { Name: 'instance-id', Values: candidates.slice(i, i + FILTER_VALUES_LIMIT) },
      { Name: 'instance-state-name', Values: ['pending', 'running'] },
    ];
    let token: string | undefined;
    do {
      const out = await ec2.send(new DescribeInstancesCommand({ Filters: filters, NextToken: token }));
      live.push(...(out.Reservations ?? []).flatMap((r) => r.Instances ?? []).flatMap((x) => (x.InstanceId ? [x.InstanceId] : [])));
      token = out.NextToken;
    } while (token);
  }
  return [...new Set(live)].sort();
}

async function existingRevocation(iam: IAMClient, roleName: string, policyName: string): Promise<{ revokedBefore?: string } | undefined> {
  try {
    const out = await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: policyName }));
    const doc = parsePolicyDocument(out.PolicyDocument) as { Statement?: unknown } | undefined;
    const time = asList(doc?.Statement)
      .map((s) => (s as { Condition?: { DateLessThan?: Record<string, unknown> } }).Condition?.DateLessThan?.['aws:TokenIssueTime'])
      .find((t): t is string => typeof t === 'string');
    return time ? { revokedBefore: time } : {};
  } catch (error) {
    if (hasErrorCode(error, 'NoSuchEntity', 'NoSuchEntityException')) return undefined;
    throw error;
  }
}

const profileNameOf = (instanceProfileArn: string) => instanceProfileArn.split('/').pop() ?? instanceProfileArn;

export const revokeInstanceRoleSessions: StepDefinition<Ec2Instance> = {
  name: 'revokeInstanceRoleSessions',
  stage: 'contain',
  description:
    "Invalidate the instance role's temporary credentials by attaching an explicit deny with an STS date condition (aws:TokenIssueTime), unless other workloads share the role",
  iamActions: [
    'iam:GetInstanceProfile',
    'iam:GetRole',
    'iam:GetRolePolicy',
    'iam:ListInstanceProfilesForRole',
    'iam:PutRolePolicy',
    'ec2:DescribeIamInstanceProfileAssociations',
    'ec2:DescribeInstances',
  ],
  async run({ clients, resource, capture, config, incident, now }) {
    const { instanceId } = resource;
    // The profile seen at the first delivery: by a redelivery replaceInstanceProfile may have swapped it already.
    const instanceProfileArn = typeof capture.instanceProfileArn === 'string' ? capture.instanceProfileArn : resource.instanceProfileArn;
    if (!instanceProfileArn) {
      return { status: 'skipped', summary: `${instanceId} has no instance profile, so no role credentials were on the box` };
    }
    if (instanceProfileArn === config.ec2.isolationInstanceProfileArn) {
      return { status: 'skipped', summary: `${instanceId} carries the isolation instance profile; its original role is unknown, revoke that role's sessions by hand if needed` };
    }

    let profile;
    try {
      profile = (await clients.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: profileNameOf(instanceProfileArn) }))).InstanceProfile;
    } catch (error) {
      // Credentials served before the profile was deleted stay valid: a responder must find the role.
      if (!hasErrorCode(error, 'NoSuchEntity', 'NoSuchEntityException')) throw error;
      throw new StepFailedError('revokeInstanceRoleSessions', 'InstanceProfileGone', `instance profile ${instanceProfileArn} no longer exists, so its role (whose credentials may be on ${instanceId}) cannot be found`, false, { cause: error });
    }
    const role = profile?.Roles?.[0];
    if (!role?.RoleName || !role.Arn || !role.RoleId) {
      return { status: 'skipped', summary: `instance profile ${instanceProfileArn} holds no role, so no role credentials were on ${instanceId}` };
    }
    const { RoleName: roleName, Arn: roleArn, RoleId: roleId } = role;
    const sessionArn = `${roleArn.split(':iam:')[0]}:sts:${roleArn.split(':')[4]}:assumed-role/${roleName}/${instanceId}`;
    const protectedBy = config.protectedPrincipals.find((p) => matchesPattern(p, roleArn) || matchesPattern(p, sessionArn));
    if (protectedBy) {
      return {
        status: 'skipped',
        summary: `role ${roleName} is protected (matches ${protectedBy}); its sessions were not revoked`,
        data: { roleName, roleArn, roleId, instanceProfileArn, protectedBy },
      };
    }

    const policyName = revocationPolicyName(incident.incidentId);
    const existing = await existingRevocation(clients.iam, roleName, policyName);
    if (existing) {
      return {
        status: 'done',
        summary: `sessions of role ${roleName} issued before ${existing.revokedBefore ?? 'the first delivery'} were already denied by ${policyName}; new sessions still work`,
        data: { roleName, roleArn, roleId, instanceProfileArn, policyName, revokedBefore: existing.revokedBefore ?? null },
      };
    }

    const [sharedWith, trustDocument] = await Promise.all([
      otherInstancesWithRole(clients.ec2, clients.iam, roleName, instanceId),
      clients.iam.send(new GetRoleCommand({ RoleName: roleName })).then((out) => out.Role?.AssumeRolePolicyDocument),
    ]);
    const otherPrincipals = otherTrustedPrincipals(parsePolicyDocument(trustDocument));
    if (sharedWith.length > 0 || otherPrincipals.length > 0) {
      const sharers = [
        ...(sharedWith.length ? [`instance(s) ${sharedWith.join(', ')}`] : []),
        ...(otherPrincipals.length ? [`trusted principal(s) ${otherPrincipals.join(', ')}`] : []),
      ].join(' and ');
      const recommendation =
        `Role ${roleName} is also used by ${sharers}, so Firebreak did not attach a TokenIssueTime revocation: ` +
        `denying every session issued before now would also break those workloads until their credentials refresh. ` +
        `To deny only the credentials taken from ${instanceId} (instance-role sessions are named after the instance id, ` +
        `so their aws:userid is ${roleId}:${instanceId}), attach this inline policy to role ${roleName}, e.g. as ` +
        `FirebreakDenyInstanceSessions-${incident.incidentId}, and delete it when the incident is closed: ${instanceSessionPolicy(roleId, instanceId)}`;
      return {
        status: 'skipped',
        summary: `role ${roleName} is shared with ${sharers}; its sessions were not revoked (see the recommendation for a policy that denies only ${instanceId}'s sessions)`,
        data: { roleName, roleArn, roleId, instanceProfileArn, sharedWith, otherTrustedPrincipals: otherPrincipals, recommendation },
      };
    }

    const revokedBefore = now().toISOString();
    await clients.iam.send(new PutRolePolicyCommand({ RoleName: roleName, PolicyName: policyName, PolicyDocument: revocationPolicy(revokedBefore) }));
    return {
      status: 'done',
      summary: `sessions of role ${roleName} issued before ${revokedBefore} are denied (inline policy ${policyName}), so credentials copied from ${instanceId} no longer work; new sessions still work`,
      data: { roleName, roleArn, roleId, instanceProfileArn, policyName, revokedBefore },
    };
  },
};

const LIVE_ASSOCIATION_STATES = new Set(['associated', 'associating']);

export const replaceInstanceProfile: StepDefinition<Ec2Instance> = {
  name: 'replaceInstanceProfile',
  stage: 'contain',
  description: "Replace the instance's IAM instance profile with the isolation profile (or remove it), so the instance metadata service serves no new role credentials",
  iamActions: [
    'ec2:DescribeIamInstanceProfileAssociations',
    'ec2:DisassociateIamInstanceProfile',
    'ec2:ReplaceIamInstanceProfileAssociation',
    'iam:PassRole',
  ],
  async run({ clients, resource, capture, config }) {
    const { instanceId } = resource;
    const isolationArn = config.ec2.isolationInstanceProfileArn;
    const captured = typeof capture.instanceProfileArn === 'string' ? capture.instanceProfileArn : undefined;
    const stillValid = 'credentials already on the box stay valid until they expire, which is why revokeInstanceRoleSessions exists';
    const association = (await associationsWhere(clients.ec2, [{ Name: 'instance-id', Values: [instanceId] }])).find(
      (a) => a.InstanceId === instanceId && LIVE_ASSOCIATION_STATES.has(a.State ?? ''),
    );

    if (!association?.AssociationId) {
      if (captured && captured !== isolationArn) {
        // A redelivery after the profile was removed: the goal state, and the capture still knows what to restore.
        return {
          status: 'done',
          summary: `no instance profile is associated with ${instanceId} any more (it had ${captured}); ${stillValid}`,
          data: { associationIdBefore: null, instanceProfileArnBefore: captured, replacedWith: null },
        };
      }
      return { status: 'skipped', summary: `no instance profile is associated with ${instanceId}, so the metadata service serves no role credentials` };
    }

    const current = association.IamInstanceProfile?.Arn ?? null;
    if (isolationArn && current === isolationArn) {
      return {
        status: 'done',
        summary: `${instanceId} already has the isolation instance profile ${isolationArn}; ${stillValid}`,
        data: { associationIdBefore: association.AssociationId, instanceProfileArnBefore: captured && captured !== isolationArn ? captured : null, replacedWith: isolationArn },
      };
    }

    if (isolationArn) {
      await clients.ec2.send(new ReplaceIamInstanceProfileAssociationCommand({ AssociationId: association.AssociationId, IamInstanceProfile: { Arn: isolationArn } }));
      return {
        status: 'done',
        summary: `instance profile ${current} of ${instanceId} replaced with the isolation profile ${isolationArn}; ${stillValid}`,
        data: { associationIdBefore: association.AssociationId, instanceProfileArnBefore: current, replacedWith: isolationArn },
      };
    }

    try {
      await clients.ec2.send(new DisassociateIamInstanceProfileCommand({ AssociationId: association.AssociationId }));
    } catch (error) {
      // Disassociated meanwhile (a concurrent delivery): the state we want.
      if (!hasErrorCode(error, 'InvalidAssociationID.NotFound')) throw error;
    }
    return {
      status: 'done',
      summary: `instance profile ${current} removed from ${instanceId}, so the metadata service serves no new role credentials; ${stillValid}`,
      data: { associationIdBefore: association.AssociationId, instanceProfileArnBefore: current, replacedWith: null },
    };
  },
};
