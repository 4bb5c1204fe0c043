import { z } from 'zod';
import { InvalidFindingError } from '../errors/index.ts';
import { incidentIdFor, type Incident, type IncidentResource, type PlaybookName } from './incident.ts';
import {
  FindingEventSchema,
  GUARDDUTY_DETAIL_TYPE,
  AccountIdSchema,
  BucketNameSchema,
  ContainerIdSchema,
  DbInstanceIdSchema,
  EcsArnSchema,
  GuardDutyDetailSchema,
  IamNameSchema,
  InstanceIdSchema,
  MANUAL_DETAIL_TYPE,
  MANUAL_RELEASE_DETAIL_TYPE,
  ManualDetailSchema,
  ManualReleaseDetailSchema,
  type GuardDutyDetail,
} from './schemas.ts';

/** Where a finding goes: the playbook, and the resource it acts on. */
type Route = { playbook: PlaybookName; resource: IncidentResource };

/** A well-formed finding that no playbook acts on. */
class Unhandled {
  readonly reason: string;
  constructor(reason: string) {
    this.reason = reason;
  }
}

const NAME = /^[A-Za-z0-9+=,.@_:\/-]{1,256}$/;

function issuesOf(error: z.ZodError, prefix: string): string[] {
  return error.issues.map((i) => `${prefix}${i.path.join('.')}: ${i.message}`);
}

function validId(schema: z.ZodType<string>, value: unknown, what: string): string {
  const r = schema.safeParse(value);
  if (!r.success) throw new InvalidFindingError([`${what}: ${r.error.issues[0]?.message ?? 'invalid'}`]);
  return r.data;
}

/** Maps a GuardDuty resource to the playbook that handles it, with the id to act on (validated: it is what Firebreak acts on). */
function routesOfGuardDutyFinding(detail: GuardDutyDetail): Route[] | Unhandled {
  const resource = detail.resource as Record<string, any>;
  const type = detail.resource.resourceType;
  switch (type) {
    case 'Instance': {
      const details = detail.resource.instanceDetails;
      const instanceId = validId(InstanceIdSchema, details?.instanceId, 'resource.instanceDetails.instanceId');
      // Hints only: the playbook reads the truth from AWS, so a hint that is not an id is dropped, never a reason to reject.
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
        resource: { type, id: validId(BucketNameSchema, (b as any)?.name, 'resource.s3BucketDetails[].name'), hints: {} },
      }));
    }
    case 'AccessKey': {
      const key = resource.accessKeyDetails ?? {};
      const userType = String(key.userType ?? '');
      if (userType === 'Root') {
        return [{ playbook: 'account', resource: { type, id: detail.accountId, hints: { userType } } }];
      }
      const playbook = userType === 'IAMUser' || userType === 'FederatedUser' ? 'iam-user' : userType === 'AssumedRole' ? 'iam-role' : undefined;
      if (!playbook) return new Unhandled(`access key findings for userType ${JSON.stringify(userType.slice(0, 40))} have no playbook`);
      const userName = validId(IamNameSchema, key.userName, 'resource.accessKeyDetails.userName');
      const hints: Record<string, string | string[]> = { userType };
      if (typeof key.accessKeyId === 'string' && /^(AKIA|ASIA)[A-Z0-9]{12,124}$/.test(key.accessKeyId)) hints.accessKeyId = key.accessKeyId;
      if (typeof key.principalId === 'string' && NAME.test(key.principalId)) hints.principalId = key.principalId;
      return [{ playbook, resource: { type, id: userName, hints } }];
    }
    case 'ECSCluster': {
      const cluster = resource.ecsClusterDetails ?? {};
      const id = validId(EcsArnSchema, cluster.taskDetails?.arn ?? cluster.arn, 'resource.ecsClusterDetails');
      return [{ playbook: 'ecs-task', resource: { type, id, hints: {} } }];
    }
    case 'Container': {
      const id = validId(ContainerIdSchema, resource.containerDetails?.id, 'resource.containerDetails.id');
      const host = resource.instanceDetails?.instanceId;
      const hints: Record<string, string | string[]> = {};
      if (InstanceIdSchema.safeParse(host).success) hints.instanceId = host;
      return [{ playbook: 'container', resource: { type, id, hints } }];
    }
    case 'RDSDBInstance': {
      const id = validId(DbInstanceIdSchema, resource.rdsDbInstanceDetails?.dbInstanceIdentifier, 'resource.rdsDbInstanceDetails.dbInstanceIdentifier');
      return [{ playbook: 'rds-instance', resource: { type, id, hints: {} } }];
    }
    default:
      return new Unhandled(`resource type ${JSON.stringify(type)} has no playbook`);
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

