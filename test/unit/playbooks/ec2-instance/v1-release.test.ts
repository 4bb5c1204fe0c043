// What commit 57b6851 wrote to the ledger must still release with today's code: the records in
// test/fixtures/ledger/v1/ were written by that commit itself (its demo, and a contained
// incident it never released). The whole EC2 release order runs against mocked AWS that looks
// the way containment left the instance; every undo must get what that containment recorded.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AttachInstancesCommand, AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import {
  AssociateAddressCommand,
  AssociateIamInstanceProfileCommand,
  CreateTagsCommand,
  DescribeAddressesCommand,
  DescribeIamInstanceProfileAssociationsCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  ModifyNetworkInterfaceAttributeCommand,
} from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingClient, RegisterInstancesWithLoadBalancerCommand } from '@aws-sdk/client-elastic-load-balancing';
import { ElasticLoadBalancingV2Client, RegisterTargetsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DeleteRolePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { releaseIncident, type ReleaseLedger } from '../../../../shared/engine/index.ts';
import { incidentRecordOf, type IncidentRecord } from '../../../../shared/ledger/index.ts';
import { ec2InstancePlaybook } from '../../../../shared/playbooks/ec2-instance/index.ts';
import type { StepOutcome } from '../../../../shared/vocabulary/index.ts';
import { RESPONDER, silentLogger, someClients } from '../../helpers/factories.ts';

const ec2Mock = mockClient(EC2Client);
const iamMock = mockClient(IAMClient);
const elbv2Mock = mockClient(ElasticLoadBalancingV2Client);
const elbMock = mockClient(ElasticLoadBalancingClient);
const asgMock = mockClient(AutoScalingClient);
afterEach(() => [ec2Mock, iamMock, elbv2Mock, elbMock, asgMock].forEach((m) => m.reset()));

const v1 = (name: string): Record<string, unknown> => JSON.parse(readFileSync(join(import.meta.dirname, '../../../fixtures/ledger/v1', name), 'utf8'));

/** A ledger that holds one record and applies the release writes to it, as DynamoDB would. */
function ledgerHolding(item: Record<string, unknown>) {
  let record = incidentRecordOf(item)!;
  const written: Record<string, StepOutcome> = {};
  const ledger: ReleaseLedger = {
    get: async () => record,
    beginRelease: async (p) => {
      record = { ...record, release: { requestedBy: p.requestedBy, reason: p.reason, reattach: p.reattach, requestedAt: p.now.toISOString(), via: p.via, status: 'releasing', claimId: p.claimId, steps: {} } };
      return { claimed: true, record };
    },
    recordReleaseStep: async (_id, _claim, name, outcome) => {
      written[name] = outcome;
    },
    finishRelease: async (_id, _claim, p) => {
      record = { ...record, status: p.status === 'released' ? 'released' : record.status, release: { ...record.release!, status: p.status, steps: written } };
    },
  };
  return { ledger, written, record: () => record as IncidentRecord };
}

describe('Release of a record written by 57b6851', () => {
  it('restores a contained, never-released EC2 incident from what that version recorded', async () => {
    // Prepare: AWS as containment left it — ENIs in the isolation group, EIP free, no profile
    const item = v1('ec2-contained.json');
    const steps = item.steps as Record<string, { data: any }>;
    const instanceId = item.resourceId as string;
    const isolation = steps.isolateNetworkInterfaces!.data;
    const eip = steps.disassociateElasticIps!.data.addresses[0];
    const capture = item.capture as any;
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            {
              InstanceId: instanceId,
              State: { Name: 'running' },
              VpcId: capture.vpcId,
              NetworkInterfaces: capture.networkInterfaces.map((n: any) => ({
                NetworkInterfaceId: n.networkInterfaceId,
                Groups: [{ GroupId: isolation.isolationGroupId }],
                PrivateIpAddresses: n.privateIps.map((ip: string) => ({ PrivateIpAddress: ip })),
                Attachment: { InstanceId: instanceId, DeviceIndex: n.deviceIndex },
              })),
            },
          ],
        },
      ],
    });
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
    ec2Mock.on(DescribeNetworkInterfacesCommand).resolves({
      NetworkInterfaces: isolation.interfaces.map((i: any) => ({ NetworkInterfaceId: i.networkInterfaceId, Groups: [{ GroupId: isolation.isolationGroupId }], Attachment: { InstanceId: instanceId } })),
    });
    ec2Mock.on(DescribeIamInstanceProfileAssociationsCommand).resolves({ IamInstanceProfileAssociations: [] });
    ec2Mock.on(DescribeAddressesCommand).resolves({ Addresses: [{ AllocationId: eip.allocationId, PublicIp: eip.publicIp }] });
    ec2Mock.on(ModifyNetworkInterfaceAttributeCommand).resolves({});
    ec2Mock.on(AssociateAddressCommand).resolves({});
    ec2Mock.on(AssociateIamInstanceProfileCommand).resolves({});
    ec2Mock.on(CreateTagsCommand).resolves({});
    iamMock.on(DeleteRolePolicyCommand).resolves({});
    elbv2Mock.on(RegisterTargetsCommand).resolves({});
    elbMock.on(RegisterInstancesWithLoadBalancerCommand).resolves({});
    const { ledger, written, record } = ledgerHolding(item);

    // Act
    const result = await releaseIncident(
      { ledger, clientsFor: () => someClients(), logger: silentLogger(), playbookFor: () => ec2InstancePlaybook },
      { incidentId: item.incidentId as string, reason: 'drill over', reattach: false, requestedBy: RESPONDER, via: 'cli' },
    );

    // Assess: released, every undo of a step that changed something restored it from the v1 data
    expect(result.outcome).toBe('released');
    expect(result.failures).toEqual([]);
    expect(Object.fromEntries(Object.entries(written).map(([name, o]) => [name, o.status]))).toEqual({
      restoreInstanceProfile: 'done',
      removeRevocationPolicy: 'done',
      restoreSecurityGroups: 'done',
      reassociateElasticIps: 'done',
      reregisterTargets: 'done',
      reregisterClassicLoadBalancers: 'done',
      reattachToAutoScalingGroup: 'skipped',
      keepProtectionsAndEvidence: 'done',
      tagReleased: 'done',
    });
    expect(ec2Mock.commandCalls(ModifyNetworkInterfaceAttributeCommand).map((c) => c.args[0].input).sort((a, b) => a.NetworkInterfaceId!.localeCompare(b.NetworkInterfaceId!))).toEqual(
      isolation.interfaces.map((i: any) => ({ NetworkInterfaceId: i.networkInterfaceId, Groups: i.groupsBefore })).sort((a: any, b: any) => a.NetworkInterfaceId.localeCompare(b.NetworkInterfaceId)),
    );
    expect(ec2Mock.commandCalls(AssociateAddressCommand)[0]!.args[0].input).toMatchObject({ AllocationId: eip.allocationId, NetworkInterfaceId: eip.networkInterfaceId, PrivateIpAddress: eip.privateIpAddress });
    expect(ec2Mock.commandCalls(AssociateIamInstanceProfileCommand)[0]!.args[0].input).toEqual({ InstanceId: instanceId, IamInstanceProfile: { Arn: steps.replaceInstanceProfile!.data.instanceProfileArnBefore } });
    expect(iamMock.commandCalls(DeleteRolePolicyCommand)[0]!.args[0].input).toEqual({ RoleName: steps.revokeInstanceRoleSessions!.data.roleName, PolicyName: steps.revokeInstanceRoleSessions!.data.policyName });
    expect(elbv2Mock.commandCalls(RegisterTargetsCommand).map((c) => c.args[0].input.TargetGroupArn).sort()).toEqual(steps.deregisterFromTargetGroups!.data.registrations.map((r: any) => r.targetGroupArn).sort());
    expect(elbMock.commandCalls(RegisterInstancesWithLoadBalancerCommand)[0]!.args[0].input.LoadBalancerName).toBe(steps.deregisterFromClassicLoadBalancers!.data.loadBalancerNames[0]);
    expect(asgMock.commandCalls(AttachInstancesCommand)).toHaveLength(0);
    // …and what containment kept (snapshots, forensic volumes, copies) is named as kept
    expect(result.keptProtections.join(' ')).toContain(steps.snapshotVolumes!.data.snapshots[0].snapshotId);
    expect(record().status).toBe('released');
  });

  it('says a released v1 incident is already released, and changes nothing', async () => {
    // Prepare
    const item = v1('ec2-released.json');
    const { ledger } = ledgerHolding(item);

    // Act
    const result = await releaseIncident(
      { ledger, clientsFor: () => someClients(), logger: silentLogger(), playbookFor: () => ec2InstancePlaybook },
      { incidentId: item.incidentId as string, reason: 'again', reattach: false, requestedBy: RESPONDER, via: 'cli' },
    );

    // Assess
    expect(result.outcome).toBe('already-released');
    expect(Object.keys(result.steps)).toContain('restoreSecurityGroups');
    expect(ec2Mock.calls()).toHaveLength(0);
  });
});
