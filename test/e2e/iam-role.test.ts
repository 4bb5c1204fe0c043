// A compromised IAM role through the Terraform-deployed pipeline: GuardDuty says an instance role's
// credentials were used outside AWS; Firebreak revokes the role's older sessions, hands the
// instance they came from to the EC2 playbook, tags the role, leaves a bystander role alone; a
// responder's release removes the revocation. Asserted on AWS state.
import { CreateRoleCommand, GetRoleCommand, GetRolePolicyCommand, ListRolePoliciesCommand, ListRoleTagsCommand } from '@aws-sdk/client-iam';
import { describe, expect, it } from 'vitest';
import { parseRecorded } from '../../shared/engine/index.ts';
import { incidentIdFor } from '../../shared/findings/index.ts';
import type { IncidentRecord } from '../../shared/ledger/index.ts';
import { handOffSourceInstance } from '../../shared/playbooks/iam-role/source-instance.ts';
import { revokeOlderRoleSessions } from '../../shared/playbooks/iam-role/sessions.ts';
import { loadFixture, retargetInstanceFinding } from '../../scripts/lib/findings.ts';
import { buildScenario, drainAll, eniGroups, firebreakAs, outputs, pipeline, responderCredentials, securityGroup, world } from './support.ts';
import { ISOLATION_GROUP_NAME } from '../../shared/actions/vpc-isolation.ts';

const main = pipeline('firebreak');
const iamRoleFunction: string = outputs.firebreak.playbooks['iam-role'].function_name;

const inlinePolicies = async (roleName: string) => (await world.iam.send(new ListRolePoliciesCommand({ RoleName: roleName }))).PolicyNames ?? [];
const roleTags = async (roleName: string) => Object.fromEntries(((await world.iam.send(new ListRoleTagsCommand({ RoleName: roleName }))).Tags ?? []).map((t) => [t.Key!, t.Value!]));

const TRUST_EC2 = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] });

/** A role of the account, created for one test. */
async function aRole(name: string, trustPolicy = TRUST_EC2) {
  const { Role } = await world.iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trustPolicy }));
  return { roleName: Role!.RoleName!, roleId: Role!.RoleId! };
}

/** The fixture as GuardDuty reports a role session's calls from a malicious IP: no instance, the session `sessionName`. */
async function maliciousCallerFinding(roleName: string, roleId: string, sessionName: string) {
  const event = await exfiltrationFinding(roleName, roleId, 'i-0123456789abcdef0');
  event.detail.type = 'UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom';
  event.detail.resource.accessKeyDetails.principalId = `${roleId}:${sessionName}`;
  delete event.detail.resource.instanceDetails;
  return event;
}

/** The GuardDuty fixture (an instance role's credentials used outside AWS), adapted to the scenario's role and instance. */
async function exfiltrationFinding(roleName: string, roleId: string, instanceId: string) {
  const event = retargetInstanceFinding(loadFixture('iam-role-instancecredentialexfiltration-outsideaws'), { accountId: await world.accountId(), region: 'us-east-1', instanceId });
  const key = event.detail.resource.accessKeyDetails;
  key.userName = roleName;
  key.principalId = `${roleId}:${instanceId}`;
  event.detail.title = `Credentials for instance role ${roleName} used from external IP address.`;
  return event;
}

