import * as z from 'zod';
import { InvalidFindingError } from '../errors/index.ts';
import { budgetOrigin, incidentIdFor, type Incident, type IncidentResource, type PlaybookName } from './incident.ts';
import {
  FindingEventSchema,
  GUARDDUTY_DETAIL_TYPE,
  AccountIdSchema,
  BucketNameSchema,
  ContainerIdSchema,
  DbInstanceIdSchema,
  EcsArnSchema,
  GuardDutyDetailSchema,
  HANDOFF_DETAIL_TYPE,
  HandoffDetailSchema,
  IamNameSchema,
  InstanceIdSchema,
  MANUAL_DETAIL_TYPE,
  MANUAL_RELEASE_DETAIL_TYPE,
  ManualDetailSchema,
  ManualReleaseDetailSchema,
  REDRIVE_DETAIL_TYPE,
  RedriveDetailSchema,
  REDRIVE_SOURCE,
  RESPONDERS_BUS_EVENTS,
  RESUME_DETAIL_TYPE,
  ResumeDetailSchema,
  type GuardDutyDetail,
  type HandoffDetail,
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
/** An ECS task definition ARN (family:revision). */
const ECS_TASK_DEFINITION_ARN = /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task-definition\/[A-Za-z0-9_-]{1,255}:\d{1,10}$/;
/** A container image reference: registry/repository[:tag][@digest]. */
const IMAGE = /^[A-Za-z0-9][A-Za-z0-9._\/:@-]{0,511}$/;
/** A database user or database name as a hint: any printable text of at most 128 characters (the SQL quotes it; never interpolated raw). */
const DB_USER = /^[^\u0000-\u001f\u007f]{1,128}$/u;
/** The grammar every hint keeps. */
const HINT_SAFE = /^[A-Za-z0-9:\/._+=,@-]{1,256}$/;

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
      // The actor (who made the calls), as hints the playbook verifies before acting on them.
      const hints = actorHints(resource.accessKeyDetails);
      const api = (detail.service.action as any)?.awsApiCallAction?.api;
      if (typeof api === 'string' && /^[A-Za-z0-9]{1,128}$/.test(api)) hints.api = api;
      // One finding can name several buckets: each becomes its own incident.
      return buckets.map((b) => ({
        playbook: 's3-bucket' as const,
        resource: { type, id: validId(BucketNameSchema, (b as any)?.name, 'resource.s3BucketDetails[].name'), hints: { ...hints } },
      }));
    }
    case 'AccessKey': {
      // GuardDuty names every principal an "AccessKey"; Firebreak names it as its playbooks and
      // its own events do (IAMUser, IAMRole, Account), so a release, resume or redrive names the
      // incident's resource the way the responders' rules route it.
      const key = resource.accessKeyDetails ?? {};
      const userType = String(key.userType ?? '');
      const firebreakType = ACCESS_KEY_USER_TYPES[userType];
      if (!firebreakType || !Object.prototype.hasOwnProperty.call(ACCESS_KEY_USER_TYPES, userType)) {
        return new Unhandled(`access key findings for userType ${JSON.stringify(userType.slice(0, 40))} have no playbook`);
      }
      const hints: Record<string, string | string[]> = { userType };
      if (typeof key.accessKeyId === 'string' && /^(AKIA|ASIA)[A-Z0-9]{12,124}$/.test(key.accessKeyId)) hints.accessKeyId = key.accessKeyId;
      if (typeof key.principalId === 'string' && NAME.test(key.principalId)) hints.principalId = key.principalId;
      // InstanceCredentialExfiltration: the instance the role's credentials were taken from.
      const instanceId = detail.resource.instanceDetails?.instanceId;
      if (InstanceIdSchema.safeParse(instanceId).success) hints.instanceId = instanceId as string;
      if (firebreakType === 'Account') {
        return [{ playbook: 'account', resource: { type: firebreakType, id: detail.accountId, hints } }];
      }
      const userName = validId(IamNameSchema, key.userName, 'resource.accessKeyDetails.userName');
      return [{ playbook: MANUAL_ROUTES[firebreakType]!.playbook, resource: { type: firebreakType, id: userName, hints } }];
    }
    case 'ECSCluster': {
      // GuardDuty names the cluster; the playbook acts on the task the finding saw (Firebreak's
      // own events name it ECSTask). A finding with no task names the cluster ARN.
      const cluster = resource.ecsClusterDetails ?? {};
      const task = cluster.taskDetails ?? {};
      const id = validId(EcsArnSchema, task.arn ?? cluster.arn, 'resource.ecsClusterDetails');
      const hints: Record<string, string | string[]> = {};
      if (EcsArnSchema.safeParse(cluster.arn).success) hints.clusterArn = cluster.arn;
      if (typeof task.definitionArn === 'string' && ECS_TASK_DEFINITION_ARN.test(task.definitionArn)) hints.taskDefinitionArn = task.definitionArn;
      if (task.launchType === 'FARGATE' || task.launchType === 'EC2' || task.launchType === 'EXTERNAL') hints.launchType = task.launchType;
      if (typeof task.group === 'string' && NAME.test(task.group)) hints.group = task.group;
      const host = resource.instanceDetails?.instanceId;
      if (InstanceIdSchema.safeParse(host).success) hints.instanceId = host;
      const containers: any[] = Array.isArray(task.containers) ? task.containers : [];
      hints.images = containers.flatMap((c) => (typeof c?.image === 'string' && IMAGE.test(c.image) ? [c.image] : []));
      hints.containerNames = containers.flatMap((c) => (typeof c?.name === 'string' && NAME.test(c.name) ? [c.name] : []));
      return [{ playbook: 'ecs-task', resource: { type: 'ECSTask', id, hints } }];
    }
    case 'Container': {
      const container = resource.containerDetails ?? {};
      const id = validId(ContainerIdSchema, container.id, 'resource.containerDetails.id');
      const host = resource.instanceDetails?.instanceId;
      const hints: Record<string, string | string[]> = {};
      if (InstanceIdSchema.safeParse(host).success) hints.instanceId = host;
      if (typeof container.name === 'string' && ContainerIdSchema.safeParse(container.name).success) hints.containerName = container.name;
      if (typeof container.image === 'string' && IMAGE.test(container.image)) hints.image = container.image;
      if (typeof container.containerRuntime === 'string' && /^[a-z0-9-]{1,32}$/.test(container.containerRuntime)) hints.containerRuntime = container.containerRuntime;
      return [{ playbook: 'container', resource: { type, id, hints } }];
    }
    case 'RDSDBInstance': {
      const db = resource.rdsDbInstanceDetails ?? {};
      const id = validId(DbInstanceIdSchema, db.dbInstanceIdentifier, 'resource.rdsDbInstanceDetails.dbInstanceIdentifier');
      const hints: Record<string, string | string[]> = {};
      if (DbInstanceIdSchema.safeParse(db.dbClusterIdentifier).success) hints.dbClusterIdentifier = db.dbClusterIdentifier;
      if (typeof db.engine === 'string' && /^[a-z0-9-]{1,40}$/.test(db.engine)) hints.engine = db.engine;
      if (typeof db.dbiResourceId === 'string' && /^db-[A-Z0-9]{1,64}$/.test(db.dbiResourceId)) hints.dbiResourceId = db.dbiResourceId;
      // The database user is hostile text (see databaseNameHint).
      Object.assign(hints, databaseNameHint('dbUser', resource.rdsDbUserDetails?.user));
      Object.assign(hints, databaseNameHint('database', resource.rdsDbUserDetails?.database));
      return [{ playbook: 'rds-instance', resource: { type, id, hints } }];
    }
    default:
      return new Unhandled(`resource type ${JSON.stringify(type)} has no playbook`);
  }
}

