// Who may put what where, enforced by AWS (here: the emulator's policy patches), not by the code:
// a playbook's queue takes messages only from its two rules and its own function role; the
// responders' bus takes manual events only from the responders and Firebreak's functions.
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ISOLATION_GROUP_NAME } from '../../shared/actions/vpc-isolation.ts';
import type { IncidentRecord } from '../../shared/ledger/index.ts';
import {
  buildScenario,
  drainAll,
  eniGroups,
  findingFor,
  firebreakAs,
  functionRole,
  incidentRecord,
  instance,
  outsider,
  pipeline,
  queueCounts,
  responderCredentials,
  securityGroup,
  world,
} from './support.ts';

const main = pipeline('firebreak');

/** What the SDK throws for a refused call. */
async function refusal(call: Promise<unknown>): Promise<{ name: string; status: number | undefined; message: string }> {
  try {
    await call;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  throw new Error('the call was not refused');
}

/** Every ledger record that mentions a text (a finding id, a ticket, a message body). */
async function ledgerMentions(text: string) {
  return (await world.ledger(main.ledgerTable).list()).filter((r) => JSON.stringify(r).includes(text));
}

const incidentByTicket = async (ticket: string) =>
  (await world.ledger(main.ledgerTable).list()).find((r): r is IncidentRecord => r.kind === 'incident' && (r as IncidentRecord).incident.ticket === ticket);

describe('Trust boundaries: only rules, function roles and responders trigger Firebreak', () => {
  let intruder: Awaited<ReturnType<typeof outsider>>;

  beforeAll(async () => {
    intruder = await outsider('intruder');
  });

  it('refuses a forged GuardDuty finding sent straight onto the queue by a principal of the account: nothing contained, nothing recorded', async () => {
    // Prepare
    const scenario = await buildScenario();
    const victim = scenario.victim.instanceId;
    const forged = await findingFor(scenario);
    const { url } = await queueCounts(main.queueName);
    const groupsBefore = await eniGroups(victim);

    // Act
    const refused = await refusal(intruder.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: JSON.stringify(forged) })));
    await drainAll(main.functionName);

    // Assess
    expect(refused).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(refused.message).toContain(`User: ${intruder.arn} is not authorized to perform: sqs:sendmessage`);
    expect(await incidentRecord(main, forged)).toBeUndefined();
    expect(await ledgerMentions(forged.detail.id)).toEqual([]);
    expect(await eniGroups(victim)).toEqual(groupsBefore);
  });

  it('refuses `firebreak contain` run by a principal that is not a responder: the event never reaches the function', async () => {
    // Prepare
    const scenario = await buildScenario();
    const victim = scenario.victim.instanceId;
    const groupsBefore = await eniGroups(victim);
    const ticket = `SEC-INTRUDER-${Date.now()}`;

    // Act
    const put = firebreakAs(intruder.credentials, 'contain', 'Instance', victim, '--ticket', ticket, '--bus', main.respondersBus);
    const queued = await queueCounts(main.queueName);
    await drainAll(main.functionName);

    // Assess
    expect(put.code, put.stderr + put.stdout).toBe(1);
    expect(put.stdout).toContain(`the bus refused the event: AccessDeniedException User: ${intruder.arn} is not authorized to perform: events:PutEvents`);
    expect(queued).toMatchObject({ visible: 0, inFlight: 0 });
    expect(await ledgerMentions(ticket)).toEqual([]);
    expect(await eniGroups(victim)).toEqual(groupsBefore);
    const tags = Object.fromEntries(((await instance(victim)).Tags ?? []).map((t) => [t.Key, t.Value]));
    expect(tags['firebreak:ticket']).toBeUndefined();
  });

  it('delivers the same `firebreak contain` from the responder identity, and the function contains', async () => {
    // Prepare
    const scenario = await buildScenario();
    const victim = scenario.victim.instanceId;
    const ticket = `SEC-RESPONDER-${Date.now()}`;

    // Act
    const put = firebreakAs(responderCredentials, 'contain', 'Instance', victim, '--ticket', ticket, '--bus', main.respondersBus);
    await drainAll(main.functionName);

    // Assess
    expect(put.code, put.stderr + put.stdout).toBe(0);
    expect(await incidentByTicket(ticket)).toMatchObject({ status: 'contained', incident: { origin: 'manual', requestedBy: await world.callerArn() } });
    const groups = Object.values(await eniGroups(victim)).flat();
    expect((await securityGroup(groups[0]!)).GroupName).toBe(ISOLATION_GROUP_NAME);
  });

  it('accepts the follow-ups the function queues itself, and records its role session as the SenderId', async () => {
    // Prepare: the main pipeline launches a forensic instance and captures online, so its steps wait on AWS
    const scenario = await buildScenario();
    const event = await findingFor(scenario);
    const role = await functionRole(main);

    // Act
    await world.putFinding(event);
    await drainAll(main.functionName);

    // Assess: more than the one EventBridge delivery, and the last came from the function's role
    const record = (await incidentRecord(main, event))!;
    expect(record.status).toBe('contained');
    expect(record.deliveries).toBeGreaterThan(1);
    expect(record.lastSenderId).toBe(role.senderId);
    expect(role.senderId).toMatch(new RegExp(`^AROA[A-Z0-9]+:${main.functionName}$`));
  });
});
