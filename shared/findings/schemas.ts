import * as z from 'zod';
import { PLAYBOOK_NAMES } from './incident.ts';
import { cleanText } from './text.ts';

// Identifiers come from events that an attacker can influence (tags, names, user
// agents end up in findings). Everything we act on is matched against AWS's own
// identifier grammar; free text is only stored, truncated and stripped of control characters.
export const AccountIdSchema = z.string().regex(/^\d{12}$/, 'account id must be 12 digits');
export const RegionSchema = z.string().regex(/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/, 'not an AWS region name');
export const InstanceIdSchema = z.string().regex(/^i-[0-9a-f]{8}([0-9a-f]{9})?$/, 'not an EC2 instance id');
export const FindingIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'not a GuardDuty finding id');
export const TicketSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:#/-]{0,63}$/, 'ticket must be 1-64 characters of A-Z a-z 0-9 . _ : # / -');
export const BucketNameSchema = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'not an S3 bucket name');
// IAM user and role names: 1-64 of [\w+=,.@-] (no '/' or ':', which only paths and ARNs have).
export const IamNameSchema = z.string().regex(/^[\w+=,.@-]{1,64}$/, 'not an IAM user or role name');
export const EcsArnSchema = z.string().regex(/^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:(task|cluster)\/[A-Za-z0-9_\/-]+$/, 'not an ECS ARN');
export const ContainerIdSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'not a container id');
export const DbInstanceIdSchema = z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,62}$/, 'not a DB instance identifier');
export const PrincipalSchema = z.string().regex(/^[A-Za-z0-9._@+=,:\/-]{1,256}$/, 'requestedBy must be an IAM-style name or ARN');

/**
 * An EventBridge event's envelope, as Powertools' parser defines it (`EventBridgeSchema` of
 * `@aws-lambda-powertools/parser/schemas`, whose fields these are). Written here because that
 * module imports zod's `z` object, which brings every zod locale into a function's bundle (about
 * 370 KiB parsed on every cold start); the namespace import used here lets esbuild drop them.
 */
export const EventBridgeSchema = z.object({
  version: z.string(),
  id: z.string(),
  source: z.string(),
  account: z.string(),
  time: z.iso.datetime(),
  region: z.string(),
  resources: z.array(z.string()),
  'detail-type': z.string(),
  detail: z.unknown(),
  'replay-name': z.string().optional(),
});

const freeText = (max: number) => z.string().transform((s) => cleanText(s, max));

/**
 * A hint Firebreak never acts on: kept when it has the grammar of an id, dropped otherwise (sample findings say `GeneratedFindingVPCId`).
 * Optional: an absent key (a published ENI without `networkInterfaceId`) must not fail the list and lose the other hints.
 */
const hint = (re: RegExp) =>
  z
    .unknown()
    .transform((v) => (typeof v === 'string' && re.test(v) ? v : undefined))
    .optional();

const NetworkInterfaceSchema = z
  .object({
    networkInterfaceId: hint(/^eni-[0-9a-f]{8,17}$/),
    vpcId: hint(/^vpc-[0-9a-f]{8,17}$/),
  })
  .loose();

export const InstanceDetailsSchema = z
  .object({
    // Validated where it is acted on (an Instance finding's route); optional here, as a dummy block on other resource types may lack it.
    instanceId: z.unknown().optional(),
    networkInterfaces: z.array(NetworkInterfaceSchema).optional().catch(undefined),
  })
  .loose();