/**
 * A database user or database name as a hint. Hints keep the grammar of identifiers (they reach
 * logs, tags and reports), but a database name may be any text: one outside that grammar travels
 * base64url-encoded under `<key>Base64`, and {@link databaseNameOf} gives the text back for the SQL
 * to quote. Control characters or more than 128 characters: dropped.
 */
function databaseNameHint(key: string, value: unknown): Record<string, string> {
  if (typeof value !== 'string' || !DB_USER.test(value)) return {};
  if (HINT_SAFE.test(value)) return { [key]: value };
  return { [`${key}Base64`]: Buffer.from(value, 'utf8').toString('base64url') };
}

/**
 * The database user (`dbUser`) or database (`database`) an RDS incident's hints name, as the text
 * the finding gave: never interpolate it into SQL — quote it as an identifier.
 *
 * @example
 * ```ts
 * databaseNameOf(incident.resource.hints, 'dbUser') // 'svc_reporting'
 * ```
 */
export function databaseNameOf(hints: Readonly<Record<string, string | string[]>>, key: 'dbUser' | 'database'): string | undefined {
  const plain = hints[key];
  if (typeof plain === 'string') return plain;
  const encoded = hints[`${key}Base64`];
  return typeof encoded === 'string' ? Buffer.from(encoded, 'base64url').toString('utf8') : undefined;
}

