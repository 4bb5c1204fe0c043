/**
 * What a principal created or changed, read from CloudTrail events: the resource each write names
 * (from `responseElements`, `requestParameters` and `resources`), typed by kind so the resource
 * review can check it still exists, tag it and — in `full` mode — neutralise it; and the exact
 * AWS CLI commands a human runs to delete it (Firebreak never deletes).
 */
import * as z from 'zod';
import type { TrailEvent } from '../cloudtrail.ts';

/** The kinds of resources the review knows how to check, tag, neutralise or at least name. */
export const SUSPECT_KINDS = [
  'instance',
  'iam-user',
  'access-key',
  'login-profile',
  'iam-role',
  'trust-policy',
  'managed-policy',
  'policy-version',
  'policy-attachment',
  'inline-policy',
  'mfa-device',
  'ssh-public-key',
  'service-specific-credential',
  'signing-certificate',
  'group-membership',
  'lambda-function',
  'key-pair',
  'security-group',
  'security-group-rule',
] as const;
export type SuspectKind = (typeof SUSPECT_KINDS)[number];

const text = (max: number) => z.string().max(max);

/** One resource a write created or changed (strings bounded: they come from CloudTrail, i.e. from the attacker). */
export const ChangeSchema = z.object({
  kind: z.enum([...SUSPECT_KINDS, 'other']),
  /** The resource's identifier (instance id, user name, key id, policy ARN…; for an attachment `user/<name>` and the policy). */
  id: text(200),
  eventName: text(64),
  eventSource: text(64),
  eventTime: text(40),
  eventId: text(64),
  region: text(32).optional(),
  user: text(64).optional(),
  role: text(64).optional(),
  group: text(128).optional(),
  policyArn: text(512).optional(),
  policyName: text(128).optional(),
  version: text(32).optional(),
  arn: text(512).optional(),
  /** A short qualifier: `ingress`/`egress`, the service of a service-specific credential, a key pair's name. */
  detail: text(128).optional(),
  /** Who made the change (the event's principal ARN). */
  by: text(256).optional(),
});
export type Change = z.infer<typeof ChangeSchema>;

/** API verbs that change something (a `readOnly` the event lacks is decided by them). */
const CHANGE_VERB =
  /^(Create|Put|Attach|Update|Run|Import|Upload|Add|Enable|Set|Modify|Authorize|Associate|Start|Register|Copy|Replace|Tag|Untag|Delete|Detach|Disable|Stop|Terminate|Remove|Revoke|Deactivate|Disassociate|Deregister|Reset|Change|Restore|Resync|Accept|Share|Publish|Invoke)/;

/** A write: CloudTrail says it is not read-only, or (when it does not say) its verb changes something. */
export const isWrite = (event: Pick<TrailEvent, 'readOnly' | 'eventName'>): boolean => event.readOnly === false || (event.readOnly === undefined && CHANGE_VERB.test(event.eventName));

const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'Client.UnauthorizedOperation', 'UnauthorizedAccess', 'UnauthorizedException']);

/** A call refused for lack of permission: many of them, on many APIs, is someone enumerating what a key may do. */
export const isDenied = (event: Pick<TrailEvent, 'errorCode'>): boolean => event.errorCode !== undefined && DENIED.has(event.errorCode);

/** Reads a field whatever CloudTrail's casing (`sSHPublicKey`, `SSHPublicKey`…). */
function field(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const name of path) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    const wanted = name.toLowerCase();
    const key = Object.keys(current).find((k) => k.toLowerCase() === wanted);
    current = key === undefined ? undefined : (current as Record<string, unknown>)[key];
  }
  return current;
}

const str = (value: unknown): string | undefined => (typeof value === 'string' && value.length > 0 ? value : typeof value === 'number' ? String(value) : undefined);
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined || value === null ? [] : [value]);

/** The caller's own IAM user name, when the caller is an IAM user (APIs without UserName act on the caller). */
function callerUser(event: TrailEvent): string | undefined {
  const m = /^arn:[^:]+:iam::\d{12}:user\/(?:.*\/)?([^/]+)$/.exec(event.principal ?? '');
  return m?.[1];
}

const cut = (value: string | undefined, max: number): string | undefined => (value === undefined ? undefined : value.slice(0, max));

