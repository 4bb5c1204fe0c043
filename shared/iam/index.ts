/**
 * How narrowly Firebreak is granted each IAM action it calls: the resources (ARN templates) and
 * conditions, once per action, so that a reviewer reads every grant in one place. Steps declare
 * the actions they call (`iamActions`); the build turns them into grants with {@link grantsFor},
 * and Terraform renders the placeholders for the deployment:
 *
 * - `{partition}`, `{region}`, `{account}`: where the function acts;
 * - `{forensic_account_id}`: `playbooks.ec2-instance.options.forensics.copy.account_id`;
 * - a resource that is exactly a list placeholder (`{forensic_image_arns}`…) becomes that list
 *   (see {@link LIST_PLACEHOLDERS}); an empty list drops the grant.
 *
 * An action missing here fails the build: a new action needs a scope, or a wildcard with its reason.
 */

/** IAM condition block: operator → key → value(s). */
export type IamCondition = Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;

/** Actions on resources, under conditions. */
export interface Grant {
  actions: string[];
  resources: string[];
  conditions?: IamCondition;
}

/** One way an action is granted; an action may need several (e.g. the snapshot it reads and the one it creates). */
export interface Scope {
  resources: readonly string[];
  conditions?: IamCondition;
  /** Required when `resources` is `*`: why nothing narrower is possible. */
  wildcard?: string;
}

/** Resource placeholders Terraform replaces with a list of ARNs (empty: the grant is dropped). */
export const LIST_PLACEHOLDERS = {
  '{forensic_image_arns}': 'the forensic AMI (forensics.launch.ami_id)',
  '{forensic_subnet_arns}': 'the forensic subnet (forensics.launch.subnet_id)',
  '{forensic_security_group_arns}': "the forensic instance's security groups (forensics.launch.security_group_ids; the VPC's groups when none are given: the VPC's default group)",
  '{forensic_kms_key_arns}': 'the key forensic copies are encrypted with (forensics.copy.kms_key_arn)',
  '{pass_role_arns}': 'the isolation instance profile role, and the roles a release may hand back (release_pass_role_arns)',
  '{ssm_document_arns}': "Firebreak's own Run Command documents (volatile data, memory capture, container control)",
} as const;

const EC2 = 'arn:{partition}:ec2:{region}:{account}';
/** Snapshot and image ARNs carry no account. */
const EC2_NO_ACCOUNT = 'arn:{partition}:ec2:{region}:';
const IAM = 'arn:{partition}:iam::{account}';
/** Every bucket (their ARNs carry neither account nor region): held to the account's own by {@link IN_THIS_ACCOUNT}. */
const S3_BUCKETS = 'arn:{partition}:s3:::*';
/** Buckets owned by the account the function acts as (its own, or a member account's through the member role): a policy variable, so one grant serves both. */
const IN_THIS_ACCOUNT = { StringEquals: { 'aws:ResourceAccount': '${aws:PrincipalAccount}' } };

/** The tags Firebreak puts on the groups it creates and then manages. */
export const FIREBREAK_GROUP_PURPOSES = ['isolation', 'untracking', 'rds-isolation'] as const;
const FIREBREAK_GROUP = { StringEquals: { 'aws:ResourceTag/firebreak:purpose': [...FIREBREAK_GROUP_PURPOSES] } };
/** Created resources are tagged with the incident at creation (TagSpecifications). */
const TAGGED_AT_CREATION = { StringLike: { 'aws:RequestTag/firebreak:incident-id': '*' } };
/** Tags on resources Firebreak did not create: its own keys only (firebreak:suspect…). */
const FIREBREAK_TAG_KEYS_ONLY = { 'ForAllValues:StringLike': { 'aws:TagKeys': ['firebreak:*'] } };
const MADE_BY_FIREBREAK = { StringLike: { 'aws:ResourceTag/firebreak:incident-id': '*' } };
const EMPTIED_BY_FIREBREAK = { StringLike: { 'aws:ResourceTag/firebreak:emptied-by': '*' } };