/** A well-formed GuardDuty finding no playbook acts on: a sample (never acted on), or a resource type no playbook handles. */
export interface IgnoredFinding {
  why: 'sample' | 'unhandled';
  reason: string;
  findingId: string;
  findingType: string;
  resourceType: string;
  accountId: string;
  region: string;
  title: string;
}

/** What one SQS message asks for: containment of the incidents of a finding, a release, or nothing (an ignored finding). */
export type ParsedMessage =
  | { kind: 'findings'; incidents: Incident[] }
  | { kind: 'release'; release: ReleaseMessage }
  | { kind: 'ignored'; finding: IgnoredFinding };

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
    const ignored = (why: IgnoredFinding['why'], reason: string): ParsedMessage => ({
      kind: 'ignored',
      finding: { why, reason, findingId: d.id, findingType: d.type, resourceType: d.resource.resourceType, accountId: d.accountId, region: d.region, title: d.title },
    });
    // A sample never reaches a playbook: its resource is a placeholder (GeneratedFindingVPCId,
    // i-99999999), and nothing about it may be acted on.
    if (isSample(d)) return ignored('sample', 'a GuardDuty sample finding (CreateSampleFindings): never acted on');
    const routes = routesOfGuardDutyFinding(d);
    if (routes instanceof Unhandled) return ignored('unhandled', routes.reason);
    const incidents = routes.map(({ playbook, resource }): Incident => ({
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
      sample: false,
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
    const target = manualRoute(r.resource.resourceType, r.resource.id, 'manual releases');
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
  // A manual finding acts where it was put on the bus: EventBridge sets `account` and `region` to
  // the sender's, the detail is only what the sender wrote. Naming another account is refused.
  const accountId = event.account;
  const region = event.region;
  const elsewhere = [
    ...(m.accountId !== undefined && m.accountId !== accountId ? [`detail.accountId ${m.accountId} is not the account that put the event on the bus (${accountId})`] : []),
    ...(m.region !== undefined && m.region !== region ? [`detail.region ${m.region} is not the region of the bus (${region})`] : []),
  ];
  if (elsewhere.length) throw new InvalidFindingError(elsewhere);
  const target = manualRoute(m.resource.resourceType, m.resource.id, 'manual findings');
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
 * resource the finding names; none for a sample or a resource type no playbook handles. Throws {@link InvalidFindingError} with every
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
  return parsed.kind === 'findings' ? parsed.incidents : [];
}

/** The resource types a manual finding or release may name, with the playbook and the grammar of the id. */
const MANUAL_ROUTES: Record<string, { playbook: PlaybookName; id: z.ZodType<string> }> = {
  Instance: { playbook: 'ec2-instance', id: InstanceIdSchema },
  S3Bucket: { playbook: 's3-bucket', id: BucketNameSchema },
  IAMUser: { playbook: 'iam-user', id: IamNameSchema },
  IAMRole: { playbook: 'iam-role', id: IamNameSchema },
  Account: { playbook: 'account', id: AccountIdSchema },
  ECSTask: { playbook: 'ecs-task', id: EcsArnSchema },
  Container: { playbook: 'container', id: ContainerIdSchema },
  RDSDBInstance: { playbook: 'rds-instance', id: DbInstanceIdSchema },
};

/** The resource types a manual finding (`firebreak contain <type> <id>`) may name, and the playbook of each. */
export const MANUAL_RESOURCE_TYPES: Readonly<Record<string, PlaybookName>> = Object.fromEntries(Object.entries(MANUAL_ROUTES).map(([type, r]) => [type, r.playbook]));

function manualRoute(resourceType: string, id: string, what: string): Route {
  const route = MANUAL_ROUTES[resourceType];
  if (!route || !Object.prototype.hasOwnProperty.call(MANUAL_ROUTES, resourceType)) {
    throw new InvalidFindingError([`detail.resource.resourceType: ${what} name one of ${Object.keys(MANUAL_ROUTES).join(', ')}, not ${JSON.stringify(resourceType.slice(0, 64))}`]);
  }
  return { playbook: route.playbook, resource: { type: resourceType, id: validId(route.id, id, 'detail.resource.id'), hints: {} } };
}

/**
 * Sample findings carry `additionalInfo.sample` (true, or "true" in some exports) and often a
 * `[SAMPLE]` title; findings that went through an AWS SDK keep additionalInfo only as a JSON
 * string in `additionalInfo.value`.
 */
function isSample(d: GuardDutyDetail): boolean {
  const info = d.service.additionalInfo as { sample?: unknown; value?: unknown } | undefined;
  const flagged = (flag: unknown) => flag === true || flag === 'true';
  if (flagged(info?.sample) || d.title.startsWith('[SAMPLE]')) return true;
  if (typeof info?.value !== 'string' || !info.value.includes('sample')) return false;
  try {
    return flagged((JSON.parse(info.value) as { sample?: unknown } | null)?.sample);
  } catch {
    return false;
  }
}
