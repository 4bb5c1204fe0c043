// Issue 8, end to end: forensic copies, instance-role revocation, online and offline
// investigation, and release — through the Terraform-deployed pipeline on the emulator,
// asserting on AWS state.
import { spawnSync } from 'node:child_process';
import { CreateKeyPairCommand, DescribeIamInstanceProfileAssociationsCommand, DescribeSnapshotAttributeCommand, DescribeSnapshotsCommand, DescribeVolumesCommand } from '@aws-sdk/client-ec2';
import { GetRolePolicyCommand, ListRolePoliciesCommand } from '@aws-sdk/client-iam';
import { GetDocumentCommand, ListCommandsCommand } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import type { IncidentRecord } from '../../shared/ledger/index.ts';
import { revokeInstanceRoleSessions } from '../../shared/playbooks/ec2-instance/credentials.ts';
import { recordKeyPair } from '../../shared/playbooks/ec2-instance/keypair.ts';
import { bucketNamePattern, VOLATILE_DATA_DOCUMENT } from '../../shared/playbooks/ec2-instance/online.ts';
import {
  addressOf,
  asgState,
  buildScenario,
  classicElbInstances,
  drainAll,
  endpoint,
  eniGroups,
  findingFor,
  incidentRecord,
  instance,
  instanceAttribute,
  outputs,
  pipeline,
  securityGroup,
  snapshotsOf,
  targetIds,
  world,
  recorded,
} from './support.ts';

const main = pipeline('firebreak');
const full = pipeline('full');
const forensicsOut = outputs.forensics as { subnet_id: string; availability_zone: string; kms_key_arn: string };

async function containedOn(p: typeof main, scenario: Awaited<ReturnType<typeof buildScenario>>) {
  const event = await findingFor(scenario);
  await world.putFinding(event, p.bus);
  await drainAll(p.functionName);
  const record = await incidentRecord(p, event);
  expect(record?.status).toBe('contained');
  return { event, record: record! };
}

async function associationsOf(instanceId: string) {
  const out = await world.ec2.send(new DescribeIamInstanceProfileAssociationsCommand({ Filters: [{ Name: 'instance-id', Values: [instanceId] }] }));
  return (out.IamInstanceProfileAssociations ?? []).filter((a) => a.State === 'associated' || a.State === 'associating');
}

function firebreakCli(...args: string[]) {
  const out = spawnSync(process.execPath, ['scripts/firebreak.ts', ...args], {
    encoding: 'utf8',
    env: { ...process.env, AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
  });
  return { code: out.status, stdout: out.stdout, stderr: out.stderr };
}

describe('Playbook: compromised EC2 instance — forensics', () => {
  it('creates forensic volumes in the forensic instance\'s AZ from exactly the incident\'s snapshots, and shares re-encrypted copies with the forensic account', async () => {
    // Prepare
    const scenario = await buildScenario();
    expect(scenario.victim.availabilityZone).not.toBe(forensicsOut.availability_zone);

    // Act
    const { record } = await containedOn(main, scenario);

    // Assess: a forensic instance was launched in the forensic subnet
    const forensic = record.steps.createForensicVolumes!;
    expect(forensic.status).toBe('done');
    const data = forensic.data as { forensicInstanceId: string; availabilityZone: string; volumes: Array<{ snapshotId: string; volumeId: string; device: string }> };
    const forensicInstance = await instance(data.forensicInstanceId);
    expect(forensicInstance.SubnetId).toBe(forensicsOut.subnet_id);
    expect(forensicInstance.Placement!.AvailabilityZone).toBe(forensicsOut.availability_zone);

    // Assess: one volume per snapshot of the incident, in the forensic AZ, attached (not mounted) to the forensic instance
    const snapshots = await snapshotsOf(record.incidentId);
    const incidentSnapshots = snapshots.filter((s) => s.VolumeId && scenario.victim.volumeIds.includes(s.VolumeId));
    expect(incidentSnapshots.map((s) => s.VolumeId).sort()).toEqual([...scenario.victim.volumeIds].sort());
    const volumes = await world.ec2.send(
      new DescribeVolumesCommand({ Filters: [{ Name: 'tag:firebreak:incident-id', Values: [record.incidentId] }, { Name: 'tag:firebreak:purpose', Values: ['forensic-copy'] }] }),
    );
    expect(volumes.Volumes!.map((v) => v.SnapshotId).sort()).toEqual(incidentSnapshots.map((s) => s.SnapshotId).sort());
    for (const v of volumes.Volumes!) {
      expect(v.AvailabilityZone).toBe(forensicsOut.availability_zone);
      expect(v.Attachments!.map((a) => a.InstanceId)).toEqual([data.forensicInstanceId]);
    }

    // Assess: copies re-encrypted with the forensic key, shared with the forensic account
    const copy = record.steps.copySnapshotsToForensicAccount!;
    expect(copy.status).toBe('done');
    const copies = (copy.data as { copies: Array<{ sourceSnapshotId: string; copySnapshotId: string }> }).copies;
    expect(copies.map((c) => c.sourceSnapshotId).sort()).toEqual(incidentSnapshots.map((s) => s.SnapshotId).sort());
    const described = await world.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: copies.map((c) => c.copySnapshotId) }));
    for (const s of described.Snapshots!) {
      expect(s.Encrypted).toBe(true);
      expect(s.KmsKeyId).toBe(forensicsOut.kms_key_arn);
      const attr = await world.ec2.send(new DescribeSnapshotAttributeCommand({ SnapshotId: s.SnapshotId, Attribute: 'createVolumePermission' }));
      expect(attr.CreateVolumePermissions!.map((p) => p.UserId)).toContain('222222222222');
    }
  });
});

