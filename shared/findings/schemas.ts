import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas';
import { z } from 'zod';
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

export const IncidentIdSchema = z.string().regex(/^inc-[0-9a-f]{16}$/, 'incident id must be inc- followed by 16 hex digits');

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

export const FindingEventSchema = EventBridgeSchema.extend({
  source: z.enum(['aws.guardduty', 'firebreak.manual'], { message: 'source must be aws.guardduty or firebreak.manual' }),
});

export const GUARDDUTY_DETAIL_TYPE = 'GuardDuty Finding';
export const MANUAL_DETAIL_TYPE = 'Firebreak Manual Finding';
export const MANUAL_RELEASE_DETAIL_TYPE = 'Firebreak Manual Release';
export const MANUAL_SOURCE = 'firebreak.manual';

export type GuardDutyDetail = z.infer<typeof GuardDutyDetailSchema>;
export type ManualDetail = z.infer<typeof ManualDetailSchema>;
export type ManualReleaseDetail = z.infer<typeof ManualReleaseDetailSchema>;