describe('Compromised IAM role, end to end', () => {
  it('revokes the role\'s older sessions, hands the source instance to the EC2 playbook, leaves a bystander role alone, and release restores', async () => {
    // Prepare: an instance with its own role (and instance profile), and a bystander role
    const scenario = await buildScenario({ instanceRole: 'own' });
    const { roleName } = scenario.role!;
    const { Role } = await world.iam.send(new GetRoleCommand({ RoleName: roleName }));
    const victim = scenario.victim.instanceId;
    const { roleName: bystander } = await aRole(`bystander-${scenario.suffix}`);
    const event = await exfiltrationFinding(roleName, Role!.RoleId!, victim);
    const incidentId = incidentIdFor(event.detail.accountId, event.detail.id, roleName);
    const startedAt = new Date();

    // Act: GuardDuty's finding reaches the IAM role function
    await world.putFinding(event, main.bus);
    await drainAll(iamRoleFunction);

    // Assess: the revocation policy, with a cut-off of this containment, on the role only
    const record = (await world.ledger(main.ledgerTable).get(incidentId)) as IncidentRecord;
    expect(record).toMatchObject({ status: 'contained', incident: { playbook: 'iam-role', resource: { type: 'IAMRole', id: roleName } } });
    const policyName = `FirebreakRevokeOlderSessions-${incidentId}`;
    expect(await inlinePolicies(roleName)).toContain(policyName);
    const { PolicyDocument } = await world.iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: policyName }));
    const document = JSON.parse(decodeURIComponent(PolicyDocument!));
    const cutOff = document.Statement[0].Condition.DateLessThan['aws:TokenIssueTime'];
    expect(document.Statement).toEqual([{ Sid: 'FirebreakRevokeOlderSessions', Effect: 'Deny', Action: '*', Resource: '*', Condition: { DateLessThan: { 'aws:TokenIssueTime': cutOff } } }]);
    expect(Date.parse(cutOff)).toBeGreaterThanOrEqual(startedAt.getTime() - 1000);
    expect(parseRecorded(revokeOlderRoleSessions, record.steps.revokeOlderRoleSessions!.data)).toMatchObject({ roleName, policyName, revokedBefore: cutOff });
    expect(await roleTags(roleName)).toMatchObject({ 'firebreak:incident-id': incidentId, 'firebreak:status': 'contained' });
    expect(await inlinePolicies(bystander)).toEqual([]);
    expect(await roleTags(bystander)).toEqual({});

    // …and the hand-off reaches the EC2 playbook, which contains the instance the credentials came from
    expect(parseRecorded(handOffSourceInstance, record.steps.handOffSourceInstance!.data)).toMatchObject({ instanceId: victim, from: 'instance-details' });
    await drainAll(main.functionName);
    const handedId = incidentIdFor(event.detail.accountId, `handoff-${incidentId}`, victim);
    const handed = (await world.ledger(main.ledgerTable).get(handedId)) as IncidentRecord;
    expect(handed).toMatchObject({ status: 'contained', openedBy: 'handoff', derivedFrom: { kind: 'handoff', incidentId, playbook: 'iam-role' }, incident: { resource: { type: 'Instance', id: victim } } });
    const groups = Object.values(await eniGroups(victim)).flat();
    expect((await Promise.all(groups.map(async (g) => (await securityGroup(g)).GroupName))).every((n) => n === ISOLATION_GROUP_NAME)).toBe(true);

    // Act: a responder releases the role's incident
    const released = firebreakAs(responderCredentials, 'release', incidentId, '--reason', 'the key was a test key, SEC-77', '--table', main.ledgerTable);

    // Assess: the revocation is gone, the role tagged released, the evidence and the bystander untouched
    expect(released.code, released.stderr + released.stdout).toBe(0);
    expect(released.stdout + released.stderr).toMatch(/valid again/);
    expect(await inlinePolicies(roleName)).not.toContain(policyName);
    expect(await roleTags(roleName)).toMatchObject({ 'firebreak:incident-id': incidentId, 'firebreak:status': 'released' });
    expect((await world.ledger(main.ledgerTable).get(incidentId))!.status).toBe('released');
    expect(await inlinePolicies(bystander)).toEqual([]);
  });

  it('SAML role: revokes the older sessions and denies the identity behind the session the role, new sessions included, until release; no hand-off', async () => {
    // Prepare
    const suffix = Math.random().toString(36).slice(2, 8);
    const accountId = await world.accountId();
    const trust = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Federated: `arn:aws:iam::${accountId}:saml-provider/Okta` }, Action: 'sts:AssumeRoleWithSAML', Condition: { StringEquals: { 'SAML:aud': 'https://signin.aws.amazon.com/saml' } } }],
    });
    const { roleName, roleId } = await aRole(`okta-engineers-${suffix}`, trust);
    const event = await maliciousCallerFinding(roleName, roleId, 'alice@example.com');
    const incidentId = incidentIdFor(event.detail.accountId, event.detail.id, roleName);

    // Act
    await world.putFinding(event, main.bus);
    await drainAll(iamRoleFunction);

    // Assess
    const record = (await world.ledger(main.ledgerTable).get(incidentId)) as IncidentRecord;
    expect(record.status).toBe('contained');
    expect(await inlinePolicies(roleName)).toEqual(expect.arrayContaining([`FirebreakRevokeOlderSessions-${incidentId}`, `FirebreakDenyFederatedIdentity-${incidentId}`]));
    const { PolicyDocument } = await world.iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: `FirebreakDenyFederatedIdentity-${incidentId}` }));
    expect(JSON.parse(decodeURIComponent(PolicyDocument!)).Statement).toEqual([
      { Sid: 'FirebreakDenyFederatedIdentity', Effect: 'Deny', Action: '*', Resource: '*', Condition: { StringLike: { 'aws:userid': `${roleId}:alice@example.com` } } },
    ]);
    expect(record.steps.handOffSourceInstance).toMatchObject({ status: 'skipped' });

    // Act: release
    const released = firebreakAs(responderCredentials, 'release', incidentId, '--reason', 'alice re-enrolled her MFA, SEC-78', '--table', main.ledgerTable);

    // Assess
    expect(released.code, released.stderr + released.stdout).toBe(0);
    expect(await inlinePolicies(roleName)).toEqual([]);
  });

  it('never touches a protected role or one of Firebreak\'s own roles', async () => {
    // Prepare
    const suffix = Math.random().toString(36).slice(2, 8);
    const breakGlass = await aRole(`break-glass-${suffix}`);
    const ownRoleName = outputs.firebreak.playbooks['iam-role'].role_arn.split('/').pop() as string;
    const { Role: own } = await world.iam.send(new GetRoleCommand({ RoleName: ownRoleName }));
    const ownPoliciesBefore = await inlinePolicies(ownRoleName);
    const events = [await maliciousCallerFinding(breakGlass.roleName, breakGlass.roleId, 'oncall'), await maliciousCallerFinding(ownRoleName, own!.RoleId!, iamRoleFunction)];

    // Act
    for (const event of events) await world.putFinding(event, main.bus);
    await drainAll(iamRoleFunction);

    // Assess: the protected role held by the gate, Firebreak's own refused by every step, neither changed
    const [protectedRecord, ownRecord] = (await Promise.all(events.map((e) => world.ledger(main.ledgerTable).get(incidentIdFor(e.detail.accountId, e.detail.id, e.detail.resource.accessKeyDetails.userName))))) as IncidentRecord[];
    expect(protectedRecord!.status).not.toBe('contained');
    expect(JSON.stringify(protectedRecord!.gates)).toMatch(/protected/);
    expect(ownRecord!.steps.revokeOlderRoleSessions).toMatchObject({ status: 'skipped', summary: expect.stringMatching(/Firebreak's own roles/) });
    expect(await inlinePolicies(breakGlass.roleName)).toEqual([]);
    expect(await roleTags(breakGlass.roleName)).toEqual({});
    expect(await inlinePolicies(ownRoleName)).toEqual(ownPoliciesBefore);
    expect(Object.keys(await roleTags(ownRoleName)).filter((k) => k.startsWith('firebreak:status'))).toEqual([]);
  });
});