describe('Playbook: compromised EC2 instance — the instance role\'s credentials', () => {
  it('revokes the role\'s older sessions with an aws:TokenIssueTime deny, and removes the instance profile', async () => {
    // Prepare
    const scenario = await buildScenario({ instanceRole: 'own' });
    const before = new Date();

    // Act
    const { record } = await containedOn(main, scenario);

    // Assess: the inline deny is on the role, with the right condition
    const policyName = `FirebreakRevokeOlderSessions-${record.incidentId}`;
    const policy = await world.iam.send(new GetRolePolicyCommand({ RoleName: scenario.role!.roleName, PolicyName: policyName }));
    const document = JSON.parse(decodeURIComponent(policy.PolicyDocument!));
    expect(document.Statement).toHaveLength(1);
    const [statement] = document.Statement;
    expect(statement).toMatchObject({ Effect: 'Deny', Action: '*', Resource: '*' });
    const issuedBefore = Date.parse(statement.Condition.DateLessThan['aws:TokenIssueTime']);
    expect(issuedBefore).toBeGreaterThanOrEqual(before.getTime() - 1000);
    expect(issuedBefore).toBeLessThanOrEqual(Date.now());
    expect(record.steps.revokeInstanceRoleSessions).toMatchObject({ status: 'done', data: { roleName: scenario.role!.roleName, policyName } });

    // Assess: IMDS serves no more role credentials
    expect(await associationsOf(scenario.victim.instanceId)).toEqual([]);
    expect(record.steps.replaceInstanceProfile).toMatchObject({ status: 'done', data: { instanceProfileArnBefore: scenario.role!.instanceProfileArn, replacedWith: null } });
  });

  it('records and recommends instead of revoking when another running instance uses the same role', async () => {
    // Prepare
    const scenario = await buildScenario({ instanceRole: 'shared' });

    // Act
    const { record } = await containedOn(main, scenario);

    // Assess
    const policies = await world.iam.send(new ListRolePoliciesCommand({ RoleName: scenario.role!.roleName }));
    expect(policies.PolicyNames).toEqual([]);
    const step = record.steps.revokeInstanceRoleSessions!;
    expect(step.status).toBe('skipped');
    const revocation = recorded(record, revokeInstanceRoleSessions);
    expect(revocation.sharedWith).toEqual([scenario.instanceIds[1]]);
    expect(String(revocation.recommendation)).toMatch(/aws:userid/);
    // The other instance keeps its profile and credentials.
    expect(await associationsOf(scenario.instanceIds[1])).toHaveLength(1);
  });
});

describe('Playbook: compromised EC2 instance — the launch key pair', () => {
  it('records the key pair, its fingerprint and the other instance launched with it, and recommends rotation', async () => {
    // Prepare
    const keyName = `fb-key-${Date.now().toString(36)}`;
    const created = await world.ec2.send(new CreateKeyPairCommand({ KeyName: keyName }));
    const scenario = await buildScenario({ keyName });

    // Act
    const { record } = await containedOn(main, scenario);

    // Assess
    expect(record.steps.recordKeyPair).toMatchObject({ status: 'done', data: { keyName, fingerprint: created.KeyFingerprint, stillInEc2: true } });
    // The other instance, and the replacement the Auto Scaling group launched from the same template
    const others = recorded(record, recordKeyPair).otherInstances ?? [];
    expect(others).toContain(scenario.instanceIds[1]);
    expect(others).not.toContain(scenario.victim.instanceId);
    expect(new Set(others)).toEqual(new Set((await asgState(scenario.asgName)).members));
  });
});

