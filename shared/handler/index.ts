import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { createClientFactory, createPlatformClients, type ClientFactory, type PlatformClients } from '../aws/index.ts';
import { loadConfig, loadOptions, type Config } from '../config/index.ts';
import { releaseIncident, runPlaybook, type HandOffSender, type Playbook, type PlaybookTypes } from '../engine/index.ts';
import { handOff } from '../actions/handoff.ts';
import { SharedPacer, type Pacer } from '../pacing/index.ts';
import { ConfigurationError, InvalidFindingError, ReleaseIncompleteError, ReleaseRefusedError } from '../errors/index.ts';
import { EvidenceStore } from '../evidence/index.ts';
import { budgetOrigin, parseMessage, type IgnoredFinding, type Incident, type ReleaseMessage, type ResumeMessage } from '../findings/index.ts';
import { heldByPause, Ledger, type NotificationTarget } from '../ledger/index.ts';
import { createLogger, incidentLogger } from '../logging/index.ts';
import { isNotifiedChange, Notifier, type Notice } from '../notifications/index.ts';
import { PauseSwitch } from '../pause/index.ts';
import { tellAndRecord } from './tell.ts';

/** Who put the message on the queue: a function role's unique id for a follow-up, AWS's own id for EventBridge. */
const senderOf = (record: SQSRecord): string | undefined => record.attributes?.SenderId || undefined;

export interface HandlerOptions {
  env?: Record<string, string | undefined>;
  clientsFor?: ClientFactory;
  platform?: PlatformClients;
  logger?: Logger;
  now?: () => Date;
  pacer?: Pacer;
}

/**
 * Builds the SQS-triggered Lambda handler of one playbook: every record is parsed,
 * validated and run through the playbook (a Firebreak Manual Release runs the
 * playbook's release instead); invalid messages are recorded as rejected
 * and deleted; records whose containment must be retried are reported as batch-item
 * failures, so one bad message never fails the batch. Configuration is validated
 * when the handler is built (at cold start), with a clear error.
 *
 * @example
 * ```ts
 * export const handler = createFindingHandler(ec2InstancePlaybook);
 * ```
 */
