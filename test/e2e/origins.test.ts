// Every way an incident starts other than a fresh GuardDuty finding goes through the responders'
// bus with a named origin: a resume after a pause, a DLQ redrive, a playbook's hand-off. And a
// released incident is contained again, as a new generation, only when GuardDuty saw the activity
// after the release.
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetQueueUrlCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { serviceRoleCredentials } from '../../scripts/lib/drain.ts';
import { handOff } from '../../shared/actions/handoff.ts';
import { ISOLATION_GROUP_NAME } from '../../shared/actions/vpc-isolation.ts';
import { generationId, incidentIdFor } from '../../shared/findings/index.ts';
import type { IncidentRecord } from '../../shared/ledger/index.ts';
import { buildScenario, drainAll, endpoint, eniGroups, findingFor, incidentRecord, outputs, pipeline, securityGroup, world } from './support.ts';

const main = pipeline('firebreak');

/** The CLI as a responder runs it (the emulator named only by AWS_ENDPOINT_URL). */
function cli(...args: string[]) {
  const out = spawnSync(process.execPath, ['scripts/firebreak.ts', ...args], {
    encoding: 'utf8',
    env: { ...process.env, AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
  });
  return { code: out.status, stdout: out.stdout, stderr: out.stderr };
}

const isolated = async (instanceId: string) => {
  const groups = Object.values(await eniGroups(instanceId)).flat();
  return groups.length > 0 && (await Promise.all(groups.map(async (g) => (await securityGroup(g)).GroupName))).every((n) => n === ISOLATION_GROUP_NAME);
};

const laterThanNow = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();

describe('Re-containment generations: GuardDuty sees the activity after a release', () => {
  it('opens generation 2 (linked both ways) and contains it when eventLastSeen is later than releasedAt; a re-publication without newer activity opens nothing', async () => {
    // Prepare: contained, then released by a responder
    const scenario = await buildScenario();
    const victim = scenario.victim.instanceId;
    const first = await findingFor(scenario);
    first.detail.service.eventLastSeen = new Date().toISOString();
    await world.putFinding(first, main.bus);
    await drainAll(main.functionName);
    const gen1 = (await incidentRecord(main, first))!;
    expect(gen1.status).toBe('contained');
    const released = cli('release', gen1.incidentId, '--reason', 'pen test over', '--table', main.ledgerTable);
    expect(released.code, released.stderr + released.stdout).toBe(0);
    expect(await isolated(victim)).toBe(false);

    // Act: GuardDuty publishes the finding again, with activity after the release
    const again = await findingFor(scenario, 'ec2-c-cactivity-b', { findingId: first.detail.id, count: 7 });
    again.detail.service.eventLastSeen = laterThanNow(1);
    await world.putFinding(again, main.bus);
    await drainAll(main.functionName);

    // Assess: a new incident, the next generation, contains the instance
    const gen2Id = generationId(gen1.incidentId, 2);
    const gen2 = (await world.ledger(main.ledgerTable).get(gen2Id))!;
    expect(gen2).toMatchObject({ status: 'contained', openedBy: 'guardduty', derivedFrom: { kind: 'generation', incidentId: gen1.incidentId }, incident: { generation: 2 } });
    expect(await isolated(victim)).toBe(true);
    const gen1After = (await world.ledger(main.ledgerTable).get(gen1.incidentId))!;
    expect(gen1After).toMatchObject({ status: 'released', nextGeneration: gen2Id, derived: { [gen2Id]: { kind: 'generation' } } });

    // Act: the same finding once more, no newer activity
    const third = await findingFor(scenario, 'ec2-c-cactivity-b', { findingId: first.detail.id, count: 8 });
    third.detail.service.eventLastSeen = again.detail.service.eventLastSeen;
    await world.putFinding(third, main.bus);
    await drainAll(main.functionName);

    // Assess: nothing new — generation 2 took the delivery, no generation 3
    expect(await world.ledger(main.ledgerTable).get(generationId(gen1.incidentId, 3))).toBeUndefined();
    expect((await world.ledger(main.ledgerTable).get(gen2Id))!).toMatchObject({ status: 'contained', deliveries: gen2.deliveries + 1 });
  });
});

describe('Origins on the responders\' bus', () => {
  it('firebreak resume clears the kill switch and re-publishes each incident the pause held (origin resume), which is contained now; a second resume re-publishes nothing', async () => {
    // Prepare: paused, and a finding held
    // The module's /<name_prefix>/paused (the local example's `firebreak` output does not list it)
    const parameter: string = outputs.firebreak.pause_parameter_name ?? '/firebreak/paused';
    const scenario = await buildScenario();
    const victim = scenario.victim.instanceId;
    const event = await findingFor(scenario);
    const paused = cli('pause', '--reason', 'change freeze CHG-13', '--parameter', parameter);
    expect(paused.code, paused.stderr).toBe(0);
    await world.putFinding(event, main.bus);
    await drainAll(main.functionName);
    expect((await incidentRecord(main, event))!.status).toBe('held');
    expect(await isolated(victim)).toBe(false);

    // Act
    const resumed = cli('resume', '--parameter', parameter, '--table', main.ledgerTable, '--bus', main.respondersBus);
    const again = cli('resume', '--parameter', parameter, '--table', main.ledgerTable, '--bus', main.respondersBus);
    await drainAll(main.functionName);

    // Assess
    const record = (await incidentRecord(main, event))!;
    expect(resumed.code, resumed.stderr + resumed.stdout).toBe(0);
    expect(resumed.stdout).toContain(`re-published ${record.incidentId}`);
    expect(again.code, again.stderr + again.stdout).toBe(0);
    expect(again.stdout).not.toContain(`re-published ${record.incidentId}`);
    expect(again.stdout).toMatch(/already re-published by an earlier resume.*/);
    expect(record).toMatchObject({ status: 'contained', openedBy: 'guardduty', incident: { origin: 'resume', redelivery: { origin: 'resume', of: 'guardduty' } } });
    expect(record.redeliveries).toHaveLength(1);
    expect(record.redeliveries![0]).toMatchObject({ origin: 'resume', requestedBy: await world.callerArn() });
    expect(await isolated(victim)).toBe(true);

    // Act: resume again, now that it is contained
    const third = cli('resume', '--parameter', parameter, '--table', main.ledgerTable, '--bus', main.respondersBus);

    // Assess: left alone
    expect(third.stdout).not.toContain(`re-published ${record.incidentId}`);
  });

  it('firebreak dlq redrive re-publishes a DLQ message on the responders\' bus (origin redrive), deletes it once accepted, and leaves an unparseable one with its reason', async () => {
    // Prepare: a finding whose delivery failed (as if it had been received too often) and a message that is no event at all
    const scenario = await buildScenario();
    const victim = scenario.victim.instanceId;
    const event = await findingFor(scenario);
    const { QueueUrl: dlqUrl } = await world.sqs.send(new GetQueueUrlCommand({ QueueName: main.dlqName }));
    await world.sqs.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: JSON.stringify(event) }));
    await world.sqs.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: 'not json {' }));

    // Act
    const listed = cli('dlq', 'list', '--playbook', 'ec2-instance', '--dlq', main.dlqName);
    const redriven = cli('dlq', 'redrive', '--playbook', 'ec2-instance', '--dlq', main.dlqName, '--bus', main.respondersBus);
    await drainAll(main.functionName);

    // Assess: the listing named both
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(`on Instance ${victim}`);
    expect(listed.stdout).toContain('UNPARSEABLE (stays): message body is not JSON');
    // …the redrive re-published the finding and left the other, saying why (exit 1: something stayed)
    expect(redriven.code, redriven.stderr).toBe(1);
    expect(redriven.stdout).toMatch(/ec2-instance: re-published [1-9]\d* on .* \(origin redrive\), left ([1-9]\d*) \(\1 unparseable, 0 refused\)/);
    expect(redriven.stdout).toContain('message body is not JSON');
    // …the function contained it, counted against GuardDuty's budget, and recorded the redrive
    const record = (await incidentRecord(main, event))!;
    expect(record).toMatchObject({ status: 'contained', openedBy: 'guardduty', incident: { origin: 'redrive', redelivery: { origin: 'redrive', of: 'guardduty' } } });
    expect(record.redeliveries![0]).toMatchObject({ origin: 'redrive', requestedBy: await world.callerArn() });
    expect(await isolated(victim)).toBe(true);
    const window = await world.dynamo.send(new GetCommand({ TableName: main.ledgerTable, Key: { pk: `blast-radius#${await world.accountId()}`, sk: 'window' } }));
    expect((window.Item!.entries as Array<{ incidentId: string }>).filter((e) => e.incidentId === record.incidentId)).toHaveLength(1);
    // …and the DLQ keeps only the unparseable message
    const left = await world.sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }));
    const bodies = (left.Messages ?? []).map((m) => m.Body);
    expect(bodies).toContain('not json {');
    expect(bodies.filter((b) => b?.includes(event.detail.id))).toEqual([]);
  });

  it('contains a resource another playbook\'s function hands over (origin handoff), linked to the source incident, on the hand-off budget', async () => {
    // Prepare: a source incident (here on the EC2 playbook itself: the playbooks that hand off come later)
    const scenario = await buildScenario();
    const [host, source] = [scenario.instanceIds[0], scenario.instanceIds[1]];
    const sourceEvent = await findingFor(scenario, 'ec2-c-cactivity-b', { instanceIndex: 1 });
    await world.putFinding(sourceEvent, main.bus);
    await drainAll(main.functionName);
    const sourceRecord = (await incidentRecord(main, sourceEvent))!;
    expect(sourceRecord.status).toBe('contained');
    // …and the sender: the EC2 function's own role, which the bus policy admits (a test-only
    // sender), with the credentials Lambda would give it (the role trusts lambda.amazonaws.com only)
    const roleArn: string = outputs.firebreak.playbooks['ec2-instance'].role_arn;
    const c = await serviceRoleCredentials(endpoint, roleArn, main.functionName);
    const asFunction = new EventBridgeClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken } });

    // Act
    await handOff(asFunction, main.respondersBus, {
      target: { resourceType: 'Instance', id: host },
      source: sourceRecord.incident,
      reason: `host of a compromised container on ${source}`,
      requestedBy: main.functionName,
    });
    await drainAll(main.functionName);

    // Assess
    const accountId = await world.accountId();
    const handedId = incidentIdFor(accountId, `handoff-${sourceRecord.incidentId}`, host!);
    const handed = (await world.ledger(main.ledgerTable).get(handedId))! as IncidentRecord;
    expect(handed).toMatchObject({
      status: 'contained',
      openedBy: 'handoff',
      derivedFrom: { kind: 'handoff', incidentId: sourceRecord.incidentId, playbook: 'ec2-instance' },
      incident: { origin: 'handoff', requestedBy: main.functionName, resource: { type: 'Instance', id: host } },
    });
    expect((await incidentRecord(main, sourceEvent))!.derived).toMatchObject({ [handedId]: { kind: 'handoff', playbook: 'ec2-instance' } });
    expect(await isolated(host!)).toBe(true);
    const budget = await world.dynamo.send(new GetCommand({ TableName: main.ledgerTable, Key: { pk: `blast-radius#${accountId}#handoff`, sk: 'window' } }));
    expect((budget.Item!.entries as Array<{ incidentId: string }>).map((e) => e.incidentId)).toContain(handedId);
  });
});
