import { z } from 'zod';
import { InvalidFindingError } from '../errors/index.ts';
import { incidentIdFor, type Incident, type IncidentResource, type PlaybookName } from './incident.ts';
import {
  FindingEventSchema,
  GUARDDUTY_DETAIL_TYPE,
  GuardDutyDetailSchema,
  InstanceIdSchema,
  MANUAL_DETAIL_TYPE,
  MANUAL_RELEASE_DETAIL_TYPE,
  ManualDetailSchema,
  ManualReleaseDetailSchema,
  type GuardDutyDetail,
} from './schemas.ts';

type Target = { playbook: PlaybookName; resource: IncidentResource };

const NAME = /^[A-Za-z0-9+=,.@_:\/-]{1,256}$/;

function issuesOf(error: z.ZodError, prefix: string): string[] {
  return error.issues.map((i) => `${prefix}${i.path.join('.')}: ${i.message}`);
}

function validId(schema: z.ZodType<string>, value: unknown, what: string): string {
  const r = schema.safeParse(value);
  if (!r.success) throw new InvalidFindingError([`${what}: ${r.error.issues[0]?.message ?? 'invalid'}`]);
  return r.data;
}

// IAM user and role names: 1-64 of [\w+=,.@-] (no '/' or ':', which only paths and ARNs have).
const IamNameSchema = z.string().regex(/^[\w+=,.@-]{1,64}$/, 'not an IAM user or role name');

/** Maps a GuardDuty resource to the playbook that handles it, with the id to act on. */
function targetsOfGuardDutyFinding(detail: GuardDutyDetail): Target[] {
  const resource = detail.resource as Record<string, any>;
  const type = detail.resource.resourceType;
  switch (type) {
    case 'Instance': {
      const details = detail.resource.instanceDetails;
      const instanceId = validId(InstanceIdSchema, details?.instanceId, 'resource.instanceDetails.instanceId');
      const enis = details?.networkInterfaces ?? [];
      const hints: Record<string, string | string[]> = {
        eniIds: enis.flatMap((n) => (n.networkInterfaceId ? [n.networkInterfaceId] : [])),
      };
      const vpcId = enis.find((n) => n.vpcId)?.vpcId;
      if (vpcId) hints.vpcId = vpcId;
      return [{ playbook: 'ec2-instance', resource: { type, id: instanceId, hints } }];
    }
    case 'S3Bucket': {
      const buckets: unknown[] = Array.isArray(resource.s3BucketDetails) ? resource.s3BucketDetails : [];
      if (buckets.length === 0) throw new InvalidFindingError(['resource.s3BucketDetails: no bucket named']);
      // One finding can name several buckets: each becomes its own incident.
      return buckets.map((b) => ({
        playbook: 's3-bucket' as const,
        resource: {
          type,
          id: validId(z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'not an S3 bucket name'), (b as any)?.name, 'resource.s3BucketDetails[].name'),
          hints: {},
        },
      }));
    }
    case 'AccessKey': {
      const key = resource.accessKeyDetails ?? {};
      const userType = String(key.userType ?? '');
      if (userType === 'Root') {
        return [{ playbook: 'account', resource: { type, id: detail.accountId, hints: { userType } } }];
      }
      const userName = validId(IamNameSchema, key.userName, 'resource.accessKeyDetails.userName');
      const hints: Record<string, string | string[]> = { userType };
      if (typeof key.accessKeyId === 'string' && /^(AKIA|ASIA)[A-Z0-9]{12,124}$/.test(key.accessKeyId)) hints.accessKeyId = key.accessKeyId;
      if (typeof key.principalId === 'string' && NAME.test(key.principalId)) hints.principalId = key.principalId;
      if (userType === 'IAMUser' || userType === 'FederatedUser') return [{ playbook: 'iam-user', resource: { type, id: userName, hints } }];
      if (userType === 'AssumedRole') return [{ playbook: 'iam-role', resource: { type, id: userName, hints } }];
      throw new InvalidFindingError([`resource.accessKeyDetails.userType: unsupported value ${JSON.stringify(userType).slice(0, 40)}`]);
    }
    case 'ECSCluster': {
      const cluster = resource.ecsClusterDetails ?? {};
      const id = validId(z.string().regex(/^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:(task|cluster)\/[A-Za-z0-9_\/-]+$/, 'not an ECS ARN'), cluster.taskDetails?.arn ?? cluster.arn, 'resource.ecsClusterDetails');
      return [{ playbook: 'ecs-task', resource: { type, id, hints: {} } }];
    }
    case 'Container': {
      const id = validId(z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'not a container id'), resource.containerDetails?.id, 'resource.containerDetails.id');
      const host = resource.instanceDetails?.instanceId;
      const hints: Record<string, string | string[]> = {};
      if (InstanceIdSchema.safeParse(host).success) hints.instanceId = host;
      return [{ playbook: 'container', resource: { type, id, hints } }];
    }
    case 'RDSDBInstance': {
      const id = validId(z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,62}$/, 'not a DB instance identifier'), resource.rdsDbInstanceDetails?.dbInstanceIdentifier, 'resource.rdsDbInstanceDetails.dbInstanceIdentifier');
      return [{ playbook: 'rds-instance', resource: { type, id, hints: {} } }];
    }
    default:
      throw new InvalidFindingError([`resource.resourceType: unknown resource type ${JSON.stringify(type)}`]);
  }
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