/**
 * What a finding's `accessKeyDetails` says of the actor, kept only where it has the grammar of
 * its kind (hints, never acted on unchecked): userType, userName, principalId, accessKeyId.
 */
function actorHints(details: unknown): Record<string, string> {
  const key = (details ?? {}) as Record<string, unknown>;
  const hints: Record<string, string> = {};
  if (typeof key.userType === 'string' && /^[A-Za-z]{1,32}$/.test(key.userType)) hints.userType = key.userType;
  if (IamNameSchema.safeParse(key.userName).success) hints.userName = key.userName as string;
  if (typeof key.accessKeyId === 'string' && /^(AKIA|ASIA)[A-Z0-9]{12,124}$/.test(key.accessKeyId)) hints.accessKeyId = key.accessKeyId;
  if (typeof key.principalId === 'string' && NAME.test(key.principalId)) hints.principalId = key.principalId;
  return hints;
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

/**
 * `firebreak resume`'s request to act now on an incident held while the deployment was paused.
 * It names the incident and its resource; the finding itself is read from the ledger, never
 * from the event.
 */
export interface ResumeMessage {
  incidentId: string;
  resource: { type: string; id: string };
  requestedBy: string;
  eventId: string;
  eventTime: string;
  accountId: string;
  region: string;
  /** Set when the resume itself came back from a DLQ (`firebreak dlq redrive`). */
  redrivenBy?: string;
}

/** What one SQS message asks for: containment of the incidents of a finding, a release, a resume, or nothing (an ignored finding). */
export type ParsedMessage =
  | { kind: 'findings'; incidents: Incident[] }
  | { kind: 'release'; release: ReleaseMessage }
  | { kind: 'resume'; resume: ResumeMessage }
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
  return parseEvent(raw);
}

/** Parses one EventBridge event (already decoded from JSON): see {@link parseMessage}. */
export function parseEvent(raw: unknown): ParsedMessage {
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
      ...(d.service.eventFirstSeen && !Number.isNaN(Date.parse(d.service.eventFirstSeen)) ? { activityFirstSeenAt: d.service.eventFirstSeen } : {}),
      ...(d.service.eventLastSeen && !Number.isNaN(Date.parse(d.service.eventLastSeen)) ? { activityLastSeenAt: d.service.eventLastSeen } : {}),
    }));
    return { kind: 'findings', incidents };
  }

  const pair = RESPONDERS_BUS_EVENTS.find((e) => e.source === event.source && e.detailType === event['detail-type']);
  if (!pair) {
    throw new InvalidFindingError([
      `source ${event.source} with detail-type ${JSON.stringify(event['detail-type'].slice(0, 80))} is not an event Firebreak takes (${RESPONDERS_BUS_EVENTS.map((e) => `${e.source}/${e.detailType}`).join(', ')})`,
    ]);
  }
  if (event['detail-type'] === HANDOFF_DETAIL_TYPE) return parseHandoff(event);
  if (event['detail-type'] === RESUME_DETAIL_TYPE) {
    const parsed = ResumeDetailSchema.safeParse(event.detail);
    if (!parsed.success) throw new InvalidFindingError(issuesOf(parsed.error, 'detail.'));
    const r = parsed.data;
    return {
      kind: 'resume',
      resume: { incidentId: r.incidentId, resource: { type: r.resource.resourceType, id: r.resource.id }, requestedBy: r.requestedBy, eventId: event.id, eventTime: event.time, accountId: event.account, region: event.region },
    };
  }
  if (event['detail-type'] === REDRIVE_DETAIL_TYPE) return parseRedrive(event);

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
  const parsed = ManualDetailSchema.safeParse(event.detail);
  if (!parsed.success) throw new InvalidFindingError(issuesOf(parsed.error, 'detail.'));
  const m = parsed.data;
  const { accountId, region } = whereItWasPut(event, m);
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

