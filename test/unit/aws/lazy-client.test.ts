import { GuardDutyClient, ListDetectorsCommand } from '@aws-sdk/client-guardduty';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ClientNotLoadedError, createClientFactory, lazyClient, loadClientsFor } from '../../../shared/aws/index.ts';

const HERE = { accountId: '111122223333', region: 'eu-west-1' };
const snsMock = mockClient(SNSClient);

afterEach(() => snsMock.reset());

describe('Function: lazyClient', () => {
  it('builds nothing until the first send, then builds once and sends through the real client', async () => {
    // Prepare
    snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const build = vi.fn(async () => new SNSClient({ region: 'eu-west-1' }));
    const sns = lazyClient(build);
    const builtBefore = build.mock.calls.length;

    // Act
    const first = await sns.send(new PublishCommand({ TopicArn: 'arn:aws:sns:eu-west-1:111122223333:t', Message: 'a' }));
    await sns.send(new PublishCommand({ TopicArn: 'arn:aws:sns:eu-west-1:111122223333:t', Message: 'b' }));

    // Assess
    expect(builtBefore).toBe(0);
    expect(build).toHaveBeenCalledOnce();
    expect(first.MessageId).toBe('m-1');
    expect(snsMock.commandCalls(PublishCommand).map((c) => c.args[0].input.Message)).toEqual(['a', 'b']);
  });

  it('tries the build again on the next send when it failed (a chunk that could not be loaded)', async () => {
    // Prepare
    snsMock.on(PublishCommand).resolves({ MessageId: 'm-2' });
    const build = vi.fn<() => Promise<SNSClient>>().mockRejectedValueOnce(new Error('chunk missing')).mockResolvedValue(new SNSClient({ region: 'eu-west-1' }));
    const sns = lazyClient(build);
    const publish = () => sns.send(new PublishCommand({ TopicArn: 'arn:aws:sns:eu-west-1:111122223333:t', Message: 'x' }));

    // Act
    const failed = publish();
    await expect(failed).rejects.toThrow('chunk missing');
    const retried = await publish();

    // Assess
    expect(retried.MessageId).toBe('m-2');
    expect(build).toHaveBeenCalledTimes(2);
  });
});

describe('Function: loadClientsFor', () => {
  it("refuses a client whose package was never loaded, naming the actions to declare; loads it from a step's IAM actions", async () => {
    // Prepare: a fresh copy of the clients module, in which nothing is loaded yet.
    vi.resetModules();
    const fresh = await import('../../../shared/aws/clients.ts');
    const { ClientNotLoadedError: NotLoaded } = await import('../../../shared/aws/errors.ts');
    const guardDutyMock = mockClient(GuardDutyClient);
    guardDutyMock.on(ListDetectorsCommand).resolves({ DetectorIds: ['d-1'] });
    const clients = fresh.createClientFactory()(HERE);

    // Act
    const before = (() => {
      try {
        return clients.guardDuty;
      } catch (error) {
        return error;
      }
    })();
    await fresh.loadClientsFor(['guardduty:ListDetectors', 'kms:CreateGrant']);
    const out = await clients.guardDuty.send(new ListDetectorsCommand({}));

    // Assess
    expect(before).toBeInstanceOf(NotLoaded);
    expect((before as Error).message).toContain('the guardDuty client was used before it was loaded: declare the guardduty:… IAM actions');
    expect(out.DetectorIds).toEqual(['d-1']);
    guardDutyMock.restore();
  });

  it('loads both clients a service prefix is called through (S3 and S3 Control; ELB and ELBv2)', async () => {
    // Prepare
    const clients = createClientFactory()(HERE);

    // Act
    await loadClientsFor(['s3:PutAccountPublicAccessBlock', 'elasticloadbalancing:DeregisterTargets']);

    // Assess
    expect(await clients.s3Control.config.region()).toBe('eu-west-1');
    expect(await clients.s3.config.region()).toBe('eu-west-1');
    expect(await clients.elb.config.region()).toBe('eu-west-1');
    expect(await clients.elbv2.config.region()).toBe('eu-west-1');
  });
});