type Extractor = (event: TrailEvent, req: unknown, resp: unknown) => Array<Omit<Change, 'eventName' | 'eventSource' | 'eventTime' | 'eventId' | 'region'>>;

const principalOf = (req: unknown): { kind: 'user' | 'role' | 'group'; name: string } | undefined => {
  for (const kind of ['user', 'role', 'group'] as const) {
    const name = str(field(req, `${kind}Name`));
    if (name) return { kind, name };
  }
  return undefined;
};

const EXTRACTORS: Record<string, Extractor> = {
  RunInstances: (_e, _req, resp) =>
    list(field(resp, 'instancesSet', 'items')).flatMap((i) => {
      const id = str(field(i, 'instanceId'));
      return id ? [{ kind: 'instance' as const, id }] : [];
    }),
  CreateUser: (_e, req, resp) => {
    const name = str(field(resp, 'user', 'userName')) ?? str(field(req, 'userName'));
    const arn = str(field(resp, 'user', 'arn'));
    return name ? [{ kind: 'iam-user', id: name, user: name, ...(arn ? { arn } : {}) }] : [];
  },
  CreateAccessKey: (e, req, resp) => {
    const id = str(field(resp, 'accessKey', 'accessKeyId'));
    const user = str(field(resp, 'accessKey', 'userName')) ?? str(field(req, 'userName')) ?? callerUser(e);
    return id ? [{ kind: 'access-key', id, ...(user ? { user } : {}) }] : [];
  },
  CreateLoginProfile: (e, req, resp) => loginProfile(e, req, resp),
  UpdateLoginProfile: (e, req, resp) => loginProfile(e, req, resp),
  CreateRole: (_e, req, resp) => {
    const name = str(field(resp, 'role', 'roleName')) ?? str(field(req, 'roleName'));
    const arn = str(field(resp, 'role', 'arn'));
    return name ? [{ kind: 'iam-role', id: name, role: name, ...(arn ? { arn } : {}) }] : [];
  },
  UpdateAssumeRolePolicy: (_e, req) => {
    const role = str(field(req, 'roleName'));
    return role ? [{ kind: 'trust-policy', id: role, role }] : [];
  },
  CreatePolicy: (_e, req, resp) => {
    const arn = str(field(resp, 'policy', 'arn'));
    const name = str(field(resp, 'policy', 'policyName')) ?? str(field(req, 'policyName'));
    return arn ? [{ kind: 'managed-policy', id: arn, policyArn: arn, ...(name ? { policyName: name } : {}) }] : [];
  },
  CreatePolicyVersion: (_e, req, resp) => {
    const policyArn = str(field(req, 'policyArn'));
    const version = str(field(resp, 'policyVersion', 'versionId'));
    const asDefault = field(req, 'setAsDefault') === true || field(req, 'setAsDefault') === 'true';
    return policyArn && version ? [{ kind: 'policy-version', id: `${policyArn}:${version}`, policyArn, version, ...(asDefault ? { detail: 'set as default' } : {}) }] : [];
  },
  SetDefaultPolicyVersion: (_e, req) => {
    const policyArn = str(field(req, 'policyArn'));
    const version = str(field(req, 'versionId'));
    return policyArn && version ? [{ kind: 'policy-version', id: `${policyArn}:${version}`, policyArn, version, detail: 'set as default' }] : [];
  },
  AttachUserPolicy: (_e, req) => attachment(req),
  AttachRolePolicy: (_e, req) => attachment(req),
  AttachGroupPolicy: (_e, req) => attachment(req),
  PutUserPolicy: (_e, req) => inlinePolicy(req),
  PutRolePolicy: (_e, req) => inlinePolicy(req),
  PutGroupPolicy: (_e, req) => inlinePolicy(req),
  CreateVirtualMFADevice: (_e, req, resp) => {
    const serial = str(field(resp, 'virtualMFADevice', 'serialNumber'));
    return serial ? [{ kind: 'mfa-device', id: serial, ...(str(field(req, 'virtualMFADeviceName')) ? { detail: str(field(req, 'virtualMFADeviceName')) } : {}) }] : [];
  },
  EnableMFADevice: (e, req) => {
    const serial = str(field(req, 'serialNumber'));
    const user = str(field(req, 'userName')) ?? callerUser(e);
    return serial ? [{ kind: 'mfa-device', id: serial, ...(user ? { user } : {}) }] : [];
  },
  UploadSSHPublicKey: (e, req, resp) => {
    const id = str(field(resp, 'sSHPublicKey', 'sSHPublicKeyId'));
    const user = str(field(resp, 'sSHPublicKey', 'userName')) ?? str(field(req, 'userName')) ?? callerUser(e);
    return id ? [{ kind: 'ssh-public-key', id, ...(user ? { user } : {}) }] : [];
  },
  CreateServiceSpecificCredential: (e, req, resp) => {
    const id = str(field(resp, 'serviceSpecificCredential', 'serviceSpecificCredentialId'));
    const user = str(field(resp, 'serviceSpecificCredential', 'userName')) ?? str(field(req, 'userName')) ?? callerUser(e);
    const service = str(field(resp, 'serviceSpecificCredential', 'serviceName')) ?? str(field(req, 'serviceName'));
    return id ? [{ kind: 'service-specific-credential', id, ...(user ? { user } : {}), ...(service ? { detail: service } : {}) }] : [];
  },
  UploadSigningCertificate: (e, req, resp) => {
    const id = str(field(resp, 'certificate', 'certificateId'));
    const user = str(field(resp, 'certificate', 'userName')) ?? str(field(req, 'userName')) ?? callerUser(e);
    return id ? [{ kind: 'signing-certificate', id, ...(user ? { user } : {}) }] : [];
  },
  AddUserToGroup: (_e, req) => {
    const user = str(field(req, 'userName'));
    const group = str(field(req, 'groupName'));
    return user && group ? [{ kind: 'group-membership', id: `${group}/${user}`, user, group }] : [];
  },
  ImportKeyPair: (_e, req, resp) => keyPair(req, resp),
  CreateKeyPair: (_e, req, resp) => keyPair(req, resp),
  CreateSecurityGroup: (_e, req, resp) => {
    const id = str(field(resp, 'groupId'));
    const name = str(field(req, 'groupName'));
    return id ? [{ kind: 'security-group', id, ...(name ? { detail: name } : {}) }] : [];
  },
  AuthorizeSecurityGroupIngress: (_e, req, resp) => rules(req, resp, 'ingress'),
  AuthorizeSecurityGroupEgress: (_e, req, resp) => rules(req, resp, 'egress'),
};