const RDS = 'arn:{partition}:rds:{region}:{account}';
const SECRETS = 'arn:{partition}:secretsmanager:{region}:{account}:secret';

const NO_RESOURCE_LEVEL = (service: string) => `${service} supports no resource-level permissions for this action (Service Authorization Reference)`;
const anywhere = (reason: string): Scope => ({ resources: ['*'], wildcard: reason });
const scoped = (resources: readonly string[], conditions?: IamCondition): Scope => ({ resources, ...(conditions ? { conditions } : {}) });

const ec2Describe = anywhere(NO_RESOURCE_LEVEL('EC2 Describe*'));

/** Every action a Firebreak function calls, and how narrowly it is granted. */
export const ACTION_SCOPES: Readonly<Record<string, readonly Scope[]>> = {
  // Reads
  'ec2:DescribeInstances': [ec2Describe],
  'ec2:DescribeSecurityGroups': [ec2Describe],
  'ec2:DescribeNetworkInterfaces': [ec2Describe],
  'ec2:DescribeAddresses': [ec2Describe],
  'ec2:DescribeIamInstanceProfileAssociations': [ec2Describe],
  'ec2:DescribeKeyPairs': [ec2Describe],
  'ec2:DescribeSnapshots': [ec2Describe],
  'ec2:DescribeVolumes': [ec2Describe],
  'ec2:DescribeVpcEndpoints': [ec2Describe],
  'ec2:GetConsoleOutput': [scoped([`${EC2}:instance/*`])],
  'ec2:GetConsoleScreenshot': [scoped([`${EC2}:instance/*`])],
  'autoscaling:DescribeAutoScalingInstances': [anywhere(NO_RESOURCE_LEVEL('Auto Scaling Describe*'))],
  'autoscaling:DescribeAutoScalingGroups': [anywhere(NO_RESOURCE_LEVEL('Auto Scaling Describe*'))],
  'elasticloadbalancing:DescribeLoadBalancers': [anywhere(NO_RESOURCE_LEVEL('Elastic Load Balancing Describe*'))],
  'elasticloadbalancing:DescribeTargetGroups': [anywhere(NO_RESOURCE_LEVEL('Elastic Load Balancing Describe*'))],
  'elasticloadbalancing:DescribeTargetHealth': [anywhere(NO_RESOURCE_LEVEL('Elastic Load Balancing Describe*'))],
  'ssm:DescribeInstanceInformation': [anywhere(NO_RESOURCE_LEVEL('SSM DescribeInstanceInformation'))],
  'ssm:GetCommandInvocation': [anywhere(NO_RESOURCE_LEVEL('SSM GetCommandInvocation'))],
  'ssm:ListCommands': [anywhere(NO_RESOURCE_LEVEL('SSM ListCommands'))],
  'iam:GetRole': [scoped([`${IAM}:role/*`])],
  'iam:GetRolePolicy': [scoped([`${IAM}:role/*`])],
  'iam:ListInstanceProfilesForRole': [scoped([`${IAM}:role/*`])],
  'iam:GetInstanceProfile': [scoped([`${IAM}:instance-profile/*`])],
  'iam:ListAttachedRolePolicies': [scoped([`${IAM}:role/*`])],
  'iam:ListRolePolicies': [scoped([`${IAM}:role/*`])],

  // Network isolation: groups are created tagged, and only those are given rules; revoking only
  // narrows access, so any group of the account (release, which re-opens, runs as a responder or
  // as the release function).
  'ec2:CreateSecurityGroup': [scoped([`${EC2}:vpc/*`]), scoped([`${EC2}:security-group/*`], { StringEquals: { 'aws:RequestTag/firebreak:purpose': [...FIREBREAK_GROUP_PURPOSES] } })],
  // Firebreak's own groups, and a group whose rules Firebreak revoked (tagged firebreak:emptied-by
  // while it holds them: shared/actions/security-group-rules.ts), so release can put them back.
  'ec2:AuthorizeSecurityGroupIngress': [scoped([`${EC2}:security-group/*`], FIREBREAK_GROUP), scoped([`${EC2}:security-group/*`], EMPTIED_BY_FIREBREAK)],
  'ec2:AuthorizeSecurityGroupEgress': [scoped([`${EC2}:security-group/*`], FIREBREAK_GROUP), scoped([`${EC2}:security-group/*`], EMPTIED_BY_FIREBREAK)],
  // Removing Firebreak's own tag keys only (the emptied-by mark, on release).
  'ec2:DeleteTags': [scoped([`${EC2}:security-group/*`], FIREBREAK_TAG_KEYS_ONLY)],
  'ec2:RevokeSecurityGroupIngress': [scoped([`${EC2}:security-group/*`])],
  'ec2:RevokeSecurityGroupEgress': [scoped([`${EC2}:security-group/*`])],
  'ec2:ModifyNetworkInterfaceAttribute': [scoped([`${EC2}:network-interface/*`, `${EC2}:instance/*`, `${EC2}:security-group/*`, `${EC2}:vpc/*`])],
  // Tags: on what Firebreak creates, while creating it; on existing instances, Firebreak's own keys only.
  'ec2:CreateTags': [
    scoped([`${EC2}:security-group/*`, `${EC2}:instance/*`, `${EC2}:volume/*`, `${EC2_NO_ACCOUNT}:snapshot/*`], {
      StringEquals: { 'ec2:CreateAction': ['CreateSecurityGroup', 'RunInstances', 'CreateVolume', 'CreateSnapshot', 'CreateSnapshots', 'CopySnapshot'] },
    }),
    scoped([`${EC2}:instance/*`, `${EC2}:key-pair/*`, `${EC2}:security-group/*`], FIREBREAK_TAG_KEYS_ONLY),
    // Release imports a deleted key pair again with its own tags.
    scoped(['arn:{partition}:ec2:*:{account}:key-pair/*'], { StringEquals: { 'ec2:CreateAction': 'ImportKeyPair' } }),
  ],

  // The instance itself
  'ec2:ModifyInstanceAttribute': [scoped([`${EC2}:instance/*`, `${EC2}:security-group/*`, `${EC2}:volume/*`])],
  'ec2:StopInstances': [scoped([`${EC2}:instance/*`])],
  'ec2:AssociateIamInstanceProfile': [scoped([`${EC2}:instance/*`])],
  'ec2:ReplaceIamInstanceProfileAssociation': [scoped([`${EC2}:instance/*`])],
  'ec2:DisassociateIamInstanceProfile': [scoped([`${EC2}:instance/*`])],
  'ec2:DisassociateAddress': [scoped([`${EC2}:elastic-ip/*`, `${EC2}:network-interface/*`, `${EC2}:instance/*`])],
  'ec2:AssociateAddress': [scoped([`${EC2}:elastic-ip/*`, `${EC2}:network-interface/*`, `${EC2}:instance/*`])],
  'iam:PassRole': [scoped(['{pass_role_arns}'], { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } })],

  // Membership
  'autoscaling:DetachInstances': [scoped(['arn:{partition}:autoscaling:{region}:{account}:autoScalingGroup:*:autoScalingGroupName/*'])],
  'autoscaling:AttachInstances': [scoped(['arn:{partition}:autoscaling:{region}:{account}:autoScalingGroup:*:autoScalingGroupName/*'])],
  'elasticloadbalancing:DeregisterTargets': [scoped(['arn:{partition}:elasticloadbalancing:{region}:{account}:targetgroup/*/*'])],
  'elasticloadbalancing:RegisterTargets': [scoped(['arn:{partition}:elasticloadbalancing:{region}:{account}:targetgroup/*/*'])],
  'elasticloadbalancing:DeregisterInstancesFromLoadBalancer': [scoped(['arn:{partition}:elasticloadbalancing:{region}:{account}:loadbalancer/*'])],
  'elasticloadbalancing:RegisterInstancesWithLoadBalancer': [scoped(['arn:{partition}:elasticloadbalancing:{region}:{account}:loadbalancer/*'])],

  // Evidence: snapshots (tagged at creation), forensic copies shared with the forensic account only
  'ec2:CreateSnapshot': [scoped([`${EC2}:volume/*`]), scoped([`${EC2_NO_ACCOUNT}:snapshot/*`], TAGGED_AT_CREATION)],
  'ec2:CreateSnapshots': [scoped([`${EC2}:instance/*`, `${EC2}:volume/*`]), scoped([`${EC2_NO_ACCOUNT}:snapshot/*`], TAGGED_AT_CREATION)],
  'ec2:CopySnapshot': [scoped([`${EC2_NO_ACCOUNT}:snapshot/*`])],
  'ec2:ModifySnapshotAttribute': [scoped([`${EC2_NO_ACCOUNT}:snapshot/*`], { ...MADE_BY_FIREBREAK, StringEquals: { 'ec2:Add/userId': '{forensic_account_id}' } })],
  'ec2:CreateVolume': [scoped([`${EC2_NO_ACCOUNT}:snapshot/*`]), scoped([`${EC2}:volume/*`], TAGGED_AT_CREATION)],
  'ec2:AttachVolume': [scoped([`${EC2}:instance/*`]), scoped([`${EC2}:volume/*`], MADE_BY_FIREBREAK)],
  'ec2:RunInstances': [
    scoped(['{forensic_image_arns}']),
    scoped(['{forensic_subnet_arns}']),
    scoped(['{forensic_security_group_arns}']),
    scoped([`${EC2}:network-interface/*`, `${EC2}:volume/*`]),
    scoped([`${EC2}:instance/*`], { StringEquals: { 'aws:RequestTag/firebreak:purpose': 'forensic' } }),
  ],
  // EBS with a customer-managed key (Amazon EBS User Guide, "Requirements for Amazon EBS encryption")
  'kms:CreateGrant': [scoped(['{forensic_kms_key_arns}'], { Bool: { 'kms:GrantIsForAWSResource': 'true' } })],
  'kms:Decrypt': [scoped(['{forensic_kms_key_arns}'])],
  'kms:DescribeKey': [scoped(['{forensic_kms_key_arns}'])],
  'kms:GenerateDataKeyWithoutPlaintext': [scoped(['{forensic_kms_key_arns}'])],
  'kms:ReEncryptFrom': [scoped(['{forensic_kms_key_arns}'])],
  'kms:ReEncryptTo': [scoped(['{forensic_kms_key_arns}'])],
  'guardduty:StartMalwareScan': [anywhere(NO_RESOURCE_LEVEL('GuardDuty StartMalwareScan'))],
  // Snapshot retention of malware scans (the container playbook): the region's detector only.
  'guardduty:ListDetectors': [anywhere(NO_RESOURCE_LEVEL('GuardDuty ListDetectors'))],
  'guardduty:GetMalwareScanSettings': [scoped(['arn:{partition}:guardduty:{region}:{account}:detector/*'])],
  'guardduty:UpdateMalwareScanSettings': [scoped(['arn:{partition}:guardduty:{region}:{account}:detector/*'])],
  'iam:CreateServiceLinkedRole': [
    scoped([`${IAM}:role/aws-service-role/malware-protection.guardduty.amazonaws.com/*`], { StringEquals: { 'iam:AWSServiceName': 'malware-protection.guardduty.amazonaws.com' } }),
  ],

  // Run Command: only Firebreak's own documents (never AWS-RunShellScript), on instances of the account
  'ssm:SendCommand': [scoped(['{ssm_document_arns}']), scoped([`${EC2}:instance/*`])],

  // Credentials: inline policies on roles of this account; the Terraform module denies protected
  // principals, Firebreak's own roles and service-linked roles explicitly.
  'iam:PutRolePolicy': [scoped([`${IAM}:role/*`])],
  // CloudTrail event history: read-only, paced (shared/actions/cloudtrail.ts)
  'cloudtrail:LookupEvents': [anywhere(NO_RESOURCE_LEVEL('CloudTrail LookupEvents'))],
  'iam:DeleteRolePolicy': [scoped([`${IAM}:role/*`])],

  // Identity reviews (shared/actions/identity-review): reading what a principal created or changed,
  // tagging it firebreak:suspect (Firebreak's own tag keys only), and — full mode, with
  // resource_review.neutralise — neutralising it reversibly and, on release, restoring it. Every
  // IAM write on a protected principal, Firebreak's own roles or a service-linked role is denied
  // by the module (NeverProtectedOwnOrServiceRoles); the code skips them too.
  'iam:GetUser': [scoped([`${IAM}:user/*`])],
  'iam:ListAccessKeys': [scoped([`${IAM}:user/*`])],
  'iam:GetLoginProfile': [scoped([`${IAM}:user/*`])],
  'iam:GetUserPolicy': [scoped([`${IAM}:user/*`])],
  'iam:ListAttachedUserPolicies': [scoped([`${IAM}:user/*`])],
  'iam:ListMFADevices': [scoped([`${IAM}:user/*`])],
  'iam:GetSSHPublicKey': [scoped([`${IAM}:user/*`])],
  'iam:ListServiceSpecificCredentials': [scoped([`${IAM}:user/*`])],
  'iam:ListSigningCertificates': [scoped([`${IAM}:user/*`])],
  'iam:ListGroupsForUser': [scoped([`${IAM}:user/*`])],
  'iam:ListAttachedGroupPolicies': [scoped([`${IAM}:group/*`])],
  'iam:GetGroupPolicy': [scoped([`${IAM}:group/*`])],
  'iam:GetPolicy': [scoped([`${IAM}:policy/*`, 'arn:{partition}:iam::aws:policy/*'])],
  'iam:GetPolicyVersion': [scoped([`${IAM}:policy/*`, 'arn:{partition}:iam::aws:policy/*'])],
  'ec2:DescribeSecurityGroupRules': [ec2Describe],
  'ec2:DescribeInstanceAttribute': [scoped([`${EC2}:instance/*`])],
  'iam:TagUser': [scoped([`${IAM}:user/*`], FIREBREAK_TAG_KEYS_ONLY)],
  'iam:TagRole': [scoped([`${IAM}:role/*`], FIREBREAK_TAG_KEYS_ONLY)],
  'iam:TagPolicy': [scoped([`${IAM}:policy/*`], FIREBREAK_TAG_KEYS_ONLY)],
  'iam:TagMFADevice': [scoped([`${IAM}:mfa/*`], FIREBREAK_TAG_KEYS_ONLY)],
  'iam:UpdateAccessKey': [scoped([`${IAM}:user/*`])],
  'iam:DeleteLoginProfile': [scoped([`${IAM}:user/*`])],
  'iam:CreateLoginProfile': [scoped([`${IAM}:user/*`])],
  'iam:PutUserPolicy': [scoped([`${IAM}:user/*`])],
  'iam:DeleteUserPolicy': [scoped([`${IAM}:user/*`])],
  'iam:DetachUserPolicy': [scoped([`${IAM}:user/*`])],
  'iam:DetachRolePolicy': [scoped([`${IAM}:role/*`])],
  'iam:DetachGroupPolicy': [scoped([`${IAM}:group/*`])],
  // Release only: re-attaches exactly the policy the review detached (the release function, full mode, resource_review.neutralise).
  'iam:AttachUserPolicy': [scoped([`${IAM}:user/*`])],
  'iam:AttachRolePolicy': [scoped([`${IAM}:role/*`])],
  'iam:AttachGroupPolicy': [scoped([`${IAM}:group/*`])],
  'iam:UpdateSSHPublicKey': [scoped([`${IAM}:user/*`])],
  'iam:UpdateServiceSpecificCredential': [scoped([`${IAM}:user/*`])],
  'iam:UpdateSigningCertificate': [scoped([`${IAM}:user/*`])],
  'ec2:StartInstances': [scoped([`${EC2}:instance/*`])],
  // A recreated login profile's password: only Firebreak's own secrets (firebreak/<incident>/…).
  // Account information (Service Authorization Reference, AWS Account Management: resource type account).
  'account:GetContactInformation': [scoped(['arn:{partition}:account::{account}:account'])],
  'account:GetAlternateContact': [scoped(['arn:{partition}:account::{account}:account'], { 'ForAllValues:StringEquals': { 'account:AlternateContactTypes': ['BILLING', 'OPERATIONS', 'SECURITY'] } })],
  // Whole account (the account playbook). Reads: account-wide by nature.
  'iam:ListAccountAliases': [anywhere(NO_RESOURCE_LEVEL('IAM ListAccountAliases'))],
  'iam:GetAccountSummary': [anywhere(NO_RESOURCE_LEVEL('IAM GetAccountSummary'))],
  'iam:ListUsers': [scoped([`${IAM}:user/*`])],
  'iam:ListRoles': [scoped([`${IAM}:role/*`])],
  'iam:ListPolicies': [scoped([`${IAM}:policy/*`])],
  'iam:ListSAMLProviders': [anywhere(NO_RESOURCE_LEVEL('IAM ListSAMLProviders'))],
  'iam:ListOpenIDConnectProviders': [anywhere(NO_RESOURCE_LEVEL('IAM ListOpenIDConnectProviders'))],
  'iam:GetOpenIDConnectProvider': [scoped([`${IAM}:oidc-provider/*`])],
  'ec2:DescribeRegions': [ec2Describe],
  // The credential sweep (full mode, credential_sweep.enabled): users of this account only; the
  // Terraform module denies them on protected principals and Firebreak's own roles.
  'iam:UpdateLoginProfile': [scoped([`${IAM}:user/*`])],
  // New console passwords are kept for the owners in secrets named firebreak/<incident>/…, tagged
  // with the incident at creation; only those are ever written again.
  // RDS-managed master secrets (rds!…): ModifyDB{Instance,Cluster} ManageMasterUserPassword creates
  // one with the caller's rights (Amazon RDS User Guide, "Required permissions for Secrets Manager integration").
  'secretsmanager:CreateSecret': [scoped(['arn:{partition}:secretsmanager:{region}:{account}:secret:firebreak/*'], TAGGED_AT_CREATION), scoped([`${SECRETS}:rds!*`])],
  'secretsmanager:TagResource': [scoped(['arn:{partition}:secretsmanager:{region}:{account}:secret:firebreak/*'], TAGGED_AT_CREATION), scoped([`${SECRETS}:rds!*`])],
  'secretsmanager:PutSecretValue': [scoped(['arn:{partition}:secretsmanager:{region}:{account}:secret:firebreak/*'], MADE_BY_FIREBREAK)],
  // Key pairs of every region of the account ({region}: `*`, the sweep covers every enabled region).
  'ec2:DeleteKeyPair': [scoped(['arn:{partition}:ec2:*:{account}:key-pair/*'])],
  'ec2:ImportKeyPair': [scoped(['arn:{partition}:ec2:*:{account}:key-pair/*'])],
  // IAM users (the iam-user playbook): what the identity reviews do not already need.
  'iam:GetAccessKeyLastUsed': [scoped([`${IAM}:user/*`])],
  'iam:ListUserPolicies': [scoped([`${IAM}:user/*`])],
  'iam:CreateAccessKey': [scoped([`${IAM}:user/*`])],
  'iam:DeleteAccessKey': [scoped([`${IAM}:user/*`])],
  'secretsmanager:DescribeSecret': [scoped([`arn:{partition}:secretsmanager:{region}:{account}:secret:firebreak/iam-user/*`])],
  // S3 buckets (the S3 playbook): bucket ARNs carry no account, so every grant is held to the
  // buckets this account owns (aws:ResourceAccount). Configuration only: no object is read,
  // written or deleted (the evidence bucket's PutObject is granted by the module on that bucket).
  ...Object.fromEntries(
    [
      's3:GetBucketLocation',
      's3:GetBucketPolicy',
      's3:GetBucketPolicyStatus',
      's3:GetBucketAcl',
      's3:GetBucketPublicAccessBlock',
      's3:GetBucketOwnershipControls',
      's3:GetBucketTagging',
      's3:PutBucketPublicAccessBlock',
      's3:PutBucketOwnershipControls',
      's3:PutBucketPolicy',
      's3:DeleteBucketPolicy',
      's3:PutBucketTagging',
    ].map((action) => [action, [scoped([S3_BUCKETS], IN_THIS_ACCOUNT)]]),
  ),
  // ECS tasks (the ecs-task playbook): the task, its cluster and container instance by ARN; task
  // definitions have no resource-level permission for Describe/List (Service Authorization Reference).
  'ecs:DescribeTasks': [scoped(['arn:{partition}:ecs:{region}:{account}:task/*'])],
  'ecs:DescribeClusters': [scoped(['arn:{partition}:ecs:{region}:{account}:cluster/*'])],
  'ecs:DescribeContainerInstances': [scoped(['arn:{partition}:ecs:{region}:{account}:container-instance/*'])],
  'ecs:DescribeTaskDefinition': [anywhere(NO_RESOURCE_LEVEL('ECS DescribeTaskDefinition'))],
  'ecs:ListTaskDefinitions': [anywhere(NO_RESOURCE_LEVEL('ECS ListTaskDefinitions'))],
  'ecs:UpdateTaskProtection': [scoped(['arn:{partition}:ecs:{region}:{account}:task/*'])],
  'ecs:GetTaskProtection': [scoped(['arn:{partition}:ecs:{region}:{account}:task/*'])],
  'ecs:StopTask': [scoped(['arn:{partition}:ecs:{region}:{account}:task/*'])],
  'ecs:TagResource': [scoped(['arn:{partition}:ecs:{region}:{account}:task/*'], FIREBREAK_TAG_KEYS_ONLY)],
  // Network ACL entries: the deny entries for a finding's remote addresses, and their removal on release.
  'ec2:DescribeNetworkAcls': [ec2Describe],
  'ec2:CreateNetworkAclEntry': [scoped([`${EC2}:network-acl/*`])],
  'ec2:DeleteNetworkAclEntry': [scoped([`${EC2}:network-acl/*`])],
  // Account-level Block Public Access and the access point listing have no resource type.
  's3:GetAccountPublicAccessBlock': [anywhere(NO_RESOURCE_LEVEL('S3 GetAccountPublicAccessBlock'))],
  's3:PutAccountPublicAccessBlock': [anywhere(NO_RESOURCE_LEVEL('S3 PutAccountPublicAccessBlock'))],
  's3:ListAccessPoints': [anywhere(NO_RESOURCE_LEVEL('S3 ListAccessPoints'))],
  // Who made the calls on a bucket, and were they authorised for them (read-only)
  'iam:SimulatePrincipalPolicy': [scoped([`${IAM}:user/*`, `${IAM}:role/*`])],
  // S3 data events in a CloudTrail Lake event data store of the account (read-only queries)
  'cloudtrail:StartQuery': [scoped(['arn:{partition}:cloudtrail:{region}:{account}:eventdatastore/*'])],
  'cloudtrail:GetQueryResults': [scoped(['arn:{partition}:cloudtrail:{region}:{account}:eventdatastore/*'])],

  // RDS (the rds-instance playbook): DB instances and clusters of the account; tags are Firebreak's own keys.
  'rds:DescribeDBInstances': [scoped([`${RDS}:db:*`])],
  'rds:DescribeDBClusters': [scoped([`${RDS}:cluster:*`])],
  'rds:ModifyDBInstance': [scoped([`${RDS}:db:*`])],
  'rds:ModifyDBCluster': [scoped([`${RDS}:cluster:*`])],
  'rds:AddTagsToResource': [scoped([`${RDS}:db:*`, `${RDS}:cluster:*`], FIREBREAK_TAG_KEYS_ONLY)],
  'rds:DescribeDBLogFiles': [scoped([`${RDS}:db:*`])],
  'rds:DownloadDBLogFilePortion': [scoped([`${RDS}:db:*`])],
  // The admin credentials: the secret a DB's firebreak:admin-secret tag names (any name the owner
  // chose), or the RDS-managed master secret (rds!…). Read only, in this account.
  'secretsmanager:GetSecretValue': [scoped([`${SECRETS}:*`])],
  // Finding a database user's own secret by its firebreak:db-user tag.
  'secretsmanager:ListSecrets': [anywhere(NO_RESOURCE_LEVEL('Secrets Manager ListSecrets'))],
  // Rotation: a user's secret its owner tagged firebreak:db-user, or the RDS-managed master secret
  // (RotateMasterUserPassword rotates it with the caller's rights).
  'secretsmanager:RotateSecret': [scoped([`${SECRETS}:*`], { StringLike: { 'aws:ResourceTag/firebreak:db-user': '*' } }), scoped([`${SECRETS}:rds!*`])],
};

