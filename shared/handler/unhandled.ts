import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod';
import { createPlatformClients, type PlatformClients } from '../aws/index.ts';
import { ConfigurationError, InvalidFindingError } from '../errors/index.ts';
import { parseMessage, type IgnoredFinding, type Incident } from '../findings/index.ts';
import { Ledger } from '../ledger/index.ts';
import { createLogger } from '../logging/index.ts';
import { Notifier } from '../notifications/index.ts';
import { tellAndRecord } from './tell.ts';

/** What the catch-all's records and notifications name as the function the finding arrived at. */
export const UNHANDLED_FUNCTION = 'unhandled';

const UnhandledEnvironmentSchema = z.object({
  FIREBREAK_LEDGER_TABLE: z.string({ message: 'FIREBREAK_LEDGER_TABLE is required (the DynamoDB ledger table name)' }).min(3, 'FIREBREAK_LEDGER_TABLE is required (the DynamoDB ledger table name)'),
  FIREBREAK_TOPIC_ARN: z
    .string()
    .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/, 'FIREBREAK_TOPIC_ARN must be the ARN of a standard SNS topic (arn:aws:sns:<region>:<account>:<name>)')
    .optional(),
  AWS_REGION: z.string().min(1).default('us-east-1'),
});

/** The catch-all function's configuration: the ledger and the topic, nothing of the account. */
export interface UnhandledConfig {
  ledgerTable: string;
  notificationTopicArn?: string;
  region: string;
}

/** Reads the catch-all's environment (set by terraform/catch-all.tf); every problem at once, as a {@link ConfigurationError}. */
export function loadUnhandledConfig(env: Record<string, string | undefined>): UnhandledConfig {
  const r = UnhandledEnvironmentSchema.safeParse(env);
  if (!r.success) throw new ConfigurationError(r.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)));
  return {
    ledgerTable: r.data.FIREBREAK_LEDGER_TABLE,
    region: r.data.AWS_REGION,
    ...(r.data.FIREBREAK_TOPIC_ARN ? { notificationTopicArn: r.data.FIREBREAK_TOPIC_ARN } : {}),
  };
}

/**
 * A GuardDuty finding the parser routes to a playbook, arriving here: that playbook's rule did not
 * take it, so it is not enabled in this deployment (or not in this version yet). As unhandled as a
 * resource type with no playbook at all.
 */
function notDeployed(incidents: Incident[]): IgnoredFinding {
  const first = incidents[0]!;
  return {
    why: 'unhandled',
    reason: `the ${first.playbook} playbook would take it, but no enabled playbook's rule did: it is disabled in this deployment or not in this version`,
    findingId: first.findingId,
    findingType: first.findingType,
    resourceType: first.resource.type,
    accountId: first.accountId,
    region: first.region,
    title: first.title,
  };
}

export interface UnhandledHandlerOptions {
  env?: Record<string, string | undefined>;
  platform?: Pick<PlatformClients, 'dynamo' | 'sns'>;
  logger?: Logger;
  now?: () => Date;
}

/**
 * Builds the catch-all's SQS handler: every GuardDuty finding no enabled playbook takes is
 * recorded in the ledger as skipped — `unhandled` (a resource type with no playbook, or whose
 * playbook is not enabled) or `sample` — once per finding however often GuardDuty publishes it,
 * and people are told once about each unhandled one. Nothing is read from or changed in AWS
 * besides the ledger and the topic. A message that is not a GuardDuty finding is recorded as
 * rejected; a ledger failure keeps the message (retried, then the DLQ, which is alarmed).
 *
 * @example
 * ```ts
 * export const handler = createUnhandledHandler();
 * ```
 */
export function createUnhandledHandler(options: UnhandledHandlerOptions = {}) {
  const logger = options.logger ?? createLogger();
  const config = loadUnhandledConfig(options.env ?? process.env);
  const platform = options.platform ?? createPlatformClients(config.region, options.env ?? process.env);
  const ledger = new Ledger(platform.dynamo, config.ledgerTable);
  const notifier = new Notifier(platform.sns, config.notificationTopicArn, logger);
  const processor = new BatchProcessor(EventType.SQS);
  const now = () => options.now?.() ?? new Date();

  const reject = async (record: SQSRecord, reasons: string[]) => {
    const senderId = record.attributes?.SenderId || undefined;
    logger.warn('Message rejected: not a GuardDuty finding', { messageId: record.messageId, senderId, reasons });
    await ledger.recordRejected({ messageId: record.messageId, playbook: UNHANDLED_FUNCTION, reasons, body: record.body ?? '', receivedAt: now().toISOString(), ...(senderId ? { senderId } : {}) });
  };

  const record = async (message: SQSRecord, finding: IgnoredFinding) => {
    logger.info('Finding no playbook takes recorded', { messageId: message.messageId, why: finding.why, findingId: finding.findingId, findingType: finding.findingType, resourceType: finding.resourceType, reason: finding.reason });
    const deliveries = await ledger.recordIgnored({ ...finding, playbook: UNHANDLED_FUNCTION, messageId: message.messageId, receivedAt: now().toISOString() });
    // A sample is never acted on and asks nothing of anyone; an unhandled finding is told once.
    if (finding.why !== 'unhandled' || deliveries !== 1) return;
    const target = { ignoredFinding: { accountId: finding.accountId, findingId: finding.findingId } };
    await tellAndRecord(notifier, ledger, { kind: 'unhandled', finding, playbook: UNHANDLED_FUNCTION, at: now() }, target, logger.createChild({ persistentKeys: { findingId: finding.findingId } }));
  };

  const handleRecord = async (message: SQSRecord): Promise<void> => {
    let parsed;
    try {
      parsed = parseMessage(message.body);
    } catch (error) {
      if (error instanceof InvalidFindingError) return reject(message, error.reasons);
      throw error;
    }
    if (parsed.kind === 'ignored') return record(message, parsed.finding);
    // Only the catch-all rule on the findings bus sends here: a release or a manual finding has no place on this queue.
    if (parsed.kind === 'release') return reject(message, ['a Firebreak Manual Release on the catch-all queue: releases go through the responders\' bus to their playbook']);
    if (parsed.kind === 'resume') return reject(message, ['a Firebreak Resume on the catch-all queue: resumes go through the responders\' bus to their playbook']);
    if (parsed.incidents[0]?.origin !== 'guardduty') return reject(message, ['a Firebreak Manual Finding on the catch-all queue: manual findings go through the responders\' bus to their playbook']);
    return record(message, notDeployed(parsed.incidents));
  };

  const handle = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
    processPartialResponse(event, handleRecord, processor, { context, throwOnFullBatchFailure: false }) as Promise<SQSBatchResponse>;

  return middy(handle).use(injectLambdaContext(logger, { resetKeys: true }));
}