export const GuardDutyDetailSchema = z
  .object({
    schemaVersion: z.string().optional(),
    accountId: AccountIdSchema,
    region: RegionSchema,
    partition: z.string().regex(/^aws(-[a-z-]+)?$/).default('aws'),
    id: FindingIdSchema,
    arn: z.string().max(2048).optional(),
    type: z.string().regex(/^[A-Za-z0-9]+:[A-Za-z0-9]+\/[A-Za-z0-9.!&_-]+$/, 'not a GuardDuty finding type'),
    title: freeText(512).default(''),
    severity: z.number().min(0).max(10),
    createdAt: z.string(),
    updatedAt: z.string(),
    resource: z
      .object({
        resourceType: z.string().regex(/^[A-Za-z0-9]{1,64}$/),
        // Any shape: only an Instance finding acts on it (its route rejects a missing or invalid instance id).
        instanceDetails: InstanceDetailsSchema.optional().catch(undefined),
      })
      .loose(),
    service: z
      .object({
        archived: z.boolean().default(false),
        count: z.number().int().nonnegative().default(1),
        additionalInfo: z.object({ sample: z.unknown().optional() }).loose().optional().catch(undefined),
        action: z.unknown().optional(),
        // When the activity was first seen: where an identity review's CloudTrail window is anchored.
        eventFirstSeen: z.string().max(64).optional().catch(undefined),
        // When the activity was last seen: a time after a release opens a new containment generation.
        eventLastSeen: z.string().max(64).optional().catch(undefined),
      })
      .loose(),
  })
  .loose();

export const ManualDetailSchema = z.object({
  resource: z.object({
    resourceType: z.string().regex(/^[A-Za-z0-9]{1,64}$/),
    id: z.string().min(1).max(256),
  }),
  ticket: TicketSchema,
  requestedBy: PrincipalSchema,
  reason: freeText(512).optional(),
  accountId: AccountIdSchema.optional(),
  region: RegionSchema.optional(),
  severity: z.number().min(0).max(10).default(10),
});

/** `inc-` and 16 hex digits; a containment generation after the first adds `-g<n>` (2-9999). */
export const IncidentIdSchema = z
  .string()
  .regex(/^inc-[0-9a-f]{16}(-g([2-9]|[1-9]\d{1,3}))?$/, 'incident id must be inc- followed by 16 hex digits (and -g<n> for a later generation)');

/** A responder's request, put on the bus, to release (undo the containment of) one incident. */
export const ManualReleaseDetailSchema = z.object({
  incidentId: IncidentIdSchema,
  resource: z.object({
    resourceType: z.string().regex(/^[A-Za-z0-9]{1,64}$/),
    id: z.string().min(1).max(256),
  }),
  reason: freeText(512)
    .transform((s) => s.trim())
    .refine((s) => s.length > 0, 'reason must not be empty'),
  requestedBy: PrincipalSchema,
  reattach: z.boolean().default(false),
});

const ResourceNameSchema = z.object({
  resourceType: z.string().regex(/^[A-Za-z0-9]{1,64}$/),
  id: z.string().min(1).max(256),
});

/**
 * What a finding said of a principal handed over (`IAMUser` or `IAMRole`), in GuardDuty's
 * `accessKeyDetails` shape: the receiving playbook's hints (the exposed key, the session).
 */
export const HandoffAccessKeyDetailsSchema = z.object({
  userType: z.enum(['IAMUser', 'FederatedUser', 'AssumedRole']),
  userName: IamNameSchema,
  principalId: z.string().regex(/^[A-Za-z0-9+=,.@_:\/-]{1,256}$/).optional(),
  accessKeyId: z.string().regex(/^(AKIA|ASIA)[A-Z0-9]{12,124}$/).optional(),
});
export type HandoffAccessKeyDetails = z.infer<typeof HandoffAccessKeyDetailsSchema>;

/** What a hand-off names: a resource (`Instance`, `i-0abc…`), or a principal (`IAMUser`/`IAMRole`, `id` = its userName) with the finding's `accessKeyDetails`. */
export interface HandOffTarget {
  resourceType: string;
  id: string;
  accessKeyDetails?: HandoffAccessKeyDetails;
}