type Envelope = { id: string; time: string; account: string; region: string; source: string; detail?: unknown };

/**
 * A responder's or a function's event acts where it was put on the bus: EventBridge sets
 * `account` and `region` to the sender's, the detail is only what the sender wrote. Naming
 * another account or region is refused.
 */
function whereItWasPut(event: Envelope, named: { accountId?: string | undefined; region?: string | undefined }): { accountId: string; region: string } {
  const elsewhere = [
    ...(named.accountId !== undefined && named.accountId !== event.account ? [`detail.accountId ${named.accountId} is not the account that put the event on the bus (${event.account})`] : []),
    ...(named.region !== undefined && named.region !== event.region ? [`detail.region ${named.region} is not the region of the bus (${event.region})`] : []),
  ];
  if (elsewhere.length) throw new InvalidFindingError(elsewhere);
  return { accountId: event.account, region: event.region };
}

/**
 * A playbook hands a resource over to another playbook (a container's host to the EC2
 * playbook, an authorised S3 caller to the IAM playbook). One incident per source incident and
 * target resource, however often it is sent; linked to its source incident.
 */
function parseHandoff(event: Envelope): ParsedMessage {
  const parsed = HandoffDetailSchema.safeParse(event.detail);
  if (!parsed.success) throw new InvalidFindingError(issuesOf(parsed.error, 'detail.'));
  const h = parsed.data;
  const { accountId, region } = whereItWasPut(event, h);
  const target = h.resource.accessKeyDetails ? principalHandoffRoute(h.resource) : manualRoute(h.resource.resourceType, h.resource.id, 'hand-offs');
  const findingId = `handoff-${h.sourceIncident.incidentId}`;
  return {
    kind: 'findings',
    incidents: [
      {
        incidentId: incidentIdFor(accountId, findingId, target.resource.id),
        playbook: target.playbook,
        origin: 'handoff',
        findingId,
        findingType: 'Handoff:Firebreak/Containment',
        title: h.reason,
        severity: h.severity,
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
        requestedBy: h.requestedBy,
        remoteIps: [],
        derivedFrom: { kind: 'handoff', incidentId: h.sourceIncident.incidentId, playbook: h.sourceIncident.playbook },
      },
    ],
  };
}

/**
 * A principal handed over with what a finding said of it (an S3 bucket's authorised source, handed
 * to the IAM playbooks): named as Firebreak's events name it (`IAMUser`, `IAMRole`: the
 * responders' rules route on that) and carrying GuardDuty's `accessKeyDetails` as hints (the
 * exposed key, the session), which must agree with it.
 */
function principalHandoffRoute(resource: HandoffDetail['resource']): Route {
  const details = resource.accessKeyDetails!;
  const named = ACCESS_KEY_USER_TYPES[details.userType];
  if (!named || named === 'Account' || named !== resource.resourceType) {
    throw new InvalidFindingError([`detail.resource.accessKeyDetails.userType: ${JSON.stringify(details.userType)} is not a principal of resource type ${JSON.stringify(resource.resourceType)} (IAMUser and FederatedUser: IAMUser; AssumedRole: IAMRole)`]);
  }
  if (details.userName !== resource.id) throw new InvalidFindingError([`detail.resource.id: a principal hand-off's id is its accessKeyDetails.userName (${details.userName})`]);
  const route = manualRoute(resource.resourceType, resource.id, 'hand-offs');
  const { userName: _name, ...hints } = actorHints(details);
  return { playbook: route.playbook, resource: { ...route.resource, hints } };
}

