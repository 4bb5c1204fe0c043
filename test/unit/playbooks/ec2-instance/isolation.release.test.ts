import { DescribeNetworkInterfacesCommand, EC2Client, ModifyNetworkInterfaceAttributeCommand, type NetworkInterface, type SecurityGroup } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { ISOLATION_GROUP_NAME, UNTRACKING_GROUP_NAME } from '../../../../shared/actions/vpc-isolation.ts';
import { executeStep } from '../../../../shared/engine/index.ts';
import { captureInstance, type Ec2Capture, type NetworkInterfaceState } from '../../../../shared/playbooks/ec2-instance/describe.ts';
import { isolateNetworkInterfaces } from '../../../../shared/playbooks/ec2-instance/isolation.ts';
import type { StepOutcome } from '../../../../shared/vocabulary/index.ts';
import {
  anIncident,
  anInstance,
  anUndoContext,
  aStepContext,
  awsError,
  FIXED_NOW,
  INSTANCE_ID,
  ledgerFixture,
  silentLogger,
  VPC_ID,
  releaseWithStepsOf,
} from '../../helpers/factories.ts';

const ec2Mock = mockClient(EC2Client);
afterEach(() => ec2Mock.reset());

const ISO = 'sg-0150150150150150a';
const UNTRACK = 'sg-0aaaaaaaaaaaaaaa0';
const WEB = 'sg-0123456789abcdef0';
const ADMIN = 'sg-0fedcba9876543210';
const ENI = 'eni-0b7c1d2e3f4a5b6c7';
const ENI2 = 'eni-0c8d2e3f4a5b6c7d8';
const ALL_TRAFFIC = [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }];

const readyGroups = (): SecurityGroup[] => [
  { GroupId: ISO, GroupName: ISOLATION_GROUP_NAME, VpcId: VPC_ID, IpPermissions: [], IpPermissionsEgress: [] },
  { GroupId: UNTRACK, GroupName: UNTRACKING_GROUP_NAME, VpcId: VPC_ID, IpPermissions: ALL_TRAFFIC, IpPermissionsEgress: ALL_TRAFFIC },
];
const eni = (networkInterfaceId: string, groupIds: string[], deviceIndex = 0): NetworkInterfaceState => ({
  networkInterfaceId,
  groupIds,
  privateIps: [],
  requesterManaged: false,
  deviceIndex,
});
/** The instance at containment: ENI with the web group, ENI2 with the web and admin groups. */
const webServer = () => [eni(ENI, [WEB]), eni(ENI2, [WEB, ADMIN], 1)];

/** Runs isolation against mocked EC2 and returns what it really recorded; the mock is then cleared for the release. */
async function isolate(networkInterfaces: NetworkInterfaceState[], capture?: Ec2Capture) {
  ec2Mock.on(ModifyNetworkInterfaceAttributeCommand).resolves({});
  const result = await isolateNetworkInterfaces.run(aStepContext({ resource: anInstance({ networkInterfaces, firebreakGroups: readyGroups() }), ...(capture ? { capture } : {}) }));
  ec2Mock.reset();
  return result;
}

const eniNow = (id: string, groups: string[], instanceId = INSTANCE_ID): NetworkInterface => ({
  NetworkInterfaceId: id,
  Groups: groups.map((GroupId) => ({ GroupId })),
  Attachment: { InstanceId: instanceId },
});
const modifyCalls = () => ec2Mock.commandCalls(ModifyNetworkInterfaceAttributeCommand).map((c) => c.args[0].input);
const restore = isolateNetworkInterfaces.undo!;