function loginProfile(e: TrailEvent, req: unknown, resp: unknown): ReturnType<Extractor> {
  const user = str(field(req, 'userName')) ?? str(field(resp, 'loginProfile', 'userName')) ?? callerUser(e);
  return user ? [{ kind: 'login-profile', id: user, user }] : [];
}

function attachment(req: unknown): ReturnType<Extractor> {
  const owner = principalOf(req);
  const policyArn = str(field(req, 'policyArn'));
  if (!owner || !policyArn) return [];
  return [{ kind: 'policy-attachment', id: `${owner.kind}/${owner.name}:${policyArn}`, [owner.kind]: owner.name, policyArn }];
}

function inlinePolicy(req: unknown): ReturnType<Extractor> {
  const owner = principalOf(req);
  const policyName = str(field(req, 'policyName'));
  if (!owner || !policyName) return [];
  return [{ kind: 'inline-policy', id: `${owner.kind}/${owner.name}:${policyName}`, [owner.kind]: owner.name, policyName }];
}

function keyPair(req: unknown, resp: unknown): ReturnType<Extractor> {
  const name = str(field(resp, 'keyName')) ?? str(field(req, 'keyName'));
  const id = str(field(resp, 'keyPairId')) ?? name;
  const fingerprint = str(field(resp, 'keyFingerprint'));
  return id ? [{ kind: 'key-pair', id, ...(name ? { detail: name } : {}), ...(fingerprint ? { version: fingerprint.slice(0, 32) } : {}) }] : [];
}

function rules(req: unknown, resp: unknown, direction: 'ingress' | 'egress'): ReturnType<Extractor> {
  const group = str(field(req, 'groupId'));
  const ids = list(field(resp, 'securityGroupRuleSet', 'items')).flatMap((r) => {
    const id = str(field(r, 'securityGroupRuleId'));
    return id ? [id] : [];
  });
  return ids.map((id) => ({ kind: 'security-group-rule' as const, id, detail: direction, ...(group ? { group } : {}) }));
}

