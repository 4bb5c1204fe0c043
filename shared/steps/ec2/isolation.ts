// moved: generic parts to shared/actions/vpc-isolation.ts
export const isolateNetworkInterfaces: StepDefinition<Ec2Instance> = {
  name: 'isolateNetworkInterfaces',
  stage: 'contain',
  description: "Isolate every network interface with the VPC's isolation group, cutting tracked connections",
  iamActions: [
    'ec2:DescribeSecurityGroups',
    'ec2:DescribeVpcEndpoints',
    'ec2:CreateSecurityGroup',
    'ec2:CreateTags',
    'ec2:RevokeSecurityGroupIngress',
    'ec2:RevokeSecurityGroupEgress',
    'ec2:AuthorizeSecurityGroupIngress',
    'ec2:AuthorizeSecurityGroupEgress',
    'ec2:ModifyNetworkInterfaceAttribute',
  ],
  async run({ clients, resource, capture, config, incident, logger }) {
    if (resource.networkInterfaces.length === 0) {
      return { status: 'skipped', summary: `${resource.instanceId} has no network interface attached` };
    }
    // Online capture is a convenience: a failed lookup must never hold containment, so it
    // leaves the isolation group rule-less (and the capture steps then say why they cannot run).
    const egressLookup = config.ec2.onlineCapture.enabled
      ? findSsmEgress(clients.ec2, resource.vpcId, incident.region).catch((error: unknown): IsolationEgress => {
          const { code } = classifyError(error);
          logger.warn('SSM endpoint lookup failed; the isolation group allows no egress', { vpcId: resource.vpcId, errorCode: code });
          return { allowed: [], ssmEndpointIds: [], reason: `the SSM endpoint lookup in ${resource.vpcId} failed (${code})` };
        })
      : undefined;
    const groups = await ensureFirebreakGroups(clients.ec2, resource.vpcId, resource.firebreakGroups, egressLookup?.then(egressPermissions) ?? []);
    const egress = await egressLookup;
    const before = new Map(
      ((capture.networkInterfaces as NetworkInterfaceState[] | undefined) ?? resource.networkInterfaces).map((n) => [n.networkInterfaceId, n.groupIds]),
    );
    const results = await Promise.allSettled(resource.networkInterfaces.map((eni) => isolateInterface(clients.ec2, eni, groups)));
    const interfaces = resource.networkInterfaces.map((eni, n) => {
      const r = results[n]!;
      return {
        networkInterfaceId: eni.networkInterfaceId,
        groupsBefore: before.get(eni.networkInterfaceId) ?? eni.groupIds,
        requesterManaged: eni.requesterManaged,
        result: r.status === 'fulfilled' ? r.value : `failed: ${String((r.reason as Error)?.name ?? r.reason)}`,
      };
    });
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const changed = interfaces.filter((i) => i.result === 'isolated').length;
    const isolated =
      changed === 0
        ? `every interface of ${resource.instanceId} already carries only ${groups.isolationGroupId}`
        : `${changed} interface(s) of ${resource.instanceId} moved to ${groups.untrackingGroupId} then isolated in ${groups.isolationGroupId}`;
    return {
      // Already isolated is still isolated: the goal of the step holds.
      status: 'done',
      summary: egress ? `${isolated}; ${egressSentence(egress)}` : isolated,
      data: { ...groups, vpcId: resource.vpcId, interfaces, ...(egress ? { egress } : {}) },
    };
  },
};

function egressSentence(egress: IsolationEgress): string {
  if (egress.allowed.length === 0) return `isolation group allows no egress, so online capture is not possible (${egress.reason})`;
  const groups = egress.allowed.map((a) => a.groupId).join(', ');
  return `isolation group allows HTTPS only to the SSM endpoints' group${egress.allowed.length > 1 ? 's' : ''} ${groups} for online capture`;
}