describe('Undo: restoreSecurityGroups', () => {
  it('keeps the name the ledger records it under, and declares the calls it makes', () => {
    // Assess
    expect(restore.name).toBe('restoreSecurityGroups');
    expect(restore.iamActions).toEqual(['ec2:DescribeNetworkInterfaces', 'ec2:ModifyNetworkInterfaceAttribute']);
  });

  it('puts back exactly the groups each interface had before isolation', async () => {
    // Prepare
    const isolated = await isolate(webServer());
    ec2Mock.on(DescribeNetworkInterfacesCommand).resolves({ NetworkInterfaces: [eniNow(ENI, [ISO]), eniNow(ENI2, [ISO])] });
    ec2Mock.on(ModifyNetworkInterfaceAttributeCommand).resolves({});

    // Act
    const result = await restore.run(anUndoContext(isolateNetworkInterfaces, isolated));

    // Assess
    expect(ec2Mock.commandCalls(DescribeNetworkInterfacesCommand)[0]!.args[0].input).toEqual({ Filters: [{ Name: 'network-interface-id', Values: [ENI, ENI2] }] });
    expect(modifyCalls()).toEqual([
      { NetworkInterfaceId: ENI, Groups: [WEB] },
      { NetworkInterfaceId: ENI2, Groups: [WEB, ADMIN] },
    ]);
    expect(result.status).toBe('done');
    expect(result.summary).toBe(`restored ${ENI} → ${WEB}; ${ENI2} → ${WEB}, ${ADMIN}`);
    expect(result.data).toEqual({
      interfaces: [
        { networkInterfaceId: ENI, groupsBefore: [WEB], groupsNow: [WEB], result: 'restored' },
        { networkInterfaceId: ENI2, groupsBefore: [WEB, ADMIN], groupsNow: [WEB, ADMIN], result: 'restored' },
      ],
    });
  });

  it('restores the groups of the first delivery to an interface a redelivery found already isolated', async () => {
    // Prepare
    const capture = captureInstance(anInstance({ networkInterfaces: [eni(ENI, [WEB, ADMIN])] }));
    const isolated = await isolate([eni(ENI, [ISO])], capture);
    ec2Mock.on(DescribeNetworkInterfacesCommand).resolves({ NetworkInterfaces: [eniNow(ENI, [ISO])] });
    ec2Mock.on(ModifyNetworkInterfaceAttributeCommand).resolves({});

    // Act
    const result = await restore.run(anUndoContext(isolateNetworkInterfaces, isolated));

    // Assess
    expect(isolated.data!.interfaces[0]!.result).toBe('already-isolated');
    expect(modifyCalls()).toEqual([{ NetworkInterfaceId: ENI, Groups: [WEB, ADMIN] }]);
    expect(result.status).toBe('done');
  });

  it('restores an interface left on the untracking group between the two swaps', async () => {
    // Prepare
    const isolated = await isolate([eni(ENI, [WEB])]);
    ec2Mock.on(DescribeNetworkInterfacesCommand).resolves({ NetworkInterfaces: [eniNow(ENI, [UNTRACK])] });
    ec2Mock.on(ModifyNetworkInterfaceAttributeCommand).resolves({});

    // Act
    const result = await restore.run(anUndoContext(isolateNetworkInterfaces, isolated));

    // Assess
    expect(modifyCalls()).toEqual([{ NetworkInterfaceId: ENI, Groups: [WEB] }]);
    expect(result.status).toBe('done');
  });

  it('leaves alone an interface whose groups someone changed since containment, and says so', async () => {
    // Prepare
    const isolated = await isolate([eni(ENI, [WEB]), eni(ENI2, [WEB], 1)]);
    ec2Mock.on(DescribeNetworkInterfacesCommand).resolves({ NetworkInterfaces: [eniNow(ENI, [ISO, ADMIN]), eniNow(ENI2, [ADMIN])] });

    // Act
    const result = await restore.run(anUndoContext(isolateNetworkInterfaces, isolated));

    // Assess
    expect(modifyCalls()).toEqual([]);
    expect(result.status).toBe('skipped');
    expect(result.summary).toBe(`left alone (changed since containment): ${ENI} now has ${ISO}, ${ADMIN}; ${ENI2} now has ${ADMIN}`);
  });

  it('changes nothing when run again after restoring (idempotent)', async () => {
    // Prepare
    const isolated = await isolate([eni(ENI, [WEB, ADMIN])]);
    ec2Mock.on(DescribeNetworkInterfacesCommand).resolves({ NetworkInterfaces: [eniNow(ENI, [ADMIN, WEB])] });

    // Act
    const result = await restore.run(anUndoContext(isolateNetworkInterfaces, isolated));

    // Assess
    expect(modifyCalls()).toEqual([]);
    expect(result.status).toBe('done');
    expect(result.summary).toBe(`${ENI} already had their groups back`);
  });

  it('leaves alone an interface that no longer exists or now belongs to another instance', async () => {
    // Prepare
    const isolated = await isolate([eni(ENI, [WEB]), eni(ENI2, [WEB], 1)]);
    ec2Mock.on(DescribeNetworkInterfacesCommand).resolves({ NetworkInterfaces: [eniNow(ENI2, [ISO], 'i-0ffffffffffffffff')] });

    // Act
    const result = await restore.run(anUndoContext(isolateNetworkInterfaces, isolated));

    // Assess
    expect(modifyCalls()).toEqual([]);
    expect(result.status).toBe('skipped');
    expect(result.summary).toBe(`left alone (now attached to another instance): ${ENI2}; no longer exist: ${ENI}`);
  });

  it('restores a detached interface that still carries only the Firebreak groups', async () => {
    // Prepare
    const isolated = await isolate([eni(ENI, [WEB])]);
    ec2Mock.on(DescribeNetworkInterfacesCommand).resolves({ NetworkInterfaces: [{ NetworkInterfaceId: ENI, Groups: [{ GroupId: ISO }] }] });
    ec2Mock.on(ModifyNetworkInterfaceAttributeCommand).resolves({});

    // Act
    const result = await restore.run(anUndoContext(isolateNetworkInterfaces, isolated));

    // Assess
    expect(modifyCalls()).toEqual([{ NetworkInterfaceId: ENI, Groups: [WEB] }]);
    expect(result.summary).toBe(`restored ${ENI} → ${WEB}`);
  });

  it('restores the other interfaces, then fails, when one cannot be restored', async () => {
    // Prepare
    const isolated = await isolate([eni(ENI, [WEB]), eni(ENI2, [WEB], 1)]);
    ec2Mock.on(DescribeNetworkInterfacesCommand).resolves({ NetworkInterfaces: [eniNow(ENI, [ISO]), eniNow(ENI2, [ISO])] });
    ec2Mock
      .on(ModifyNetworkInterfaceAttributeCommand, { NetworkInterfaceId: ENI })
      .rejects(awsError('InvalidGroup.NotFound'))
      .on(ModifyNetworkInterfaceAttributeCommand, { NetworkInterfaceId: ENI2 })
      .resolves({});

    // Act
    const run = restore.run(anUndoContext(isolateNetworkInterfaces, isolated));

    // Assess
    await expect(run).rejects.toMatchObject({ name: 'InvalidGroup.NotFound' });
    expect(modifyCalls().map((c) => c.NetworkInterfaceId)).toEqual([ENI, ENI2]);
  });
});