/** A playbook's request, from its function role, that another playbook contain a resource (origin `handoff`). */
export const HandoffDetailSchema = z.object({
  /** A principal hand-off may carry the finding's `accessKeyDetails` (its `userName` is the id). */
  resource: ResourceNameSchema.extend({ accessKeyDetails: HandoffAccessKeyDetailsSchema.optional() }),
  sourceIncident: z.object({
    incidentId: IncidentIdSchema,
    playbook: z.enum(PLAYBOOK_NAMES),
  }),
  reason: freeText(512)
    .transform((s) => s.trim())
    .refine((s) => s.length > 0, 'reason must not be empty'),
  /** The sending function, as it names itself (an event carries no identity: the bus policy admits only function roles and responders). */
  requestedBy: PrincipalSchema,
  severity: z.number().min(0).max(10).default(8),
  accountId: AccountIdSchema.optional(),
  region: RegionSchema.optional(),
});

/** `firebreak resume`: act now on an incident the ledger holds because the deployment was paused (origin `resume`). */
export const ResumeDetailSchema = z.object({
  incidentId: IncidentIdSchema,
  resource: ResourceNameSchema,
  requestedBy: PrincipalSchema,
});

/** `firebreak dlq redrive`: a DLQ message's event, delivered again (origin `redrive`). */
export const RedriveDetailSchema = z.object({
  /** The inner event's resource type, where the playbooks' rules look for it. */
  resource: z.object({ resourceType: z.string().regex(/^[A-Za-z0-9]{1,64}$/) }).loose(),
  event: z.record(z.string(), z.unknown()),
  requestedBy: PrincipalSchema,
  /** The DLQ and message it came from (for the record). */
  queue: z.string().max(1024).optional(),
  messageId: z.string().max(128).optional(),
});

export const GUARDDUTY_DETAIL_TYPE = 'GuardDuty Finding';
export const MANUAL_DETAIL_TYPE = 'Firebreak Manual Finding';
export const MANUAL_RELEASE_DETAIL_TYPE = 'Firebreak Manual Release';
export const MANUAL_SOURCE = 'firebreak.manual';
export const HANDOFF_SOURCE = 'firebreak.handoff';
export const HANDOFF_DETAIL_TYPE = 'Firebreak Hand-off';
export const REDRIVE_SOURCE = 'firebreak.redrive';
export const REDRIVE_DETAIL_TYPE = 'Firebreak Redrive';
export const RESUME_SOURCE = 'firebreak.resume';
export const RESUME_DETAIL_TYPE = 'Firebreak Resume';

/** Every event Firebreak takes from the responders' bus: its source and detail-type, one pair each. */
export const RESPONDERS_BUS_EVENTS = [
  { source: MANUAL_SOURCE, detailType: MANUAL_DETAIL_TYPE },
  { source: MANUAL_SOURCE, detailType: MANUAL_RELEASE_DETAIL_TYPE },
  { source: HANDOFF_SOURCE, detailType: HANDOFF_DETAIL_TYPE },
  { source: REDRIVE_SOURCE, detailType: REDRIVE_DETAIL_TYPE },
  { source: RESUME_SOURCE, detailType: RESUME_DETAIL_TYPE },
] as const;

export const FindingEventSchema = EventBridgeSchema.extend({
  source: z.enum(['aws.guardduty', MANUAL_SOURCE, HANDOFF_SOURCE, REDRIVE_SOURCE, RESUME_SOURCE], {
    message: `source must be aws.guardduty, ${MANUAL_SOURCE}, ${HANDOFF_SOURCE}, ${REDRIVE_SOURCE} or ${RESUME_SOURCE}`,
  }),
});

export type GuardDutyDetail = z.infer<typeof GuardDutyDetailSchema>;
export type ManualDetail = z.infer<typeof ManualDetailSchema>;
export type ManualReleaseDetail = z.infer<typeof ManualReleaseDetailSchema>;
export type HandoffDetail = z.infer<typeof HandoffDetailSchema>;