/** The first identifier-looking value of a write the review has no rule for (for the report only). */
function otherTarget(event: TrailEvent): string {
  const named = event.resources.map((r) => r.name).filter((n): n is string => Boolean(n));
  if (named.length) return named.join(', ');
  const req = event.requestParameters;
  if (req && typeof req === 'object' && !Array.isArray(req)) {
    for (const [k, v] of Object.entries(req)) if (/(Name|Id|Arn)$/i.test(k) && str(v)) return `${k}=${str(v)}`;
  }
  return '(see the event)';
}

/**
 * The resources a successful write created or changed (none for a read or a failed call). A
 * write the review has no rule for is one `other` change naming what it can.
 *
 * @example
 * ```ts
 * changesOf(trailEventOf(createAccessKeyEvent))
 * // [{ kind: 'access-key', id: 'AKIA…', user: 'alice', eventName: 'CreateAccessKey', … }]
 * ```
 */
export function changesOf(event: TrailEvent): Change[] {
  if (event.errorCode || !isWrite(event)) return [];
  const base = {
    eventName: event.eventName.slice(0, 64),
    eventSource: event.eventSource.slice(0, 64),
    eventTime: event.eventTime.slice(0, 40),
    eventId: event.eventId.slice(0, 64),
    ...(event.awsRegion ? { region: event.awsRegion.slice(0, 32) } : {}),
    ...(event.principal ? { by: event.principal.slice(0, 256) } : {}),
  };
  // Lambda's CloudTrail names carry the API version (CreateFunction20150331).
  const name = /^CreateFunction\d/.test(event.eventName) ? 'CreateFunction' : event.eventName;
  if (name === 'CreateFunction') {
    const fn = str(field(event.responseElements, 'functionName')) ?? str(field(event.requestParameters, 'functionName'));
    const arn = str(field(event.responseElements, 'functionArn'));
    return fn ? [bounded({ ...base, kind: 'lambda-function', id: fn, ...(arn ? { arn } : {}) })] : [];
  }
  const extract = EXTRACTORS[name];
  if (!extract) return [bounded({ ...base, kind: 'other', id: otherTarget(event) })];
  return extract(event, event.requestParameters, event.responseElements).map((c) => bounded({ ...base, ...c }));
}

const LIMITS: Partial<Record<keyof Change, number>> = { id: 200, user: 64, role: 64, group: 128, policyArn: 512, policyName: 128, version: 32, arn: 512, detail: 128 };

function bounded(change: Change): Change {
  const out: Record<string, unknown> = { ...change };
  for (const [k, max] of Object.entries(LIMITS)) if (typeof out[k] === 'string') out[k] = cut(out[k] as string, max);
  return out as Change;
}

/** Quotes a value for a POSIX shell: values come from CloudTrail, i.e. possibly from the attacker. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The AWS CLI commands a human runs to delete (or undo) what a change created — after deciding it
 * is the attacker's. Firebreak never runs them.
 *
 * @example
 * ```ts
 * deleteCommands({ kind: 'access-key', id: 'AKIA…', user: 'alice', … })
 * // ['aws iam delete-access-key --user-name alice --access-key-id AKIA…']
 * ```
 */
