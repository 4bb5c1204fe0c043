// Builds GuardDuty EventBridge events for the emulator's world from the team's
// fixtures: account, region, resource ids and timestamps rewritten, fresh finding id.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const fixturesDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/guardduty');

export interface FindingEvent {
  version: string;
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, any>;
}

export function loadFixture(name: string): FindingEvent {
  return JSON.parse(readFileSync(join(fixturesDir, name.endsWith('.json') ? name : `${name}.json`), 'utf8')) as FindingEvent;
}

export interface InstanceTarget {
  accountId: string;
  region: string;
  instanceId: string;
  vpcId?: string;
  subnetId?: string;
  eniIds?: string[];
  securityGroupIds?: string[];
  availabilityZone?: string;
}

/** A fresh 32-hex GuardDuty finding id. */
export const newFindingId = () => randomBytes(16).toString('hex');

/**
 * Rewrites an EC2 fixture so it names an instance of the emulator: the detail's
 * account, region and instance details, a new finding id (unless given) and
 * current timestamps.
 */
export function retargetInstanceFinding(fixture: FindingEvent, target: InstanceTarget, overrides: { findingId?: string; count?: number; now?: Date } = {}): FindingEvent {
  const event = structuredClone(fixture);
  const now = (overrides.now ?? new Date()).toISOString();
  const findingId = overrides.findingId ?? newFindingId();
  const d = event.detail;
  event.id = randomUUID();
  event.account = target.accountId;
  event.region = target.region;
  event.time = now.replace(/\.\d{3}Z$/, 'Z');
  d.accountId = target.accountId;
  d.region = target.region;
  d.id = findingId;
  d.arn = `arn:aws:guardduty:${target.region}:${target.accountId}:detector/${d.service?.detectorId ?? '0'}/finding/${findingId}`;
  d.createdAt = d.createdAt && Date.parse(d.updatedAt) > Date.parse(d.createdAt) ? new Date(Date.now() - 3600_000).toISOString() : now;
  d.updatedAt = now;
  if (overrides.count !== undefined) d.service.count = overrides.count;
  const inst = d.resource.instanceDetails;
  if (inst) {
    const oldId = inst.instanceId as string;
    inst.instanceId = target.instanceId;
    if (target.availabilityZone) inst.availabilityZone = target.availabilityZone;
    const enis = (inst.networkInterfaces ?? []) as Array<Record<string, any>>;
    enis.forEach((eni, n) => {
      if (target.eniIds?.[n]) eni.networkInterfaceId = target.eniIds[n];
      if (target.vpcId) eni.vpcId = target.vpcId;
      if (target.subnetId) eni.subnetId = target.subnetId;
      if (target.securityGroupIds) eni.securityGroups = target.securityGroupIds.map((groupId) => ({ groupId, groupName: groupId }));
    });
    if (typeof d.title === 'string') d.title = d.title.replaceAll(oldId, target.instanceId);
    if (typeof d.description === 'string') d.description = d.description.replaceAll(oldId, target.instanceId);
  }
  return event;
}

/** A manual containment request, as an operator would put it on the bus. */
export function manualFinding(target: { accountId: string; region: string; resourceType: string; id: string }, ticket: string, requestedBy: string): FindingEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Firebreak Manual Finding',
    source: 'firebreak.manual',
    account: target.accountId,
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: target.region,
    resources: [],
    detail: { resource: { resourceType: target.resourceType, id: target.id }, ticket, requestedBy },
  };
}