describe('Playbook: compromised EC2 instance — online investigation', () => {
  it('lets the isolation group reach only the VPC\'s SSM endpoints over HTTPS, says so, and records the capture\'s outcome', async () => {
    // Prepare
    const scenario = await buildScenario({ ssmEndpoints: true });

    // Act
    const { record } = await containedOn(main, scenario);

    // Assess: isolation group — no ingress, egress only tcp/443 to the endpoints' group
    const groups = Object.values(await eniGroups(scenario.victim.instanceId)).flat();
    const iso = await securityGroup(groups[0]!);
    expect(new Set(groups).size).toBe(1);
    expect(iso.IpPermissions).toEqual([]);
    expect(iso.IpPermissionsEgress!.map((p) => ({ proto: p.IpProtocol, from: p.FromPort, to: p.ToPort, groups: p.UserIdGroupPairs!.map((g) => g.GroupId), cidrs: p.IpRanges }))).toEqual([
      { proto: 'tcp', from: 443, to: 443, groups: [scenario.ssmEndpoints!.securityGroupId], cidrs: [] },
    ]);
    expect(record.steps.isolateNetworkInterfaces!.summary).toMatch(/SSM/);

    // Assess: moto runs no commands and has no DescribeInstanceInformation — the outcome is recorded, nothing is held
    expect(['done', 'skipped', 'failed', 'pending']).toContain(record.steps.captureVolatileData!.status);
    expect(record.steps.captureVolatileData!.summary.length).toBeGreaterThan(0);
    expect(record.steps.captureVolatileData!.summary).not.toMatch(/no Firebreak SSM document/);

    // Assess: Terraform deployed Firebreak's own documents (online capture and a memory command are
    // on), and any command sent to the instance names one of them, never AWS's shell documents
    const volatile = await world.ssm.send(new GetDocumentCommand({ Name: 'firebreak-volatile-data' }));
    expect(volatile.DocumentType).toBe('Command');
    expect(JSON.parse(volatile.Content!)).toEqual(VOLATILE_DATA_DOCUMENT);
    const memory = JSON.parse((await world.ssm.send(new GetDocumentCommand({ Name: 'firebreak-memory-capture' }))).Content!);
    expect(memory.parameters.s3Uri.allowedPattern).toBe(`^s3://${bucketNamePattern(main.evidenceBucket)}/incidents/inc-[0-9a-f]{16}(-g([2-9]|[1-9]\\d{1,3}))?/online/memory$`);
    expect(memory.mainSteps[0].inputs.runCommand.at(-1)).toMatch(/^\/opt\/avml\/avml /);
    const commands = (await world.ssm.send(new ListCommandsCommand({ InstanceId: scenario.victim.instanceId }))).Commands ?? [];
    for (const command of commands) expect(['firebreak-volatile-data', 'firebreak-memory-capture']).toContain(command.DocumentName);
  });

  it('records that online capture was not possible when isolation leaves the SSM agent no route', async () => {
    // Prepare
    const scenario = await buildScenario();

    // Act
    const { record } = await containedOn(main, scenario);

    // Assess
    expect(record.steps.captureVolatileData).toMatchObject({ status: 'skipped' });
    expect(record.steps.captureVolatileData!.summary).toMatch(/not possible/);
    const iso = await securityGroup(Object.values(await eniGroups(scenario.victim.instanceId)).flat()[0]!);
    expect(iso.IpPermissionsEgress).toEqual([]);
  });
});

