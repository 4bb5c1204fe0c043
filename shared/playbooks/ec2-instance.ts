import type { Playbook } from '../engine/index.ts';
import {
  captureConsoleOutput,
  captureConsoleScreenshot,
  captureInstance,
  deregisterFromClassicLoadBalancers,
  deregisterFromTargetGroups,
  describeInstance,
  DESCRIBE_IAM_ACTIONS,
  detachFromAutoScalingGroup,
  disassociateElasticIps,
  enableStopProtection,
  enableTerminationProtection,
  isolateNetworkInterfaces,
  preserveInstanceMetadata,
  preserveVolumesOnTermination,
  setShutdownBehaviourToStop,
  snapshotVolumes,
  tagInstance,
  type Ec2Instance,
} from '../steps/ec2/index.ts';

/**
 * Compromised EC2 instance, as the seeds order it: capture the metadata; then,
 * all at once, protect it from termination, isolate it, take it out of its Auto
 * Scaling group and load balancers; then preserve evidence and tag it.
 */
export const ec2InstancePlaybook: Playbook<Ec2Instance> = {
  name: 'ec2-instance',
  describe: describeInstance,
  capture: captureInstance,
  tags: (i) => i.tags,
  identifiers: (incident, i) => [i.instanceId, `arn:${incident.partition}:ec2:${incident.region}:${incident.accountId}:instance/${i.instanceId}`],
  principals: () => [],
  describeIamActions: DESCRIBE_IAM_ACTIONS,
  isolationStep: isolateNetworkInterfaces.name,
  steps: [
    // Contain — concurrently, before any evidence work.
    isolateNetworkInterfaces,
    enableTerminationProtection,
    setShutdownBehaviourToStop,
    enableStopProtection,
    preserveVolumesOnTermination,
    detachFromAutoScalingGroup,
    deregisterFromTargetGroups,
    deregisterFromClassicLoadBalancers,
    disassociateElasticIps,
    // Preserve evidence.
    snapshotVolumes,
    captureConsoleOutput,
    captureConsoleScreenshot,
    preserveInstanceMetadata,
    tagInstance,
  ],
};