/**
 * A DLQ message's event, put back on the responders' bus by `firebreak dlq redrive`: the inner
 * event is parsed as it would have been, and its incidents are delivered with origin `redrive`,
 * counted against the budget of the finding they re-deliver. The inner event must come from the
 * same account (a redrive acts where it was put); a redrive of a redrive is refused (the CLI
 * unwraps before it re-publishes).
 */
function parseRedrive(event: Envelope): ParsedMessage {
  const parsed = RedriveDetailSchema.safeParse(event.detail);
  if (!parsed.success) throw new InvalidFindingError(issuesOf(parsed.error, 'detail.'));
  const r = parsed.data;
  const inner = r.event as { source?: unknown; account?: unknown };
  if (inner.source === REDRIVE_SOURCE) throw new InvalidFindingError(['detail.event: a redrive cannot carry another redrive (unwrap it)']);
  if (inner.account !== event.account) {
    throw new InvalidFindingError([`detail.event.account ${JSON.stringify(String(inner.account).slice(0, 20))} is not the account that put the redrive on the bus (${event.account})`]);
  }
  let message: ParsedMessage;
  try {
    message = parseEvent(r.event);
  } catch (error) {
    if (error instanceof InvalidFindingError) throw new InvalidFindingError(error.reasons.map((reason) => `detail.event: ${reason}`), { cause: error });
    throw error;
  }
  switch (message.kind) {
    case 'findings':
      return {
        kind: 'findings',
        incidents: message.incidents.map((i) => ({ ...i, origin: 'redrive', redelivery: { origin: 'redrive', of: budgetOrigin(i), requestedBy: r.requestedBy } })),
      };
    case 'resume':
      return { kind: 'resume', resume: { ...message.resume, redrivenBy: r.requestedBy } };
    default:
      return message;
  }
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
  if (parsed.kind === 'resume') throw new InvalidFindingError([`a ${RESUME_DETAIL_TYPE} names an incident of the ledger, not a finding`]);
  return parsed.kind === 'findings' ? parsed.incidents : [];
}

/**
 * The principal an AccessKey finding is about, by `accessKeyDetails.userType`, as Firebreak names
 * it: a `FederatedUser` is a GetFederationToken session of an IAM user (the iam-user playbook finds
 * that user); SAML and OIDC sessions arrive as `AssumedRole`.
 */
export const ACCESS_KEY_USER_TYPES: Readonly<Record<string, 'IAMUser' | 'IAMRole' | 'Account'>> = {
  IAMUser: 'IAMUser',
  FederatedUser: 'IAMUser',
  AssumedRole: 'IAMRole',
  Root: 'Account',
};

/**
 * The resource type Firebreak's own events (manual findings, hand-offs, releases, resumes,
 * redrives) name for a GuardDuty resource: the same, except for the principal of an AccessKey
 * finding ({@link ACCESS_KEY_USER_TYPES}); undefined for an AccessKey finding with no playbook.
 *
 * @example
 * ```ts
 * responderResourceType({ resourceType: 'AccessKey', accessKeyDetails: { userType: 'AssumedRole' } }) // 'IAMRole'
 * responderResourceType({ resourceType: 'Instance' }) // 'Instance'
 * ```
 */
export function responderResourceType(resource: { resourceType?: unknown; accessKeyDetails?: { userType?: unknown } | null }): string | undefined {
  if (typeof resource.resourceType !== 'string') return undefined;
  // GuardDuty's ECSCluster findings name a task; Firebreak's events name it ECSTask.
  if (resource.resourceType === 'ECSCluster') return 'ECSTask';
  if (resource.resourceType !== 'AccessKey') return resource.resourceType;
  const userType = String(resource.accessKeyDetails?.userType ?? '');
  return Object.prototype.hasOwnProperty.call(ACCESS_KEY_USER_TYPES, userType) ? ACCESS_KEY_USER_TYPES[userType] : undefined;
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
