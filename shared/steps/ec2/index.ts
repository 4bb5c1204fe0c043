export { captureInstance, describeInstance, DESCRIBE_IAM_ACTIONS, ISOLATION_GROUP_NAME, UNTRACKING_GROUP_NAME } from './describe.ts';
export type { Ec2Instance, NetworkInterfaceState, VolumeState } from './describe.ts';
export { enableStopProtection, enableTerminationProtection, preserveVolumesOnTermination, setShutdownBehaviourToStop } from './protection.ts';
export { ensureFirebreakGroups, isolateNetworkInterfaces } from './isolation.ts';
export { deregisterFromClassicLoadBalancers, deregisterFromTargetGroups, detachFromAutoScalingGroup, disassociateElasticIps } from './membership.ts';
export { captureConsoleOutput, captureConsoleScreenshot, incidentTags, preserveInstanceMetadata, snapshotVolumes, tagInstance } from './evidence.ts';
