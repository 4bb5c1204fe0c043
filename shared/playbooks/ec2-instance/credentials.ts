import {
  AssociateIamInstanceProfileCommand,
  DisassociateIamInstanceProfileCommand,
  ReplaceIamInstanceProfileAssociationCommand,
} from '@aws-sdk/client-ec2';
import { GetInstanceProfileCommand } from '@aws-sdk/client-iam';
import * as z from 'zod';
import { instanceProfileName, liveAssociationOf, liveInstancesWithRole } from '../../actions/instance-profiles.ts';
import {
  assumedRoleArn,
  findRevocation,
  INSTANCE_ROLE_SERVICE_PRINCIPALS,
  instanceSessionDenyPolicy,
  otherTrustedPrincipals,
  releaseRevocation,
  revocationPolicyName,
  revokeSessionsIssuedBefore,
} from '../../actions/role-sessions.ts';
import { matchesPattern } from '../../engine/index.ts';
import { hasErrorCode, StepFailedError } from '../../errors/index.ts';
import { ec2Step } from './types.ts';

/**
 * What revokeInstanceRoleSessions records: the instance's role, and either the revocation
 * (done: the policy and its cut-off, `null` when a policy found on a redelivery names none) or
 * why the role's sessions were left alone (skipped: `protectedBy`, or the sharers and a
 * recommendation).
 */
const RoleSessionsSchema = z.object({
  roleName: z.string(),
  roleArn: z.string(),
  roleId: z.string(),
  instanceProfileArn: z.string(),
  policyName: z.string().optional(),
  revokedBefore: z.string().nullable().optional(),
  protectedBy: z.string().optional(),
  sharedWith: z.array(z.string()).optional(),
  otherTrustedPrincipals: z.array(z.string()).optional(),
  recommendation: z.string().optional(),
});

const NO_SUCH_ENTITY = ['NoSuchEntity', 'NoSuchEntityException'];

export const revokeInstanceRoleSessions = ec2Step({
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
  data: RoleSessionsSchema,
  async run({ clients, resource, capture, options, config, incident, now }) {
    const { instanceId } = resource;
    // The profile seen at the first delivery: by a redelivery replaceInstanceProfile may have swapped it already.
    const instanceProfileArn = capture.instanceProfileArn ?? resource.instanceProfileArn;
    if (!instanceProfileArn) {
      return { status: 'skipped', summary: `${instanceId} has no instance profile, so no role credentials were on the box` };
    }
    if (instanceProfileArn === options.isolation_instance_profile_arn) {
      return { status: 'skipped', summary: `${instanceId} carries the isolation instance profile; its original role is unknown, revoke that role's sessions by hand if needed` };
    }

    let profile;
    try {
      profile = (await clients.iam.send(new GetInstanceProfileCommand({ InstanceProfileName: instanceProfileName(instanceProfileArn) }))).InstanceProfile;
    } catch (error) {
      // Credentials served before the profile was deleted stay valid: a responder must find the role.
      if (!hasErrorCode(error, ...NO_SUCH_ENTITY)) throw error;
      throw new StepFailedError(
        'revokeInstanceRoleSessions',
        'InstanceProfileGone',
        `instance profile ${instanceProfileArn} no longer exists, so its role (whose credentials may be on ${instanceId}) cannot be found`,
        { retryable: false, cause: error },
      );
    }
    const role = profile?.Roles?.[0];
    if (!role?.RoleName || !role.Arn || !role.RoleId) {
      return { status: 'skipped', summary: `instance profile ${instanceProfileArn} holds no role, so no role credentials were on ${instanceId}` };
    }
    const { RoleName: roleName, Arn: roleArn, RoleId: roleId } = role;
    const theRole = { roleName, roleArn, roleId, instanceProfileArn };
    const sessionArn = assumedRoleArn(roleArn, instanceId);
    const protectedBy = config.protectedPrincipals.find((p) => matchesPattern(p, roleArn) || matchesPattern(p, sessionArn));
    if (protectedBy) {
      return { status: 'skipped', summary: `role ${roleName} is protected (matches ${protectedBy}); its sessions were not revoked`, data: { ...theRole, protectedBy } };
    }

    const policyName = revocationPolicyName(incident.incidentId);
    const existing = await findRevocation(clients.iam, roleName, policyName);
    if (existing) {
      return {
        status: 'done',
        summary: `sessions of role ${roleName} issued before ${existing.revokedBefore ?? 'the first delivery'} were already denied by ${policyName}; new sessions still work`,
        data: { ...theRole, policyName, revokedBefore: existing.revokedBefore ?? null },
      };
    }

    const [sharedWith, otherPrincipals] = await Promise.all([
      liveInstancesWithRole(clients.ec2, clients.iam, roleName, { except: instanceId }),
      otherTrustedPrincipals(clients.iam, roleName, INSTANCE_ROLE_SERVICE_PRINCIPALS),
    ]);
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
        `FirebreakDenyInstanceSessions-${incident.incidentId}, and delete it when the incident is closed: ${instanceSessionDenyPolicy(roleId, instanceId)}`;
      return {
        status: 'skipped',
        summary: `role ${roleName} is shared with ${sharers}; its sessions were not revoked (see the recommendation for a policy that denies only ${instanceId}'s sessions)`,
        data: { ...theRole, sharedWith, otherTrustedPrincipals: otherPrincipals, recommendation },
      };
    }

    const revokedBefore = await revokeSessionsIssuedBefore(clients.iam, roleName, policyName, now());
    return {
      status: 'done',
      summary: `sessions of role ${roleName} issued before ${revokedBefore} are denied (inline policy ${policyName}), so credentials copied from ${instanceId} no longer work; new sessions still work`,
      data: { ...theRole, policyName, revokedBefore },
    };
  },
  undo: {
    name: 'removeRevocationPolicy',
    description: "Remove the inline policy that revoked the instance role's older sessions",
    iamActions: ['iam:DeleteRolePolicy'],
    async run({ recorded, incident, clients }) {
      const { roleName, revokedBefore } = recorded;
      // A revocation always records its policy; the name is the incident's either way.
      const policyName = recorded.policyName ?? revocationPolicyName(incident.incidentId);
      // Removing the deny revives every unexpired session it denied, the copied credentials included.
      return releaseRevocation(clients.iam, roleName, policyName, `role sessions issued before ${revokedBefore ?? 'the revocation'} that have not expired yet (instance-role credentials last about 6 hours) are valid again`);
    },
  },
});

