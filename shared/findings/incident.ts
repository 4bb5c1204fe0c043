import { createHash } from 'node:crypto';

/** Every playbook Firebreak knows, one per resource type of the seeds. */
export const PLAYBOOK_NAMES = [
  'ec2-instance',
  's3-bucket',
  'ecs-task',
  'container',
  'rds-instance',
  'iam-user',
  'iam-role',
  'account',
] as const;
export type PlaybookName = (typeof PLAYBOOK_NAMES)[number];

/** Where a finding came from. */
export type Origin = 'guardduty' | 'manual';

/** What the finding says about the resource to act on (validated identifiers only). */
export interface IncidentResource {
  /** GuardDuty resource type (`Instance`, `S3Bucket`, …). */
  type: string;
  /** The identifier the playbook acts on (instance id, bucket name, user name, …). */
  id: string;
  /** Hints from the finding (VPC id, ENI ids…); the playbook re-reads the truth from AWS. */
  hints: Record<string, string | string[]>;
}

/**
 * One finding about one resource, validated and normalised. Data flows one way:
 * event → Incident → plan → execution → ledger; no step reads the raw event.
 */
export interface Incident {
  /** Stable id: the same finding about the same resource always maps to the same incident. */
  incidentId: string;
  playbook: PlaybookName;
  origin: Origin;
  findingId: string;
  findingArn?: string;
  findingType: string;
  title: string;
  severity: number;
  accountId: string;
  region: string;
  partition: string;
  resource: IncidentResource;
  archived: boolean;
  sample: boolean;
  /** GuardDuty `service.count`: how many times the activity was seen. */
  count: number;
  createdAt: string;
  updatedAt: string;
  eventId: string;
  eventTime: string;
  ticket?: string;
  requestedBy?: string;
  /** Remote IPs named by the finding (for the record and later blocking). */
  remoteIps: string[];
}

/**
 * Derives the incident id from account, finding id and resource id, so that
 * redeliveries and GuardDuty's re-publications of a finding land on one record.
 *
 * @example
 * ```ts
 * incidentIdFor('111122223333', 'a1b2…', 'i-0abc') // 'inc-3f9c2e…' (16 hex)
 * ```
 */
export function incidentIdFor(accountId: string, findingId: string, resourceId: string): string {
  const digest = createHash('sha256').update(`${accountId}|${findingId}|${resourceId}`).digest('hex');
  return `inc-${digest.slice(0, 16)}`;
}