export function deleteCommands(change: Change): string[] {
  const q = shellQuote;
  const region = change.region ? ` --region ${q(change.region)}` : '';
  const id = q(change.id);
  const user = change.user ? q(change.user) : '<user>';
  switch (change.kind) {
    case 'instance':
      return [`aws ec2 modify-instance-attribute${region} --instance-id ${id} --no-disable-api-termination`, `aws ec2 terminate-instances${region} --instance-ids ${id}`];
    case 'iam-user':
      return [
        `aws iam delete-login-profile --user-name ${id}`,
        `aws iam list-access-keys --user-name ${id}   # then: aws iam delete-access-key --user-name ${id} --access-key-id <each>`,
        `aws iam list-attached-user-policies --user-name ${id}   # then: aws iam detach-user-policy --user-name ${id} --policy-arn <each>`,
        `aws iam list-user-policies --user-name ${id}   # then: aws iam delete-user-policy --user-name ${id} --policy-name <each>`,
        `aws iam list-groups-for-user --user-name ${id}   # then: aws iam remove-user-from-group --user-name ${id} --group-name <each>`,
        `aws iam list-mfa-devices --user-name ${id}; aws iam list-ssh-public-keys --user-name ${id}; aws iam list-service-specific-credentials --user-name ${id}; aws iam list-signing-certificates --user-name ${id}   # delete each`,
        `aws iam delete-user --user-name ${id}`,
      ];
    case 'access-key':
      return [`aws iam delete-access-key --user-name ${user} --access-key-id ${id}`];
    case 'login-profile':
      return [`aws iam delete-login-profile --user-name ${user}`];
    case 'iam-role':
      return [
        `aws iam list-attached-role-policies --role-name ${id}   # then: aws iam detach-role-policy --role-name ${id} --policy-arn <each>`,
        `aws iam list-role-policies --role-name ${id}   # then: aws iam delete-role-policy --role-name ${id} --policy-name <each>`,
        `aws iam list-instance-profiles-for-role --role-name ${id}   # then: aws iam remove-role-from-instance-profile --role-name ${id} --instance-profile-name <each>`,
        `aws iam delete-role --role-name ${id}`,
      ];
    case 'trust-policy':
      return [`aws iam get-role --role-name ${id} --query Role.AssumeRolePolicyDocument   # compare with the trust policy it should have, then:`, `aws iam update-assume-role-policy --role-name ${id} --policy-document file://trust-policy.json`];
    case 'managed-policy':
      return [
        `aws iam list-entities-for-policy --policy-arn ${id}   # detach it from each`,
        `aws iam list-policy-versions --policy-arn ${id}   # then: aws iam delete-policy-version --policy-arn ${id} --version-id <each non-default>`,
        `aws iam delete-policy --policy-arn ${id}`,
      ];
    case 'policy-version': {
      const arn = q(change.policyArn ?? '<policy-arn>');
      const version = q(change.version ?? '<version>');
      return [`aws iam list-policy-versions --policy-arn ${arn}   # if ${version} is the default: aws iam set-default-policy-version --policy-arn ${arn} --version-id <the version it should be>`, `aws iam delete-policy-version --policy-arn ${arn} --version-id ${version}`];
    }
    case 'policy-attachment': {
      const arn = q(change.policyArn ?? '<policy-arn>');
      if (change.role) return [`aws iam detach-role-policy --role-name ${q(change.role)} --policy-arn ${arn}`];
      if (change.group) return [`aws iam detach-group-policy --group-name ${q(change.group)} --policy-arn ${arn}`];
      return [`aws iam detach-user-policy --user-name ${user} --policy-arn ${arn}`];
    }
    case 'inline-policy': {
      const name = q(change.policyName ?? '<policy-name>');
      if (change.role) return [`aws iam delete-role-policy --role-name ${q(change.role)} --policy-name ${name}`];
      if (change.group) return [`aws iam delete-group-policy --group-name ${q(change.group)} --policy-name ${name}`];
      return [`aws iam delete-user-policy --user-name ${user} --policy-name ${name}`];
    }
    case 'mfa-device':
      return [`aws iam deactivate-mfa-device --user-name ${user} --serial-number ${id}`, ...(change.id.includes(':mfa/') ? [`aws iam delete-virtual-mfa-device --serial-number ${id}`] : [])];
    case 'ssh-public-key':
      return [`aws iam delete-ssh-public-key --user-name ${user} --ssh-public-key-id ${id}`];
    case 'service-specific-credential':
      return [`aws iam delete-service-specific-credential --user-name ${user} --service-specific-credential-id ${id}`];
    case 'signing-certificate':
      return [`aws iam delete-signing-certificate --user-name ${user} --certificate-id ${id}`];
    case 'group-membership':
      return [`aws iam remove-user-from-group --group-name ${q(change.group ?? '<group>')} --user-name ${user}`];
    case 'lambda-function':
      return [`aws lambda delete-function${region} --function-name ${id}`];
    case 'key-pair':
      return [
        `aws ec2 delete-key-pair${region} --key-pair-id ${id}   # the public key stays in authorized_keys on every instance launched with it: remove it there too`,
      ];
    case 'security-group':
      return [`aws ec2 delete-security-group${region} --group-id ${id}`];
    case 'security-group-rule':
      return [`aws ec2 revoke-security-group-${change.detail === 'egress' ? 'egress' : 'ingress'}${region} --group-id ${q(change.group ?? '<group-id>')} --security-group-rule-ids ${id}`];
    default:
      return [];
  }
}