/**
 * What replaceInstanceProfile recorded: the association it replaced or removed (`null` when a
 * redelivery found the profile already removed), the profile before (`null` when unknown: the
 * instance already had the isolation profile at the first delivery) and the isolation profile
 * put in its place (`null`: none, the profile was removed).
 */
const ReplacedProfileSchema = z.object({
  associationIdBefore: z.string().nullable(),
  instanceProfileArnBefore: z.string().nullable(),
  replacedWith: z.string().nullable(),
});

export const replaceInstanceProfile = ec2Step({
  name: 'replaceInstanceProfile',
  stage: 'contain',
  description: "Replace the instance's IAM instance profile with the isolation profile (or remove it), so the instance metadata service serves no new role credentials",
  iamActions: [
    'ec2:DescribeIamInstanceProfileAssociations',
    'ec2:DisassociateIamInstanceProfile',
    'ec2:ReplaceIamInstanceProfileAssociation',
    'iam:PassRole',
  ],
  data: ReplacedProfileSchema,
  async run({ clients, resource, capture, options, incident }) {
    const { instanceId } = resource;
    // An instance profile must be in the instance's account: the deployment's isolation profile
    // means nothing in a member account, so there the profile is removed instead, and said so.
    const configured = options.isolation_instance_profile_arn;
    const profileAccount = configured?.split(':')[4];
    const isolationArn = configured && profileAccount === incident.accountId ? configured : undefined;
    const elsewhere = configured && !isolationArn ? ` (the isolation profile ${configured} is in account ${profileAccount}, not ${incident.accountId}: an instance can only have a profile of its own account, so the profile was removed instead)` : '';
    const captured = capture.instanceProfileArn;
    const stillValid = 'credentials already on the box stay valid until they expire, which is why revokeInstanceRoleSessions exists';
    const association = await liveAssociationOf(clients.ec2, instanceId);

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
      summary: `instance profile ${current} removed from ${instanceId}, so the metadata service serves no new role credentials${elsewhere}; ${stillValid}`,
      data: { associationIdBefore: association.AssociationId, instanceProfileArnBefore: current, replacedWith: null },
    };
  },
  undo: {
    name: 'restoreInstanceProfile',
    description: 'Give the instance back the instance profile it had before containment, where it still has the one containment left',
    iamActions: [
      'ec2:DescribeIamInstanceProfileAssociations',
      'ec2:AssociateIamInstanceProfile',
      'ec2:ReplaceIamInstanceProfileAssociation',
      'ec2:DisassociateIamInstanceProfile',
      'iam:PassRole',
    ],
    async run({ recorded, incident, clients, resource }) {
      const { instanceProfileArnBefore: before, replacedWith } = recorded;
      const id = incident.resource.id;
      const current = await liveAssociationOf(clients.ec2, id);
      const arnNow = current?.IamInstanceProfile?.Arn ?? null;
      const base = { instanceProfileArnBefore: before, replacedWith, arnNow };
      if (arnNow === before) {
        return { status: 'done', summary: before ? `${id} already has ${before}` : `${id} already has no instance profile, as before`, data: { ...base, result: 'already-restored' } };
      }
      // Only undo Firebreak's own change: a profile nobody recorded was put there by a human.
      if (arnNow && arnNow !== replacedWith) {
        return { status: 'skipped', summary: `left alone (changed since containment): ${id} now has ${arnNow}`, data: { ...base, result: 'changed-since' } };
      }
      // From here the instance has what containment left: the isolation profile, or none.
      if (!before) {
        await clients.ec2.send(new DisassociateIamInstanceProfileCommand({ AssociationId: current?.AssociationId }));
        return { status: 'done', summary: `removed ${arnNow} from ${id}, which had no instance profile before`, data: { ...base, result: 'disassociated' } };
      }
      if (current?.AssociationId) {
        await clients.ec2.send(new ReplaceIamInstanceProfileAssociationCommand({ AssociationId: current.AssociationId, IamInstanceProfile: { Arn: before } }));
        return { status: 'done', summary: `replaced ${arnNow} with ${before} on ${id}`, data: { ...base, result: 'replaced' } };
      }
      if (!(await resource())) return { status: 'skipped', summary: `${id} no longer exists: nothing to restore`, data: { instanceGone: true } };
      await clients.ec2.send(new AssociateIamInstanceProfileCommand({ InstanceId: id, IamInstanceProfile: { Arn: before } }));
      return { status: 'done', summary: `associated ${before} with ${id} again`, data: { ...base, result: 'associated' } };
    },
  },
});
