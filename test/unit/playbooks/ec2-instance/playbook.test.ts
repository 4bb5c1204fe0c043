import { AutoScalingClient, DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import {
  CreateSnapshotsCommand,
  CreateTagsCommand,
  DescribeAddressesCommand,
  DescribeIamInstanceProfileAssociationsCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  GetConsoleOutputCommand,
  GetConsoleScreenshotCommand,
  ModifyInstanceAttributeCommand,
  ModifyNetworkInterfaceAttributeCommand,
} from '@aws-sdk/client-ec2';
import { DescribeLoadBalancersCommand, ElasticLoadBalancingClient } from '@aws-sdk/client-elastic-load-balancing';
import { DescribeTargetGroupsCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { ISOLATION_GROUP_NAME, UNTRACKING_GROUP_NAME } from '../../../../shared/actions/vpc-isolation.ts';
import { iamManifestOf, releaseNameOf, runPlaybook } from '../../../../shared/engine/index.ts';
import { OWN_STORE_ACTION } from '../../../../shared/iam/index.ts';
import { EvidenceStore } from '../../../../shared/evidence/index.ts';
import { ec2InstancePlaybook } from '../../../../shared/playbooks/ec2-instance/index.ts';
import { captureVolatileData, captureMemory } from '../../../../shared/playbooks/ec2-instance/online.ts';
import { stopForOfflineInvestigation } from '../../../../shared/playbooks/ec2-instance/offline.ts';
import { loadPlaybook, PLAYBOOK_REGISTRY } from '../../../../shared/playbooks/registry.ts';
import { aConfig, anEc2Options, anIncident, anS3Client, EVIDENCE_BUCKET, FakeLedger, FIXED_NOW, INSTANCE_ID, motoNotImplemented, silentLogger, someClients, VPC_ID } from '../../helpers/factories.ts';

/** The playbook's IAM manifest, every stage loaded. */
const ec2InstancePlaybookManifest = iamManifestOf(await ec2InstancePlaybook.load());

const ec2Mock = mockClient(EC2Client);
const asgMock = mockClient(AutoScalingClient);
const elbv2Mock = mockClient(ElasticLoadBalancingV2Client);
const elbMock = mockClient(ElasticLoadBalancingClient);
const s3Mock = mockClient(S3Client);
afterEach(() => [ec2Mock, asgMock, elbv2Mock, elbMock, s3Mock].forEach((m) => m.reset()));

const ALL = [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }];

describe('Playbook: ec2-instance', () => {
  it('contains the instance and records an unsupported console screenshot as failed-unsupported while the rest runs', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            {
              InstanceId: INSTANCE_ID,
              State: { Name: 'running' },
              VpcId: VPC_ID,
              NetworkInterfaces: [{ NetworkInterfaceId: 'eni-0b7c1d2e3f4a5b6c7', Groups: [{ GroupId: 'sg-0123456789abcdef0' }], PrivateIpAddresses: [{ PrivateIpAddress: '10.20.1.34' }] }],
              BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeId: 'vol-1', DeleteOnTermination: true } }],
            },
          ],
        },
      ],
    });
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({
      SecurityGroups: [
        { GroupId: 'sg-iso', GroupName: ISOLATION_GROUP_NAME, VpcId: VPC_ID, IpPermissions: [], IpPermissionsEgress: [] },
        { GroupId: 'sg-open', GroupName: UNTRACKING_GROUP_NAME, VpcId: VPC_ID, IpPermissions: ALL, IpPermissionsEgress: ALL },
      ],
    });
    ec2Mock.on(ModifyNetworkInterfaceAttributeCommand).resolves({});
    ec2Mock.on(ModifyInstanceAttributeCommand).resolves({});
    ec2Mock.on(DescribeAddressesCommand).resolves({ Addresses: [] });
    ec2Mock.on(DescribeIamInstanceProfileAssociationsCommand).resolves({ IamInstanceProfileAssociations: [] });
    ec2Mock.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
    ec2Mock.on(CreateSnapshotsCommand).resolves({ Snapshots: [{ SnapshotId: 'snap-1', VolumeId: 'vol-1' }] });
    ec2Mock.on(GetConsoleOutputCommand).resolves({ Output: Buffer.from('boot').toString('base64') });
    ec2Mock.on(GetConsoleScreenshotCommand).rejects(motoNotImplemented('GetConsoleScreenshot'));
    ec2Mock.on(CreateTagsCommand).resolves({});
    asgMock.on(DescribeAutoScalingInstancesCommand).resolves({ AutoScalingInstances: [] });
    elbv2Mock.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [] });
    elbMock.on(DescribeLoadBalancersCommand).resolves({ LoadBalancerDescriptions: [] });
    s3Mock.on(PutObjectCommand).resolves({});
    const ledger = new FakeLedger();
    const deps = {
      config: aConfig(),
      options: anEc2Options(),
      clientsFor: () => someClients(),
      ledger: ledger.asLedger(),
      evidence: new EvidenceStore(anS3Client(), EVIDENCE_BUCKET),
      logger: silentLogger(),
      now: () => FIXED_NOW,
    };

    // Act
    const result = await runPlaybook(deps, ec2InstancePlaybook, anIncident(), { messageId: 'msg-1' });

    // Assess
    expect(result.status).toBe('contained');
    expect(result.reason).toBe('contained; evidence steps failed: captureConsoleScreenshot');
    expect(ledger.outcome('captureConsoleScreenshot')).toMatchObject({ status: 'failed', error: { unsupported: true, retryable: false } });
    expect(ec2Mock.commandCalls(ModifyNetworkInterfaceAttributeCommand).map((c) => c.args[0].input.Groups)).toEqual([['sg-open'], ['sg-iso']]);
    expect(Object.fromEntries(ledger.recorded.map((r) => [r.name, r.outcome.status]))).toEqual({
      isolateNetworkInterfaces: 'done',
      enableTerminationProtection: 'done',
      setShutdownBehaviourToStop: 'done',
      enableStopProtection: 'done',
      preserveVolumesOnTermination: 'done',
      detachFromAutoScalingGroup: 'skipped',
      deregisterFromTargetGroups: 'skipped',
      deregisterFromClassicLoadBalancers: 'skipped',
      disassociateElasticIps: 'skipped',
      revokeInstanceRoleSessions: 'skipped',
      replaceInstanceProfile: 'skipped',
      captureMemory: 'skipped',
      captureVolatileData: 'skipped',
      snapshotVolumes: 'done',
      captureConsoleOutput: 'done',
      captureConsoleScreenshot: 'failed',
      preserveInstanceMetadata: 'done',
      tagInstance: 'done',
      startMalwareScan: 'skipped',
      recordKeyPair: 'skipped',
      createForensicVolumes: 'skipped',
      copySnapshotsToForensicAccount: 'skipped',
      stopForOfflineInvestigation: 'skipped',
    });
    expect(ledger.begins[0]!.capture).toMatchObject({ instanceId: INSTANCE_ID, vpcId: VPC_ID });
  });

  it('captures memory before volatile data, stops the instance only in full mode, and never terminates', async () => {
    // Assess: the structure itself (names, stages, order) is checked by definePlaybook when the module loads
    expect(captureVolatileData.after).toContain(captureMemory);
    expect(stopForOfflineInvestigation.minimumMode).toBe('full');
    expect((await ec2InstancePlaybook.load()).steps.flatMap((s) => s.iamActions).filter((a) => /Terminate/.test(a))).toEqual([]);
  });

  it('releases in its own order: the profile and role first, the security groups before load balancers and the Auto Scaling group', async () => {
    // Act
    const order = (await ec2InstancePlaybook.load()).release.map(releaseNameOf);

    // Assess
    expect(order).toEqual([
      'restoreInstanceProfile',
      'removeRevocationPolicy',
      'restoreSecurityGroups',
      'reassociateElasticIps',
      'reregisterTargets',
      'reregisterClassicLoadBalancers',
      'reattachToAutoScalingGroup',
      'keepProtectionsAndEvidence',
      'tagReleased',
    ]);
  });

  it('is registered under its name, with the identifiers the protected-resource list is matched against', async () => {
    // Act
    const identifiers = ec2InstancePlaybook.identifiers(anIncident(), { instanceId: INSTANCE_ID } as never);

    // Assess
    expect(PLAYBOOK_REGISTRY.map((e) => e.name)).toContain('ec2-instance');
    expect(await loadPlaybook('ec2-instance')).toBe(ec2InstancePlaybook);
    expect(await loadPlaybook('mainframe')).toBeUndefined();
    expect(identifiers).toEqual([INSTANCE_ID, `arn:aws:ec2:us-east-1:111122223333:instance/${INSTANCE_ID}`]);
    expect(ec2InstancePlaybook.principals(anIncident(), {} as never)).toEqual([]);
    expect(ec2InstancePlaybook.tags({ tags: { a: 'b' } } as never)).toEqual({ a: 'b' });
  });
});