function remoteIpsOf(action: unknown): string[] {
  const found = new Set<string>();
  const visit = (node: unknown, depth: number): void => {
    if (depth > 8 || node === null || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node)) {
      // Only the remote side: local addresses are the victim's own. They appear at any
      // depth (portProbeAction.portProbeDetails[].localIpDetails), not only under the action.
      if (k === 'localIpDetails') continue;
      if (k === 'ipAddressV4' && typeof v === 'string' && IPV4.test(v)) found.add(v);
      else visit(v, depth + 1);
    }
  };
  visit(action, 0);
  return [...found];
}

/** A responder's request, from the bus, to release one incident (validated; free text cleaned). */
export interface ReleaseMessage {
  incidentId: string;
  /** The playbook of the resource the event names. */
  playbook: PlaybookName;
  /** The resource the event names; the release is refused unless the incident is about it. */
  resource: { type: string; id: string };
  reason: string;
  requestedBy: string;
  reattach: boolean;
  eventId: string;
  eventTime: string;
  /** The account and region of the event (who put it on the bus). */
  accountId: string;
  region: string;
}

/** What one SQS message asks for: containment of the incidents of a finding, or a release. */
export type ParsedMessage = { kind: 'findings'; incidents: Incident[] } | { kind: 'release'; release: ReleaseMessage };

/**
 * Parses one SQS message body (an EventBridge event): a finding (GuardDuty or a
 * Firebreak Manual Finding) becomes incidents, one per resource it names; a Firebreak
 * Manual Release becomes a release request. Throws {@link InvalidFindingError} with
 * every reason when the message is neither.
 *
 * @example
 * ```ts
 * const parsed = parseMessage(record.body);
 * if (parsed.kind === 'release') parsed.release.incidentId // 'inc-…'
 * ```
 */
