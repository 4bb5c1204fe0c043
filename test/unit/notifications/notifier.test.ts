import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Notifier, renderNotice, type IncidentStatusChange } from '../../../shared/notifications/index.ts';
import { anIncident, awsError, FIXED_NOW, REGION, silentLogger } from '../helpers/factories.ts';

const TOPIC_ARN = 'arn:aws:sns:us-east-1:111122223333:firebreak-notifications';
const snsMock = mockClient(SNSClient);
afterEach(() => {
  snsMock.reset();
  vi.restoreAllMocks();
});

const sns = () => new SNSClient({ region: REGION, credentials: { accessKeyId: 't', secretAccessKey: 't' } });
const held: IncidentStatusChange = {
  kind: 'incident',
  incident: anIncident(),
  status: 'held',
  reason: 'blast-radius limit reached: 10 containments in 3600s in account 111122223333; nothing was changed',
  steps: {},
  mode: 'contain',
  at: FIXED_NOW,
};

describe('Class: Notifier', () => {
  it('publishes the rendered message, subject and attributes on the topic, and returns its message id', async () => {
    // Prepare
    snsMock.on(PublishCommand).resolves({ MessageId: 'sns-msg-1' });
    const notifier = new Notifier(sns(), TOPIC_ARN, silentLogger());

    // Act
    const sent = await notifier.notify(held);

    // Assess
    expect(sent).toEqual({ outcome: 'published', messageId: 'sns-msg-1' });
    const rendered = renderNotice(held);
    expect(snsMock.commandCalls(PublishCommand).map((c) => c.args[0].input)).toEqual([
      { TopicArn: TOPIC_ARN, Subject: rendered.subject, Message: rendered.body, MessageAttributes: rendered.attributes },
    ]);
  });

  it('publishes nothing when no topic is configured', async () => {
    // Prepare
    const notifier = new Notifier(sns(), undefined, silentLogger());

    // Act
    const sent = await notifier.notify(held);

    // Assess
    expect(notifier.configured).toBe(false);
    expect(sent).toEqual({ outcome: 'not-configured' });
    expect(snsMock.calls()).toHaveLength(0);
  });

  it('returns a publish error with its code, logged, and never throws it', async () => {
    // Prepare
    snsMock.on(PublishCommand).rejects(awsError('AuthorizationError', { httpStatusCode: 403, message: 'User is not authorized to perform: SNS:Publish' }));
    const logger = silentLogger();
    const logged = vi.spyOn(logger, 'error');
    const notifier = new Notifier(sns(), TOPIC_ARN, logger);

    // Act
    const sent = await notifier.notify(held);

    // Assess
    expect(sent).toEqual({ outcome: 'failed', error: { code: 'AuthorizationError', message: 'User is not authorized to perform: SNS:Publish' } });
    expect(logged).toHaveBeenCalledWith(
      'Notification could not be published; the delivery itself is unaffected',
      expect.objectContaining({ incidentId: held.incident.incidentId, status: 'held', error: sent.outcome === 'failed' ? sent.error : undefined }),
    );
  });

  it('gives up on a publication that takes too long, rather than holding up the batch', async () => {
    // Prepare: a client that answers only when the call is abandoned.
    const hanging = {
      send: (_command: unknown, options: { abortSignal: AbortSignal }) =>
        new Promise((_resolve, reject) => options.abortSignal.addEventListener('abort', () => reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' })))),
    } as unknown as SNSClient;
    const notifier = new Notifier(hanging, TOPIC_ARN, silentLogger(), { timeoutMs: 20 });

    // Act
    const started = Date.now();
    const sent = await notifier.notify(held);

    // Assess
    expect(sent).toEqual({ outcome: 'failed', error: { code: 'AbortError', message: 'Request aborted' } });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('tells about an unhandled finding with the finding id in its log line', async () => {
    // Prepare
    snsMock.on(PublishCommand).resolves({ MessageId: 'sns-msg-2' });
    const logger = silentLogger();
    const logged = vi.spyOn(logger, 'info');
    const notifier = new Notifier(sns(), TOPIC_ARN, logger);
    const finding = { why: 'unhandled' as const, reason: 'no playbook handles resource type Lambda', findingId: 'f-lambda', findingType: 'Execution:Lambda/MaliciousFile', resourceType: 'Lambda', accountId: '111122223333', region: REGION, title: 'Lambda' };

    // Act
    const sent = await notifier.notify({ kind: 'unhandled', finding, playbook: 'ec2-instance', at: FIXED_NOW });

    // Assess
    expect(sent).toEqual({ outcome: 'published', messageId: 'sns-msg-2' });
    expect(snsMock.commandCalls(PublishCommand)[0]!.args[0].input.MessageAttributes!.status).toEqual({ DataType: 'String', StringValue: 'unhandled' });
    expect(logged).toHaveBeenCalledWith('Notification published', { findingId: 'f-lambda', status: 'unhandled', messageId: 'sns-msg-2' });
  });

  it('records a message id SNS did not return as unknown', async () => {
    // Prepare
    snsMock.on(PublishCommand).resolves({});
    const notifier = new Notifier(sns(), TOPIC_ARN, silentLogger());

    // Act
    const sent = await notifier.notify(held);

    // Assess
    expect(sent).toEqual({ outcome: 'published', messageId: 'unknown' });
  });
});
