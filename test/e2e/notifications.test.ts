import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { incidentIdFor } from '../../shared/findings/index.ts';
import { buildScenario, drainAll, findingFor, incidentRecord, notificationsAbout, outputs, pipeline, subscribedQueue, world } from './support.ts';

const main = pipeline('firebreak');
const topicArn: string = outputs.firebreak.notification_topic_arn;
describe('People told: notifications from the Terraform-deployed pipeline', () => {
  it('tells subscribers once that an instance was contained, with attributes to filter on, and says nothing when the same finding arrives again', async () => {
    // Prepare
    const queue = await subscribedQueue(topicArn);
    try {
      const scenario = await buildScenario();
      const event = await findingFor(scenario);
      const instanceId: string = event.detail.resource.instanceDetails.instanceId;
      const incidentId = incidentIdFor(event.detail.accountId, event.detail.id, instanceId);

      // Act: the finding, then GuardDuty publishing it again
      await world.putFinding(event);
      await drainAll(main.functionName);
      const first = await notificationsAbout(queue.url, incidentId);
      await world.putFinding(event);
      await drainAll(main.functionName);
      const second = await notificationsAbout(queue.url, incidentId);

      // Assess: the incident is contained, and the ledger says people were told
      const record = await incidentRecord(main, event);
      expect(record?.status).toBe('contained');
      expect(record?.deliveries).toBeGreaterThanOrEqual(2);
      expect(record?.notification).toMatchObject({ status: 'contained', published: true });

      // Assess: one message, readable, with the attributes subscription filters match on
      expect(first).toHaveLength(1);
      const [contained] = first;
      expect(contained!.TopicArn).toBe(topicArn);
      expect(contained!.Subject).toBe(`Firebreak contained: Instance ${instanceId} in ${event.detail.accountId} us-east-1`);
      expect(contained!.MessageAttributes).toEqual({
        status: { Type: 'String', Value: 'contained' },
        playbook: { Type: 'String', Value: 'ec2-instance' },
        severity: { Type: 'Number', Value: String(event.detail.severity) },
        accountId: { Type: 'String', Value: event.detail.accountId },
        resourceType: { Type: 'String', Value: 'Instance' },
        incidentId: { Type: 'String', Value: incidentId },
      });
      expect(contained!.Message).toContain(`Firebreak contained Instance ${instanceId} in account ${event.detail.accountId} (us-east-1).`);
      expect(contained!.Message).toContain(`Type:         ${event.detail.type}`);
      expect(contained!.Message).toContain(`Incident:     ${incidentId}`);
      expect(contained!.Message).toContain('`firebreak incidents`');

      // Assess: the re-published finding changed nothing, and said nothing
      expect(second).toEqual([]);
    } finally {
      await queue.remove();
    }
  });

  it('tells subscribers when an incident is released over the bus, by whom and why (the release function publishes)', async () => {
    // Prepare
    const queue = await subscribedQueue(topicArn);
    try {
      const scenario = await buildScenario();
      const event = await findingFor(scenario);
      const instanceId: string = event.detail.resource.instanceDetails.instanceId;
      const incidentId = incidentIdFor(event.detail.accountId, event.detail.id, instanceId);
      await world.putFinding(event);
      await drainAll(main.functionName);
      await notificationsAbout(queue.url, incidentId);

      // Act: a responder's release event, on the responders' bus
      await world.putFinding(
        {
          version: '0',
          id: 'release-notified',
          source: 'firebreak.manual',
          'detail-type': 'Firebreak Manual Release',
          account: event.detail.accountId,
          time: new Date().toISOString(),
          region: 'us-east-1',
          resources: [],
          detail: { incidentId, resource: { resourceType: 'Instance', id: instanceId }, reason: 'False positive: load test', requestedBy: 'arn:aws:iam::123456789012:user/oncall' },
        } as unknown as typeof event,
        main.respondersBus,
      );
      await drainAll(main.functionName);
      const told = await notificationsAbout(queue.url, incidentId);

      // Assess
      expect((await incidentRecord(main, event))?.status).toBe('released');
      expect(told.map((m) => m.MessageAttributes?.status?.Value)).toEqual(['released']);
      expect(told[0]!.Subject).toBe(`Firebreak released: Instance ${instanceId} in ${event.detail.accountId} us-east-1`);
      expect(told[0]!.Message).toContain('arn:aws:iam::123456789012:user/oncall');
      expect(told[0]!.Message).toContain('False positive: load test');
    } finally {
      await queue.remove();
    }
  });

  it('tells subscribers when a finding is held past the blast-radius limit', async () => {
    // Prepare: the limited pipeline allows one containment per window; start from an empty window
    const limited = pipeline('limited');
    const queue = await subscribedQueue(outputs.limited.notification_topic_arn);
    try {
      await world.dynamo.send(new DeleteCommand({ TableName: limited.ledgerTable, Key: { pk: `blast-radius#${await world.accountId()}`, sk: 'window' } }));
      const scenario = await buildScenario();
      const [first, second] = [await findingFor(scenario, 'ec2-c-cactivity-b', { instanceIndex: 0 }), await findingFor(scenario, 'ec2-c-cactivity-b', { instanceIndex: 1 })];
      const heldId = incidentIdFor(second.detail.accountId, second.detail.id, second.detail.resource.instanceDetails.instanceId);

      // Act
      await world.putFinding(first, limited.bus);
      await drainAll(limited.functionName);
      await world.putFinding(second, limited.bus);
      await drainAll(limited.functionName);
      const told = await notificationsAbout(queue.url, heldId);

      // Assess
      expect((await incidentRecord(limited, second))?.status).toBe('held');
      expect(told.map((m) => m.MessageAttributes?.status?.Value)).toEqual(['held']);
      expect(told[0]!.Message).toMatch(/blast-radius limit reached/);
    } finally {
      await queue.remove();
    }
  });
});