export function parseMessage(body: string): ParsedMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch (cause) {
    throw new InvalidFindingError(['message body is not JSON'], { cause });
  }
  const envelope = FindingEventSchema.safeParse(raw);
  if (!envelope.success) throw new InvalidFindingError(issuesOf(envelope.error, 'event.'));
  const event = envelope.data;

  if (event.source === 'aws.guardduty') {
    if (event['detail-type'] !== GUARDDUTY_DETAIL_TYPE) {
      throw new InvalidFindingError([`detail-type ${JSON.stringify(event['detail-type'].slice(0, 80))} is not a GuardDuty finding`]);
    }
    const parsed = GuardDutyDetailSchema.safeParse(event.detail);
    if (!parsed.success) throw new InvalidFindingError(issuesOf(parsed.error, 'detail.'));
    const d = parsed.data;
    const sample = d.service.additionalInfo?.sample === true || d.title.startsWith('[SAMPLE]');
    const incidents = targetsOfGuardDutyFinding(d).map(({ playbook, resource }): Incident => ({
      incidentId: incidentIdFor(d.accountId, d.id, resource.id),
      playbook,
      origin: 'guardduty',
      findingId: d.id,
      ...(d.arn ? { findingArn: d.arn } : {}),
      findingType: d.type,
      title: d.title,
      severity: d.severity,
      accountId: d.accountId,
      region: d.region,
      partition: d.partition,
      resource,
      archived: d.service.archived,
      sample,
      count: d.service.count,
      createdAt: d.createdAt,
      updatedAt: d.updatedAt,
      eventId: event.id,
      eventTime: event.time,
      remoteIps: remoteIpsOf(d.service.action),
    }));
    return { kind: 'findings', incidents };
  }

  if (event['detail-type'] === MANUAL_RELEASE_DETAIL_TYPE) {
    const parsed = ManualReleaseDetailSchema.safeParse(event.detail);
    if (!parsed.success) throw new InvalidFindingError(issuesOf(parsed.error, 'detail.'));
    const r = parsed.data;
    const target = manualTarget(r.resource.resourceType, r.resource.id, 'manual releases');
    return {
      kind: 'release',
      release: {
        incidentId: r.incidentId,
        playbook: target.playbook,
        resource: { type: target.resource.type, id: target.resource.id },
        reason: r.reason,
        requestedBy: r.requestedBy,
        reattach: r.reattach,
        eventId: event.id,
        eventTime: event.time,
        accountId: event.account,
        region: event.region,
      },
    };
  }
  if (event['detail-type'] !== MANUAL_DETAIL_TYPE) {
    throw new InvalidFindingError([`detail-type must be ${JSON.stringify(MANUAL_DETAIL_TYPE)} or ${JSON.stringify(MANUAL_RELEASE_DETAIL_TYPE)} for source firebreak.manual`]);
  }
  const parsed = ManualDetailSchema.safeParse(event.detail);
  if (!parsed.success) throw new InvalidFindingError(issuesOf(parsed.error, 'detail.'));
  const m = parsed.data;
  const accountId = m.accountId ?? event.account;
  const region = m.region ?? event.region;
  const target = manualTarget(m.resource.resourceType, m.resource.id, 'manual findings');
  const findingId = `manual-${m.ticket.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  return {
    kind: 'findings',
    incidents: [
      {
        incidentId: incidentIdFor(accountId, findingId, target.resource.id),
        playbook: target.playbook,
        origin: 'manual',
        findingId,
        findingType: 'Manual:Firebreak/Containment',
        title: m.reason ?? `Manual containment requested by ${m.requestedBy}`,
        severity: m.severity,
        accountId,
        region,
        partition: 'aws',
        resource: target.resource,
        archived: false,
        sample: false,
        count: 1,
        createdAt: event.time,
        updatedAt: event.time,
        eventId: event.id,
        eventTime: event.time,
        ticket: m.ticket,
        requestedBy: m.requestedBy,
        remoteIps: [],
      },
    ],
  };
}

/**
 * Parses one SQS message body (an EventBridge event) into incidents — one per
 * resource the finding names. Throws {@link InvalidFindingError} with every
 * reason when the message is not a finding Firebreak can act on (a release
 * request included: use {@link parseMessage} to accept those).
 *
 * @example
 * ```ts
 * const [incident] = parseFindingMessage(record.body);
 * incident.playbook // 'ec2-instance'
 * ```
 */
export function parseFindingMessage(body: string): Incident[] {
  const parsed = parseMessage(body);
  if (parsed.kind === 'release') throw new InvalidFindingError([`a ${MANUAL_RELEASE_DETAIL_TYPE} is a release request, not a finding`]);
  return parsed.incidents;
}

function manualTarget(resourceType: string, id: string, what: string): Target {
  switch (resourceType) {
    case 'Instance':
      return { playbook: 'ec2-instance', resource: { type: resourceType, id: validId(InstanceIdSchema, id, 'detail.resource.id'), hints: {} } };
    default:
      throw new InvalidFindingError([`detail.resource.resourceType: ${what} for ${JSON.stringify(resourceType.slice(0, 64))} are not supported yet`]);
  }
}