describe('Playbook: ec2-instance — what its functions are granted', () => {
  /** The actions a function of this role, with this mode and these options set, would be granted. */
  const granted = (mode: 'observe' | 'contain' | 'full', options: string[] = [], role: 'contain' | 'release' = 'contain') =>
    new Set(
      ec2InstancePlaybookManifest.flatMap((s) => (s.roles.includes(role) && s.modes.includes(mode) && s.enabledBy.every((o) => options.includes(o)) ? s.actions : [])),
    );
  /** Firebreak's own stores (ledger, evidence, queue, logs) are granted by the module, not the manifest. */
  const fromManifest = (action: string) => !OWN_STORE_ACTION.test(action);

  it('grants an observe function only what describe reads', () => {
    expect([...granted('observe', ['online_capture.enabled', 'forensics', 'forensics.launch', 'malware_scan'])].sort()).toEqual([...ec2InstancePlaybook.describeIamActions].sort());
  });

  it('grants Run Command only with online capture, RunInstances only with a forensic launch, the stop only in full mode', async () => {
    // Act
    const plain = granted('contain', ['malware_scan']);
    const online = granted('contain', ['online_capture.enabled']);
    const launch = granted('contain', ['forensics', 'forensics.launch']);
    const existing = granted('contain', ['forensics']);

    // Assess
    expect(plain.has('ssm:SendCommand') || plain.has('ec2:RunInstances') || plain.has('ec2:StopInstances') || plain.has('ec2:CopySnapshot')).toBe(false);
    expect(online.has('ssm:SendCommand')).toBe(true);
    expect(launch.has('ec2:RunInstances')).toBe(true);
    expect(existing.has('ec2:RunInstances')).toBe(false);
    expect(existing.has('ec2:CreateVolume')).toBe(true);
    expect(granted('full').has('ec2:StopInstances')).toBe(true);
    expect(granted('contain').has('guardduty:StartMalwareScan')).toBe(false);
  });

  it('grants every action of every step to the containment function, and of every undo to the release function, in each mode that runs it, once its options are set', async () => {
    // Prepare
    const everything = ['online_capture.enabled', 'online_capture.memory_capture_command', 'forensics', 'forensics.launch', 'forensics.copy', 'malware_scan'];

    // Act + Assess
    for (const mode of ['contain', 'full'] as const) {
      const contain = granted(mode, everything, 'contain');
      const release = granted(mode, everything, 'release');
      for (const step of (await ec2InstancePlaybook.load()).steps.filter((s) => mode === 'full' || s.minimumMode === 'contain')) {
        for (const action of step.iamActions.filter(fromManifest)) expect(contain.has(action), `${mode}: ${step.name} calls ${action}`).toBe(true);
      }
      for (const entry of (await ec2InstancePlaybook.load()).release) {
        for (const action of (entry.kind === 'step' ? entry.undo!.iamActions : entry.iamActions).filter(fromManifest)) {
          expect(release.has(action), `${mode}: release calls ${action}`).toBe(true);
        }
      }
    }
  });

  it('keeps containment and release apart: neither function holds the other one\'s writes', () => {
    // Act
    const contain = granted('full', ['online_capture.enabled', 'forensics', 'forensics.launch', 'forensics.copy', 'malware_scan'], 'contain');
    const release = granted('full', ['online_capture.enabled', 'forensics', 'forensics.launch', 'forensics.copy', 'malware_scan'], 'release');

    // Assess
    for (const undo of ['ec2:AssociateAddress', 'autoscaling:AttachInstances', 'elasticloadbalancing:RegisterTargets', 'iam:DeleteRolePolicy']) expect(contain.has(undo), undo).toBe(false);
    for (const step of ['ec2:CreateSecurityGroup', 'iam:PutRolePolicy', 'ssm:SendCommand', 'ec2:RunInstances', 'ec2:StopInstances']) expect(release.has(step), step).toBe(false);
  });

  it('scopes every write: only actions without resource-level permissions are granted on *', async () => {
    // Act
    const wildcards = ec2InstancePlaybookManifest.flatMap((s) => s.grants.filter((g) => g.resources.includes('*')).flatMap((g) => g.actions));

    // Assess
    expect(new Set(wildcards.filter((a) => !/:(Describe|Get|List)/.test(a)))).toEqual(new Set(['guardduty:StartMalwareScan']));
  });
});