/** What containment recorded for isolation: its outcome as the engine builds it from the step's run against mocked EC2. */
async function isolationOutcome(networkInterfaces: NetworkInterfaceState[]): Promise<StepOutcome> {
  const ctx = aStepContext({ resource: anInstance({ networkInterfaces, firebreakGroups: readyGroups() }) });
  const outcome = await executeStep({ name: isolateNetworkInterfaces.name, description: isolateNetworkInterfaces.description, stage: 'contain', now: () => FIXED_NOW, logger: silentLogger() }, () =>
    isolateNetworkInterfaces.run(ctx),
  );
  ec2Mock.reset();
  return outcome;
}

describe('Release: restoreSecurityGroups through the engine', () => {
  it('restores the groups from the outcome isolation recorded', async () => {
    // Prepare
    ec2Mock.on(ModifyNetworkInterfaceAttributeCommand).resolves({});
    const outcome = await isolationOutcome(webServer());
    ec2Mock.on(DescribeNetworkInterfacesCommand).resolves({ NetworkInterfaces: [eniNow(ENI, [ISO]), eniNow(ENI2, [ISO])] });
    ec2Mock.on(ModifyNetworkInterfaceAttributeCommand).resolves({});

    // Act
    const summary = await releaseWithStepsOf({ isolateNetworkInterfaces: outcome }, [isolateNetworkInterfaces]);

    // Assess
    expect(summary.outcome).toBe('released');
    expect(summary.steps.restoreSecurityGroups).toMatchObject({ status: 'done', summary: `restored ${ENI} → ${WEB}; ${ENI2} → ${WEB}, ${ADMIN}` });
  });

  it('restores from a record the previous version wrote (test/fixtures/ledger/v1/ec2-contained.json)', async () => {
    // Prepare
    const v1 = ledgerFixture('v1/ec2-contained.json');
    const { isolationGroupId, interfaces } = v1.steps.isolateNetworkInterfaces.data as { isolationGroupId: string; interfaces: Array<{ networkInterfaceId: string; groupsBefore: string[] }> };
    const incident = anIncident({ resource: { type: 'Instance', id: v1.resourceId, hints: {} } });
    ec2Mock.on(DescribeNetworkInterfacesCommand).resolves({ NetworkInterfaces: interfaces.map((i) => eniNow(i.networkInterfaceId, [isolationGroupId], v1.resourceId)) });
    ec2Mock.on(ModifyNetworkInterfaceAttributeCommand).resolves({});

    // Act
    const summary = await releaseWithStepsOf(v1.steps, [isolateNetworkInterfaces], { incident });

    // Assess
    expect(summary.steps.restoreSecurityGroups).toMatchObject({ status: 'done' });
    expect(modifyCalls()).toEqual(interfaces.map((i) => ({ NetworkInterfaceId: i.networkInterfaceId, Groups: i.groupsBefore })));
  });

  it.each([
    ['did not run', async (): Promise<Record<string, StepOutcome>> => ({}), 'never ran'],
    ['skipped (no interface)', async () => ({ isolateNetworkInterfaces: await isolationOutcome([]) }), 'skipped'],
    [
      'failed',
      async () => {
        ec2Mock.on(ModifyNetworkInterfaceAttributeCommand).rejects(awsError('UnauthorizedOperation', { httpStatusCode: 403 }));
        return { isolateNetworkInterfaces: await isolationOutcome(webServer()) };
      },
      'failed',
    ],
    [
      'was planned only (observe mode)',
      async () => ({
        isolateNetworkInterfaces: { stage: 'contain', status: 'planned', summary: `${isolateNetworkInterfaces.description} (planned in observe mode)`, attempts: 0, data: { iamActions: [...isolateNetworkInterfaces.iamActions] } } as StepOutcome,
      }),
      'planned',
    ],
  ])('restores nothing, touching nothing, when isolation %s', async (_case, contained, status) => {
    // Prepare
    const steps = await contained();

    // Act
    const summary = await releaseWithStepsOf(steps, [isolateNetworkInterfaces]);

    // Assess
    expect(summary.steps.restoreSecurityGroups).toMatchObject({ status: 'skipped', summary: `isolateNetworkInterfaces did not change ${INSTANCE_ID} (${status}): nothing to restore` });
    expect(ec2Mock.calls()).toHaveLength(0);
  });
});