export function createFindingHandler<T extends PlaybookTypes>(playbook: Playbook<T>, options: HandlerOptions = {}) {
  const env = options.env ?? process.env;
  const logger = options.logger ?? createLogger();
  const config: Config = loadConfig(env);
  if (config.playbook !== playbook.name) {
    throw new ConfigurationError([`FIREBREAK_PLAYBOOK is ${config.playbook} but this bundle runs ${playbook.name}`]);
  }
  const playbookOptions = loadOptions(playbook.options, config.options);
  const platform = options.platform ?? createPlatformClients(config.region, env);
  const ledger = new Ledger(platform.dynamo, config.ledgerTable);
  const evidence = new EvidenceStore(platform.s3, config.evidenceBucket);
  // Findings of member accounts are acted on through their member role (shared/aws).
  const clientsFor =
    options.clientsFor ??
    createClientFactory({
      members: { homeAccountId: config.accountId, memberAccountIds: config.members.accountIds, roleName: config.members.roleName, partition: config.partition, ...(config.members.externalId ? { externalId: config.members.externalId } : {}) },
    });
  const processor = new BatchProcessor(EventType.SQS);
  // Rate-limited APIs (CloudTrail LookupEvents) are paced by buckets in the ledger, shared by every function.
  const pacer = options.pacer ?? new SharedPacer((bucket, rate, nowMs) => ledger.takeToken(bucket, rate, nowMs));
  const respondersBus = config.respondersBus;
  const handOffSender: HandOffSender | undefined = respondersBus
    ? ({ target, source, reason }) => handOff(platform.events, respondersBus, { target, source, reason, requestedBy: env.AWS_LAMBDA_FUNCTION_NAME ?? `firebreak-${playbook.name}` })
    : undefined;
  const now = () => options.now?.() ?? new Date();

  // People are told after a delivery has finished, and telling them never fails it: a publish
  // error is logged and recorded on the record it was about, never thrown.
  const notifier = new Notifier(platform.sns, config.notificationTopicArn, logger);
  const pauseSwitch = config.pauseParameter ? new PauseSwitch(platform.ssm, config.pauseParameter, options.now ? { now: () => options.now!().getTime() } : {}) : undefined;
  const tell = (notice: Notice, target: NotificationTarget, log: Logger): Promise<void> => tellAndRecord(notifier, ledger, notice, target, log);

  const rejectMessage = async (record: SQSRecord, reasons: string[]) => {
    logger.warn('Message rejected: not a finding or release Firebreak can act on', { messageId: record.messageId, senderId: senderOf(record), reasons });
    await ledger.recordRejected({
      messageId: record.messageId,
      playbook: playbook.name,
      reasons,
      body: record.body ?? '',
      receivedAt: (options.now?.() ?? new Date()).toISOString(),
      ...(senderOf(record) ? { senderId: senderOf(record)! } : {}),
    });
  };

  // A sample or a resource type no playbook handles is a well-formed finding: recorded as
  // skipped (not rejected), and nothing is read from or changed in AWS.
  const ignoreFinding = async (record: SQSRecord, finding: IgnoredFinding) => {
    logger.info('Finding ignored: no playbook acts on it', { messageId: record.messageId, why: finding.why, findingId: finding.findingId, reason: finding.reason });
    const deliveries = await ledger.recordIgnored({ ...finding, playbook: playbook.name, messageId: record.messageId, receivedAt: (options.now?.() ?? new Date()).toISOString() });
    // A resource type no playbook handles is something a responder must see: told once per finding.
    if (finding.why === 'unhandled' && deliveries === 1) {
      await tell({ kind: 'unhandled', finding, playbook: playbook.name, at: now() }, { ignoredFinding: { accountId: finding.accountId, findingId: finding.findingId } }, logger);
    }
  };

  // Pending steps (snapshots completing, commands running) are looked at again by the
  // same message, delayed, on the function's own queue: every step is idempotent and
  // finished steps are never repeated. Failing to schedule never fails the message:
  // GuardDuty's re-publication of the finding resumes the incident as well.
  const scheduleFollowUp = async (record: SQSRecord, delaySeconds: number) => {
    const queueUrl = config.followUp.queueUrl;
    if (!queueUrl) {
      logger.warn('Steps are pending but FIREBREAK_QUEUE_URL is not set: they resume when the finding is published again', { messageId: record.messageId });
      return;
    }
    try {
      await platform.sqs.send(new (await import('../aws/sdk/client-sqs.ts')).SendMessageCommand({ QueueUrl: queueUrl, MessageBody: record.body, DelaySeconds: Math.max(0, Math.min(900, Math.round(delaySeconds))) }));
      logger.info('Follow-up delivery scheduled', { messageId: record.messageId, delaySeconds });
    } catch (error) {
      logger.error('Could not schedule the follow-up delivery; pending steps resume when the finding is published again', { messageId: record.messageId, error: error as Error });
    }
  };

  // A release acts only on the incident the event names, and only if that incident is
  // about the resource the event names: a mismatch is rejected, never acted on.
  const handleRelease = async (record: SQSRecord, release: ReleaseMessage): Promise<void> => {
    if (release.playbook !== playbook.name) {
      return rejectMessage(record, [`release is for the ${release.playbook} playbook, but this function runs ${playbook.name}: check the EventBridge rule`]);
    }
    const releaseLogger = logger.createChild({ persistentKeys: { incidentId: release.incidentId, resourceId: release.resource.id, messageId: record.messageId } });
    try {
      const result = await releaseIncident(
        { ledger, clientsFor, logger: releaseLogger, playbookFor: (name) => (name === playbook.name ? playbook : undefined), ...(options.now ? { now: options.now } : {}) },
        {
          incidentId: release.incidentId,
          reason: release.reason,
          reattach: release.reattach,
          requestedBy: release.requestedBy,
          via: 'event',
          expect: { resourceId: release.resource.id, resourceType: release.resource.type, accountId: [config.accountId, ...config.members.accountIds], playbook: playbook.name },
        },
      );
      releaseLogger.info('Release request handled', { outcome: result.outcome, summary: result.summary });
      if (result.outcome === 'released' && result.incident && isNotifiedChange('released', result.previousStatus)) {
        await tell(
          {
            kind: 'incident',
            incident: result.incident,
            status: 'released',
            ...(result.previousStatus ? { previousStatus: result.previousStatus } : {}),
            reason: result.summary,
            steps: result.steps,
            release: { by: release.requestedBy, reason: release.reason, via: 'event', keptProtections: result.keptProtections },
            at: now(),
          },
          { incidentId: release.incidentId },
          releaseLogger,
        );
      }
      // Like containment: retryable failures keep the message; permanent ones are in the ledger for a responder.
      if (result.retryableFailures.length > 0) throw new ReleaseIncompleteError(release.incidentId, result.retryableFailures);
    } catch (error) {
      if (error instanceof ReleaseRefusedError && !error.retryable) return rejectMessage(record, [error.message]);
      throw error;
    }
  };

  /**
   * `firebreak resume`: the event names an incident; the finding is the ledger's, never the
   * event's. Only an incident still held because the deployment was paused is run again (with
   * origin `resume`, against its own finding's budget); anything else is left alone.
   */
  const resumeIncident = async (record: SQSRecord, resume: ResumeMessage): Promise<Incident | undefined> => {
    const held = await ledger.get(resume.incidentId);
    if (!held) {
      await rejectMessage(record, [`resume names incident ${resume.incidentId}, which is not in the ledger`]);
      return undefined;
    }
    const { resource } = held.incident;
    if (held.playbook !== playbook.name || resource.type !== resume.resource.type || resource.id !== resume.resource.id || held.incident.accountId !== resume.accountId) {
      await rejectMessage(record, [
        `resume names ${resume.resource.type} ${resume.resource.id} in ${resume.accountId} for ${resume.incidentId}, but the ledger has ${resource.type} ${resource.id} in ${held.incident.accountId} (${held.playbook}); nothing was changed`,
      ]);
      return undefined;
    }
    if (!heldByPause(held)) {
      logger.info('Resume: the incident is no longer held by a pause; left alone', { incidentId: resume.incidentId, status: held.status, messageId: record.messageId });
      return undefined;
    }
    return {
      ...held.incident,
      origin: 'resume',
      redelivery: { origin: 'resume', of: budgetOrigin(held.incident), requestedBy: resume.redrivenBy ?? resume.requestedBy },
      eventId: resume.eventId,
      eventTime: resume.eventTime,
    };
  };

  /**
   * A hand-off names the incident it comes from: it must be in this ledger (the two are linked
   * both ways); a hand-off from an incident Firebreak never had is rejected.
   */
  const linkHandoff = async (record: SQSRecord, incident: Incident): Promise<boolean> => {
    if (incident.derivedFrom?.kind !== 'handoff') return true;
    const linked = await ledger.linkDerived(incident.derivedFrom.incidentId, incident.incidentId, { kind: 'handoff', at: now().toISOString(), playbook: incident.playbook });
    if (!linked) await rejectMessage(record, [`hand-off from incident ${incident.derivedFrom.incidentId}, which is not in the ledger; nothing was changed`]);
    return linked;
  };

  const handleRecord = async (record: SQSRecord): Promise<void> => {
    let parsed;
    try {
      parsed = parseMessage(record.body);
    } catch (error) {
      if (error instanceof InvalidFindingError) return rejectMessage(record, error.reasons);
      throw error;
    }
    // Each function's role holds only its own steps: a message for the other function is a misrouted
    // rule (or a forged message), rejected and recorded, never attempted.
    if (parsed.kind === 'release' && config.functionRole === 'contain') {
      return rejectMessage(record, ['a release reached the containment function: releases go to the release function (check the EventBridge rules)']);
    }
    if (parsed.kind !== 'release' && config.functionRole === 'release') {
      return rejectMessage(record, ['a finding reached the release function: findings go to the containment function (check the EventBridge rules)']);
    }
    if (parsed.kind === 'release') return handleRelease(record, parsed.release);
    if (parsed.kind === 'ignored') return ignoreFinding(record, parsed.finding);
    let incidents: Incident[];
    if (parsed.kind === 'resume') {
      const resumed = await resumeIncident(record, parsed.resume);
      if (!resumed) return undefined;
      incidents = [resumed];
    } else {
      const linked = await Promise.all(parsed.incidents.map((i) => linkHandoff(record, i)));
      incidents = parsed.incidents.filter((_, n) => linked[n]);
    }
    // Read once per message (cached for the batch and a little after): a paused deployment holds
    // every new finding. A resume is read afresh: the CLI has just cleared the switch, which a
    // warm function may still have cached as paused.
    const paused = pauseSwitch ? await pauseSwitch.state(parsed.kind === 'resume' ? { maxAgeMs: 0 } : {}) : undefined;
    const results = await Promise.allSettled(
      incidents.map((incident) =>
        runPlaybook(
          {
            config,
            options: playbookOptions,
            clientsFor,
            ledger,
            evidence,
            pacer,
            ...(handOffSender ? { handOff: handOffSender } : {}),
            logger: incidentLogger(logger, incident, record.messageId),
            ...(paused?.paused ? { paused } : {}),
            ...(options.now ? { now: options.now } : {}),
          },
          playbook,
          incident,
          { messageId: record.messageId, ...(senderOf(record) ? { senderId: senderOf(record)! } : {}) },
        ),
      ),
    );
    const followUps = results.flatMap((r) => (r.status === 'fulfilled' && r.value.followUpSeconds !== undefined ? [r.value.followUpSeconds] : []));
    if (followUps.length > 0) await scheduleFollowUp(record, Math.min(...followUps));
    // Only a change says something: a redelivery, a follow-up or a re-publication that leaves
    // the incident as it was is silent.
    await Promise.all(
      results.map((r) => {
        if (r.status !== 'fulfilled' || !isNotifiedChange(r.value.status, r.value.previousStatus)) return undefined;
        // The incident acted on: a new containment generation has its own id.
        const { incident, status, previousStatus, reason, steps } = r.value;
        return tell(
          { kind: 'incident', incident, status, ...(previousStatus ? { previousStatus } : {}), reason, steps, mode: config.mode, at: now() },
          { incidentId: incident.incidentId },
          incidentLogger(logger, incident, record.messageId),
        );
      }),
    );
    const invalid = results.flatMap((r) => (r.status === 'rejected' && r.reason instanceof InvalidFindingError ? [r.reason] : []));
    if (invalid.length > 0) await rejectMessage(record, invalid.flatMap((e) => e.reasons));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && !(r.reason instanceof InvalidFindingError));
    // Anything else (retryable containment failure, ledger unavailable, a bug) keeps the
    // message: SQS redelivers it and, after maxReceiveCount, moves it to the DLQ.
    if (failure) throw failure.reason;
  };

  const handle = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
    processPartialResponse(event, handleRecord, processor, { context, throwOnFullBatchFailure: false }) as Promise<SQSBatchResponse>;

  return middy(handle).use(injectLambdaContext(logger, { resetKeys: true }));
}
