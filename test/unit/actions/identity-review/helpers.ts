/** A tiny identity playbook's types and contexts for the identity-review factories' tests (not EC2's). */
import type { Event as CloudTrailApiEvent } from '@aws-sdk/client-cloudtrail';
import { defineStep, outputsReader, parseRecorded, type Step, type StepContext, type UndoContext } from '../../../../shared/engine/index.ts';
import { EvidenceStore } from '../../../../shared/evidence/index.ts';
import {
  ResourceReviewOptionsSchema,
  TrailReviewOptionsSchema,
  type ExpectedAccountInformation,
  type ResourceReviewOptions,
  type TrailReviewOptions,
} from '../../../../shared/actions/identity-review/index.ts';
import type { StepOutcome } from '../../../../shared/vocabulary/index.ts';
import { ACCOUNT_ID, aConfig, anIncident, anS3Client, EVIDENCE_BUCKET, FIXED_NOW, RESPONDER, silentLogger, someClients } from '../../helpers/factories.ts';

export const USER = 'alice';
export const USER_ARN = `arn:aws:iam::${ACCOUNT_ID}:user/${USER}`;
export const KEY = 'AKIAIOSFODNN7EXAMPLE';

/** The test playbook: one IAM user, its key, and the review options. */
export interface Ident {
  resource: { userName: string; arn: string; accessKeyId: string };
  capture: { userName: string };
  options: { cloudtrail_review: TrailReviewOptions; resource_review: ResourceReviewOptions; expected_account_information?: ExpectedAccountInformation };
}

export const identStep = defineStep<Ident>();

export function identOptions(overrides: { cloudtrail_review?: Partial<TrailReviewOptions>; resource_review?: Partial<ResourceReviewOptions>; expected_account_information?: ExpectedAccountInformation } = {}): Ident['options'] {
  return {
    cloudtrail_review: TrailReviewOptionsSchema.parse(overrides.cloudtrail_review ?? {}),
    resource_review: ResourceReviewOptionsSchema.parse(overrides.resource_review ?? {}),
    ...(overrides.expected_account_information ? { expected_account_information: overrides.expected_account_information } : {}),
  };
}

/** The incident of a compromised key: GuardDuty first saw the activity at 14:22 on 19 June 2025. */
export const anIdentIncident = () =>
  anIncident({
    playbook: 'iam-user',
    findingType: 'UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS',
    resource: { type: 'AccessKey', id: USER, hints: { accessKeyId: KEY, userType: 'IAMUser' } },
    activityFirstSeenAt: '2025-06-19T14:22:31.000Z',
  });

export function anIdentContext<D = unknown>(overrides: Partial<StepContext<Ident, D>> & { outcomes?: Record<string, StepOutcome> } = {}): StepContext<Ident, D> {
  const { outcomes = {}, ...rest } = overrides;
  return {
    ...outputsReader<Ident>(() => outcomes),
    incident: anIdentIncident(),
    resource: { userName: USER, arn: USER_ARN, accessKeyId: KEY },
    capture: { userName: USER },
    options: identOptions(),
    clients: someClients(),
    evidence: new EvidenceStore(anS3Client(), EVIDENCE_BUCKET),
    config: aConfig({ playbook: 'iam-user' }),
    logger: silentLogger(),
    now: () => FIXED_NOW,
    // The shared bucket always has a token here; tests of waiting give their own pacer.
    pacer: { acquire: async () => true },
    handOff: async () => ({ eventId: 'handoff' }),
    relate: async () => [],
    ...rest,
  } as StepContext<Ident, D>;
}

/** What the ledger keeps of a step's result (JSON round trip) as the outcome the engine hands back as `previous`/`outcomes`. */
export function outcomeOf<D>(step: Step<Ident, D>, result: { status: string; summary: string; data?: unknown }): StepOutcome<D> {
  const data = result.data === undefined ? undefined : (JSON.parse(JSON.stringify(result.data)) as unknown);
  return { stage: step.stage, status: result.status as StepOutcome['status'], summary: result.summary, attempts: 1, ...(data !== undefined ? { data: parseRecorded(step, data) } : {}) };
}

export function anIdentUndoContext<D>(step: Step<Ident, D>, result: { status: string; data?: unknown }): UndoContext<Ident, D> {
  if (result.status !== 'done') throw new Error(`${step.name} returned ${result.status}`);
  return {
    ...outputsReader<Ident>(() => ({})),
    incident: anIdentIncident(),
    capture: { userName: USER },
    request: { requestedBy: RESPONDER, reason: 'false positive', reattach: false, via: 'cli' },
    resource: async () => ({ userName: USER, arn: USER_ARN, accessKeyId: KEY }),
    clients: someClients(),
    logger: silentLogger(),
    now: () => FIXED_NOW,
    released: {},
    recorded: parseRecorded(step, JSON.parse(JSON.stringify(result.data))),
  };
}

let counter = 0;

/** A LookupEvents event as CloudTrail returns it: the summary fields and the full record as `CloudTrailEvent` JSON. */
export function trailEvent(record: {
  eventName: string;
  eventSource?: string;
  eventTime?: string;
  accessKeyId?: string;
  userIdentity?: Record<string, unknown>;
  requestParameters?: unknown;
  responseElements?: unknown;
  errorCode?: string;
  readOnly?: boolean;
  sourceIPAddress?: string;
  userAgent?: string;
  awsRegion?: string;
  resources?: Array<{ ResourceType?: string; ResourceName?: string }>;
  eventId?: string;
}): CloudTrailApiEvent {
  counter += 1;
  const eventId = record.eventId ?? `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`;
  const eventTime = record.eventTime ?? '2025-06-19T14:30:00Z';
  const accessKeyId = record.accessKeyId ?? KEY;
  const body = {
    eventVersion: '1.09',
    userIdentity: record.userIdentity ?? { type: 'IAMUser', principalId: 'AIDAEXAMPLEALICE', arn: USER_ARN, accountId: ACCOUNT_ID, accessKeyId, userName: USER },
    eventTime,
    eventSource: record.eventSource ?? 'iam.amazonaws.com',
    eventName: record.eventName,
    awsRegion: record.awsRegion ?? 'us-east-1',
    sourceIPAddress: record.sourceIPAddress ?? '198.51.100.23',
    userAgent: record.userAgent ?? 'aws-cli/2.15.0 Python/3.11.6 Linux/6.1',
    ...(record.errorCode ? { errorCode: record.errorCode, errorMessage: 'denied' } : {}),
    requestParameters: record.requestParameters ?? null,
    responseElements: record.responseElements ?? null,
    requestID: `req-${counter}`,
    eventID: eventId,
    readOnly: record.readOnly ?? false,
    eventType: 'AwsApiCall',
    recipientAccountId: ACCOUNT_ID,
  };
  return {
    EventId: eventId,
    EventName: record.eventName,
    ReadOnly: String(record.readOnly ?? false),
    AccessKeyId: accessKeyId,
    EventTime: new Date(eventTime),
    EventSource: body.eventSource,
    Username: USER,
    Resources: record.resources ?? [],
    CloudTrailEvent: JSON.stringify(body),
  };
}

/** `n` read-only calls (ListBuckets, DescribeInstances…) made with the key. */
export const readCalls = (n: number, name = 'ListBuckets'): CloudTrailApiEvent[] =>
  Array.from({ length: n }, () => trailEvent({ eventName: name, eventSource: 's3.amazonaws.com', readOnly: true }));
