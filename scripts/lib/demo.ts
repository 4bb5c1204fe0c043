// `make demo`: the seed scenario (one VPC, two AZs, an internet-facing ALB, an Auto
// Scaling group of two instances in a WebApp security group), one instance reported
// compromised by GuardDuty, contained end to end by the Terraform-deployed pipeline.
import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeNetworkInterfacesCommand, DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import { DescribeTargetHealthCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { incidentIdFor } from '../../shared/findings/index.ts';
import { drain } from './drain.ts';
import { loadFixture, retargetInstanceFinding } from './findings.ts';
import { deployLocal } from './local.ts';
import { releaseCommand } from './release.ts';
import { formatIncident } from './report.ts';
import { buildWebAppScenario } from './scenario.ts';
import { emulatorWorld } from './world.ts';

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export async function runDemo({ endpoint, region }: { endpoint: string; region: string }): Promise<void> {
  const t0 = Date.now();
  const world = emulatorWorld(endpoint, region);
  console.log(`\n▶ 1/6  Deploying Firebreak with Terraform (terraform/examples/local → ${endpoint})`);
  const outputs = await deployLocal({ endpoint, region, quiet: true });
  const ledgerTable: string = outputs.firebreak.ledger_table_name;

  console.log('▶ 2/6  Building the seed scenario: VPC across two AZs, internet-facing ALB, Auto Scaling group of two instances in WebApp');
  const scenario = await buildWebAppScenario({ ec2: world.ec2, autoscaling: world.autoscaling, elbv2: world.elbv2, elb: world.elb, iam: world.iam }, { instanceRole: 'own' });
  const victim = scenario.victim;
  console.log(`       ALB ${scenario.albArn.split('/').slice(-2).join('/')}, ASG ${scenario.asgName}: ${scenario.instanceIds.join(', ')}`);

  const accountId = await world.accountId();
  const event = retargetInstanceFinding(loadFixture('ec2-c-cactivity-b'), {
    accountId,
    region,
    instanceId: victim.instanceId,
    vpcId: scenario.vpcId,
    subnetId: victim.subnetId,
    eniIds: victim.eniIds,
    securityGroupIds: [scenario.webAppSecurityGroupId],
    availabilityZone: victim.availabilityZone,
  });
  console.log(`▶ 3/6  GuardDuty reports ${event.detail.type} (severity ${event.detail.severity}) for ${victim.instanceId}`);
  console.log('       (put on the default bus by the demo: an emulator convenience — in AWS only GuardDuty can publish aws.guardduty events)');
  const putAt = Date.now();
  await world.putFinding(event);

  console.log('▶ 4/6  Draining the queue through the deployed function (what Lambda\'s SQS poller does)');
  const summaries = await drain({ endpoint, region, log: (l) => console.log(l) });
  for (const s of summaries.filter((x) => x.received > 0)) console.log(`       ${s.functionName}: ${s.received} message(s), ${s.deleted} done, ${s.failed} failed`);

  const incidentId = incidentIdFor(accountId, event.detail.id, victim.instanceId);
  const record = await world.ledger(ledgerTable).get(incidentId);
  if (!record) throw new Error(`the ledger has no record of ${incidentId}: the pipeline did not process the finding`);
  console.log('▶ 5/6  What Firebreak did, step by step (from the ledger):\n');
  console.log(formatIncident(record).map((l) => `  ${l}`).join('\n'));

  const enis = await world.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: victim.eniIds }));
  const groupIds = [...new Set(enis.NetworkInterfaces!.flatMap((n) => n.Groups!.map((g) => g.GroupId!)))];
  const groups = await world.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: groupIds }));
  const asg = await world.autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [scenario.asgName] }));
  const targets = await world.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: scenario.targetGroupArn }));
  console.log('\n  AWS state now:');
  console.log(`    ${victim.instanceId} interfaces carry only: ${groups.SecurityGroups!.map((g) => `${g.GroupName} (${g.IpPermissions!.length} inbound / ${g.IpPermissionsEgress!.length} outbound rules)`).join(', ')}`);
  const g = asg.AutoScalingGroups![0]!;
  console.log(`    ${scenario.asgName}: desired ${g.DesiredCapacity}, members ${g.Instances!.map((i) => i.InstanceId).join(', ')}`);
  console.log(`    target group members: ${targets.TargetHealthDescriptions!.map((t) => t.Target!.Id).join(', ') || 'none'}`);
  if (record.isolatedAt) {
    const isolated = Date.parse(record.isolatedAt);
    const steps = Object.values(record.steps);
    const handlerStart = Math.min(...steps.map((s) => Date.parse(s.startedAt ?? record.isolatedAt!)));
    console.log(`\n  Time from event to isolation: ${seconds(isolated - putAt)} (PutEvents → isolated; includes the local drain's polling)`);
    console.log(`  Time from first containment call to isolation: ${isolated - handlerStart} ms`);
  }
  if (record.status !== 'contained') throw new Error(`expected the incident to be contained, but it is ${record.status}`);

  console.log(`\n▶ 6/6  A responder finds it was a false positive and releases it: firebreak release ${incidentId} --reason "…" --reattach\n`);
  const code = await releaseCommand({
    table: ledgerTable,
    incidentId,
    reason: 'Demo: the seed scenario was a drill',
    reattach: true,
    viaBus: false,
    bus: 'default',
    log: (l) => console.log(`  ${l}`),
  });
  const restored = await world.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: victim.eniIds }));
  const after = await world.autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [scenario.asgName] }));
  console.log('\n  AWS state after release:');
  console.log(`    ${victim.instanceId} interfaces carry: ${[...new Set(restored.NetworkInterfaces!.flatMap((n) => n.Groups!.map((x) => x.GroupName)))].join(', ')}`);
  console.log(`    ${scenario.asgName}: desired ${after.AutoScalingGroups![0]!.DesiredCapacity}, members ${after.AutoScalingGroups![0]!.Instances!.map((i) => i.InstanceId).join(', ')}`);
  console.log(`\n  Demo finished in ${seconds(Date.now() - t0)}. See every incident with: scripts/firebreak.sh local incidents`);
  if (code !== 0) throw new Error('the release did not complete: see its steps above');
}
