/**
 * The hand-off channel between playbooks: a playbook step that finds a resource another playbook
 * must contain (a container's host for the EC2 playbook, an authorised S3 caller for the IAM
 * playbook) puts a Firebreak Hand-off on the responders' bus. The receiving playbook's manual
 * rule takes it; its incident has origin `handoff`, its own blast-radius budget, and is linked
 * in the ledger to the incident it came from. An event carries no identity: the bus policy
 * admits only the function roles and the responders, so `requestedBy` is what a trusted sender
 * wrote.
 */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SendOnly } from '../aws/lazy-client.ts';
import { StepFailedError } from '../errors/index.ts';
import { cleanText, HANDOFF_DETAIL_TYPE, HANDOFF_SOURCE, type HandoffDetail, type HandOffTarget, type Incident, type PlaybookName } from '../findings/index.ts';

export type { HandOffTarget };

/** IAM actions the hand-off needs (granted on the responders' bus only). */
export const HANDOFF_IAM_ACTIONS = ['events:PutEvents'] as const;

export interface HandOffRequest {
  /** The resource the receiving playbook contains, named as a manual finding names it (`Instance`, `i-0abc…`), or an `AccessKey` principal with its `accessKeyDetails`. */
  target: HandOffTarget;
  /** The incident handing the resource over. */
  source: Pick<Incident, 'incidentId' | 'playbook' | 'severity'>;
  /** Why (recorded as the receiving incident's title). */
  reason: string;
  /** The sending function (its name or role ARN), recorded as the requester. */
  requestedBy: string;
}

/**
 * Puts the hand-off on the responders' bus. Idempotent downstream: the receiving incident's id is
 * derived from the source incident and the target, so sending it again lands on the same
 * incident. Throws a retryable {@link StepFailedError} when the bus does not accept it.
 *
 * @example
 * ```ts
 * await handOff(events, config.respondersBus!, {
 *   target: { resourceType: 'Instance', id: hostInstanceId },
 *   source: ctx.incident,
 *   reason: `host of compromised container ${containerId}`,
 *   requestedBy: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'firebreak',
 * });
 * ```
 */
export async function handOff(events: SendOnly<EventBridgeClient>, busName: string, request: HandOffRequest): Promise<{ eventId: string }> {
  const detail: HandoffDetail = {
    resource: {
      resourceType: request.target.resourceType,
      id: request.target.id,
      ...(request.target.accessKeyDetails ? { accessKeyDetails: request.target.accessKeyDetails } : {}),
    },
    sourceIncident: { incidentId: request.source.incidentId, playbook: request.source.playbook as PlaybookName },
    reason: cleanText(request.reason, 512),
    requestedBy: request.requestedBy,
    severity: request.source.severity,
  };
  const out = await events.send(new (await import('../aws/sdk/client-eventbridge.ts')).PutEventsCommand({ Entries: [{ Source: HANDOFF_SOURCE, DetailType: HANDOFF_DETAIL_TYPE, Detail: JSON.stringify(detail), EventBusName: busName }] }));
  const entry = out.Entries?.[0];
  if (out.FailedEntryCount || !entry?.EventId) {
    throw new StepFailedError(
      'handOff',
      entry?.ErrorCode ?? 'HandOffNotAccepted',
      `the responders' bus ${busName} did not accept the hand-off of ${request.target.resourceType} ${request.target.id}: ${entry?.ErrorMessage ?? 'no event id returned'}`,
      { retryable: true },
    );
  }
  return { eventId: entry.EventId };
}