describe('Playbook: compromised EC2 instance — offline investigation (full mode)', () => {
  it('stops the instance once evidence is safe, never terminating it', async () => {
    // Prepare
    const scenario = await buildScenario();

    // Act
    const { record } = await containedOn(full, scenario);

    // Assess
    const victim = await instance(scenario.victim.instanceId);
    expect(victim.State!.Name).toBe('stopped');
    expect(record.steps.stopForOfflineInvestigation).toMatchObject({ status: 'done', data: { finalState: 'stopped' } });
    expect(await instanceAttribute(scenario.victim.instanceId, 'disableApiTermination')).toBe(true);
    expect(await instanceAttribute(scenario.victim.instanceId, 'disableApiStop')).toBe(false);
    // Evidence was complete before the stop.
    expect((await snapshotsOf(record.incidentId)).map((s) => s.VolumeId).sort()).toEqual([...scenario.victim.volumeIds].sort());
    expect(record.steps.preserveInstanceMetadata!.status).toBe('done');
    expect(Date.parse(record.steps.stopForOfflineInvestigation!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(record.steps.snapshotVolumes!.finishedAt!));
  });
});

describe('Release: undoing a containment from what the ledger captured', () => {
  it('restores every ENI\'s groups, the Elastic IP, target-group, classic ELB and (when asked) ASG membership, removes the revocation — and a second release changes nothing', async () => {
    // Prepare
    const scenario = await buildScenario({ secondEni: true, elasticIp: true, ipTargetGroup: true, classicElb: true, instanceRole: 'own' });
    const victim = scenario.victim.instanceId;
    const groupsBefore = await eniGroups(victim);
    const addressBefore = await addressOf(scenario.victim.allocationId!);
    const { record } = await containedOn(main, scenario);
    expect(await eniGroups(victim)).not.toEqual(groupsBefore);

    // Act
    const first = firebreakCli('release', record.incidentId, '--reason', 'False positive: pen test SEC-42', '--reattach', '--table', main.ledgerTable);

    // Assess: AWS state is as before containment
    expect(first.code, first.stderr + first.stdout).toBe(0);
    expect(await eniGroups(victim)).toEqual(groupsBefore);
    const address = await addressOf(scenario.victim.allocationId!);
    expect(address.NetworkInterfaceId).toBe(addressBefore.NetworkInterfaceId);
    expect(address.PrivateIpAddress).toBe(addressBefore.PrivateIpAddress);
    expect(await targetIds(scenario.targetGroupArn)).toContain(victim);
    expect(await targetIds(scenario.ipTargetGroupArn!)).toContain(scenario.victim.privateIp);
    expect(await classicElbInstances(scenario.classicElbName!)).toContain(victim);
    expect((await asgState(scenario.asgName)).members).toContain(victim);
    expect((await world.iam.send(new ListRolePoliciesCommand({ RoleName: scenario.role!.roleName }))).PolicyNames).toEqual([]);
    expect((await associationsOf(victim)).map((a) => a.IamInstanceProfile!.Arn)).toEqual([scenario.role!.instanceProfileArn]);
    // Termination protection stays until a responder removes it; evidence stays.
    expect(await instanceAttribute(victim, 'disableApiTermination')).toBe(true);
    expect((await snapshotsOf(record.incidentId)).length).toBeGreaterThanOrEqual(scenario.victim.volumeIds.length);

    // Assess: the ledger says who, when and why
    const released = (await world.ledger(main.ledgerTable).get(record.incidentId)) as IncidentRecord;
    expect(released.status).toBe('released');
    expect(released.release).toMatchObject({ reason: 'False positive: pen test SEC-42', reattach: true, via: 'cli', status: 'released' });
    expect(released.release!.releasedBy).toMatch(/^arn:aws:/);
    expect(released.release!.releasedAt).toMatch(/^\d{4}-\d\d-\d\dT/);

    // Act: again
    const second = firebreakCli('release', record.incidentId, '--reason', 'again', '--table', main.ledgerTable);

    // Assess: nothing changed
    expect(second.code, second.stderr + second.stdout).toBe(0);
    expect(second.stdout).toMatch(/already released/);
    expect((await world.ledger(main.ledgerTable).get(record.incidentId))!.release).toEqual(released.release);
    expect(await eniGroups(victim)).toEqual(groupsBefore);
    expect((await asgState(scenario.asgName)).members.filter((m) => m === victim)).toHaveLength(1);
  });

  it('leaves ASG membership alone without --reattach, and releases through the bus on an operator\'s event', async () => {
    // Prepare
    const scenario = await buildScenario();
    const victim = scenario.victim.instanceId;
    const groupsBefore = await eniGroups(victim);
    const { event, record } = await containedOn(main, scenario);

    // Act: the operator's release event, on the responders' bus
    const accountId = await world.accountId();
    await world.putFinding(
      {
        version: '0',
        id: 'release-1',
        source: 'firebreak.manual',
        'detail-type': 'Firebreak Manual Release',
        account: accountId,
        time: new Date().toISOString(),
        region: 'us-east-1',
        resources: [],
        detail: { incidentId: record.incidentId, resource: { resourceType: 'Instance', id: victim }, reason: 'Contained by mistake', requestedBy: 'arn:aws:iam::123456789012:user/oncall' },
      } as unknown as typeof event,
      main.respondersBus,
    );
    await drainAll(main.functionName);

    // Assess
    const released = await incidentRecord(main, event);
    expect(released!.status).toBe('released');
    expect(released!.release).toMatchObject({ via: 'event', requestedBy: 'arn:aws:iam::123456789012:user/oncall', reason: 'Contained by mistake', reattach: false });
    expect(await eniGroups(victim)).toEqual(groupsBefore);
    expect(await targetIds(scenario.targetGroupArn)).toContain(victim);
    expect((await asgState(scenario.asgName)).members).not.toContain(victim);

    // Act: GuardDuty publishes the finding again — a released incident is not contained again
    await world.putFinding(await findingFor(scenario, 'ec2-c-cactivity-b', { findingId: event.detail.id, count: 4 }), main.bus);
    await drainAll(main.functionName);

    // Assess
    expect((await incidentRecord(main, event))!.status).toBe('released');
    expect(await eniGroups(victim)).toEqual(groupsBefore);
  });
});