/**
 * Actions on Firebreak's own stores (the evidence bucket's `s3:PutObject`, the ledger, queues,
 * logs): the Terraform module grants them on exactly those resources, so they are not in the
 * manifest's grants. Every other S3 action (the S3 playbook's, on the account's buckets) is
 * scoped here like any action.
 */
export const OWN_STORE_ACTION = /^(dynamodb|sqs|logs):|^s3:PutObject$/;

/** Thrown when an action has no scope: the build stops until it gets one. */
export class UnscopedActionError extends Error {
  readonly actions: string[];
  constructor(actions: string[]) {
    super(`no IAM scope for ${actions.join(', ')}: add each to ACTION_SCOPES in shared/iam/index.ts (a wildcard needs its reason)`);
    this.name = 'UnscopedActionError';
    this.actions = actions;
  }
}

const key = (scope: Scope) => JSON.stringify([scope.resources, scope.conditions ?? null]);

/**
 * The grants for a list of actions: one per distinct (resources, conditions), actions merged.
 *
 * @example
 * ```ts
 * grantsFor(['ec2:RevokeSecurityGroupIngress', 'ec2:RevokeSecurityGroupEgress'])
 * // [{ actions: [both], resources: ['arn:{partition}:ec2:{region}:{account}:security-group/*'] }]
 * ```
 */
export function grantsFor(actions: readonly string[]): Grant[] {
  const missing = actions.filter((a) => !ACTION_SCOPES[a]);
  if (missing.length) throw new UnscopedActionError([...new Set(missing)]);
  const byScope = new Map<string, Grant>();
  for (const action of [...new Set(actions)].sort()) {
    for (const scope of ACTION_SCOPES[action]!) {
      const grant = byScope.get(key(scope)) ?? { actions: [], resources: [...scope.resources], ...(scope.conditions ? { conditions: scope.conditions } : {}) };
      grant.actions.push(action);
      byScope.set(key(scope), grant);
    }
  }
  return [...byScope.values()];
}

/** Every action granted on `*`, with why nothing narrower is possible. */
export function wildcardActions(): { action: string; reason: string }[] {
  return Object.entries(ACTION_SCOPES).flatMap(([action, scopes]) => scopes.filter((s) => s.resources.includes('*')).map((s) => ({ action, reason: s.wildcard ?? '' })));
}
