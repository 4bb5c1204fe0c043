/** Typed factories for the S3 bucket playbook's unit tests (the EC2 ones live in helpers/factories.ts). */
import { outputsReader, parseRecorded, type ReleaseContext, type Step, type StepContext, type UndoContext } from '../../../../shared/engine/index.ts';
import { EvidenceStore } from '../../../../shared/evidence/index.ts';
import { incidentIdFor, type Incident } from '../../../../shared/findings/index.ts';
import { localPacer } from '../../../../shared/pacing/index.ts';
import { captureBucket, type S3Bucket } from '../../../../shared/playbooks/s3-bucket/describe.ts';
import { S3OptionsSchema, type S3Options } from '../../../../shared/playbooks/s3-bucket/options.ts';
import type { S3 } from '../../../../shared/playbooks/s3-bucket/types.ts';
import type { StepOutcome } from '../../../../shared/vocabulary/index.ts';
import { aConfig, ACCOUNT_ID, anIncident, anS3Client, EVIDENCE_BUCKET, FINDING_ID, FIXED_NOW, RESPONDER, silentLogger, someClients } from '../../helpers/factories.ts';

export const BUCKET = 'acme-prod-customer-exports';
export const OWNER_ID = '79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be';
export const ACCESS_KEY_ID = 'ASIA4EXAMPLEETLROLE5';
export const ROLE_NAME = 'etl-export-role';
export const ROLE_ARN = `arn:aws:iam::${ACCOUNT_ID}:role/${ROLE_NAME}`;

/** The public statement, a private one and a condition-restricted one, as a human would write them (spacing kept). */
export const PUBLIC_STATEMENT = `{
      "Sid": "PublicRead",
      "Effect": "Allow",
      "Principal": "*",
      "Action": "s3:GetObject",
      "Resource": "arn:aws:s3:::${BUCKET}/*"
    }`;
export const PRIVATE_STATEMENT = `{
      "Sid": "EtlWrites",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::${ACCOUNT_ID}:role/${ROLE_NAME}"},
      "Action": ["s3:PutObject", "s3:GetObject"],
      "Resource": "arn:aws:s3:::${BUCKET}/*"
    }`;
export const OFFICE_STATEMENT = `{
      "Sid": "OfficeOnly",
      "Effect": "Allow",
      "Principal": {"AWS": "*"},
      "Action": "s3:GetObject",
      "Resource": "arn:aws:s3:::${BUCKET}/*",
      "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}
    }`;
export const policyOf = (...statements: string[]) => `{
  "Version": "2012-10-17",
  "Statement": [
    ${statements.join(',\n    ')}
  ]
}`;
export const MIXED_POLICY = policyOf(PRIVATE_STATEMENT, PUBLIC_STATEMENT, OFFICE_STATEMENT);

export function anS3Incident(overrides: Partial<Incident> = {}): Incident {
  return anIncident({
    incidentId: incidentIdFor(ACCOUNT_ID, FINDING_ID, BUCKET),
    playbook: 's3-bucket',
    findingType: 'Exfiltration:S3/AnomalousBehavior',
    title: `Anomalous API requests on S3 bucket ${BUCKET}`,
    resource: { type: 'S3Bucket', id: BUCKET, hints: { userType: 'AssumedRole', userName: ROLE_NAME, principalId: 'AROA4EXAMPLEETLJOB01X:etl-nightly-session', accessKeyId: ACCESS_KEY_ID, api: 'GetObject' } },
    remoteIps: [],
    ...overrides,
  });
}

export function aBucket(overrides: Partial<S3Bucket> = {}): S3Bucket {
  return {
    name: BUCKET,
    region: 'us-east-1',
    policy: MIXED_POLICY,
    policyIsPublic: true,
    acl: { ownerId: OWNER_ID, grants: [{ grantee: `CanonicalUser:${OWNER_ID}`, permission: 'FULL_CONTROL' }] },
    publicAccessBlock: null,
    objectOwnership: 'ObjectWriter',
    tags: { DataClassification: 'confidential' },
    ...overrides,
  };
}

export const anS3Options = (overrides: Record<string, unknown> = {}): S3Options => S3OptionsSchema.parse(overrides);

type WithOutcomes = { outcomes?: Record<string, StepOutcome> };

/** A step context for an S3 step: the bucket as described (and captured, unless `capture` says otherwise), mockable clients. */
export function anS3StepContext<D = any>(overrides: Partial<StepContext<S3, D>> & WithOutcomes = {}): StepContext<S3, D> {
  const { outcomes = {}, ...rest } = overrides;
  const resource = rest.resource ?? aBucket();
  return {
    ...outputsReader<S3>(() => outcomes),
    incident: anS3Incident(),
    resource,
    capture: captureBucket(resource),
    options: anS3Options(),
    clients: someClients(),
    evidence: new EvidenceStore(anS3Client(), EVIDENCE_BUCKET),
    config: aConfig({ playbook: 's3-bucket' }),
    logger: silentLogger(),
    now: () => FIXED_NOW,
    pacer: localPacer({ sleep: async () => undefined }),
    handOff: async () => ({ eventId: 'handoff-event-id' }),
    relate: async () => [],
    ...rest,
  } as StepContext<S3, D>;
}

export function anS3ReleaseContext(overrides: Partial<Omit<ReleaseContext<S3>, 'resource'>> & WithOutcomes & { resource?: S3Bucket | undefined } = {}): ReleaseContext<S3> {
  const { outcomes = {}, resource: given, ...rest } = overrides;
  const resource = 'resource' in overrides ? given : aBucket();
  return {
    ...outputsReader<S3>(() => outcomes),
    incident: anS3Incident(),
    capture: captureBucket(aBucket()),
    request: { requestedBy: RESPONDER, reason: 'false positive', reattach: false, via: 'cli' },
    resource: async () => resource,
    clients: someClients(),
    logger: silentLogger(),
    now: () => FIXED_NOW,
    released: {},
    ...rest,
  };
}

/** What an undo receives: the data its step really returned, through JSON (as DynamoDB keeps it) and the step's schema. */
export function anS3UndoContext<D>(step: Step<S3, D>, result: { status: string; data?: unknown }, overrides: Parameters<typeof anS3ReleaseContext>[0] = {}): UndoContext<S3, D> {
  if (result.status !== 'done') throw new Error(`${step.name} returned ${result.status}: an undo runs only after done`);
  return { ...anS3ReleaseContext(overrides), recorded: parseRecorded(step, result.data === undefined ? undefined : JSON.parse(JSON.stringify(result.data))) };
}

export const aDoneOutcome = (data: unknown, stage: StepOutcome['stage'] = 'investigate'): StepOutcome => ({ stage, status: 'done', summary: 'done', attempts: 1, data });
