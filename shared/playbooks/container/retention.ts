import { GetMalwareScanSettingsCommand, ListDetectorsCommand, UpdateMalwareScanSettingsCommand, type GuardDutyClient } from '@aws-sdk/client-guardduty';
import * as z from 'zod';
import { StepFailedError } from '../../errors/index.ts';
import type { Incident } from '../../findings/index.ts';
import { containerStep } from './types.ts';

/** GuardDuty keeps the snapshots of a malware scan that finds malware (otherwise it deletes them after the scan). */
export const RETAIN = 'RETENTION_WITH_FINDING';
const NO_RETENTION = 'NO_RETENTION';

/** The ledger key counting the incidents that rely on snapshot retention of one detector. */
export const retentionKey = (incident: Pick<Incident, 'accountId' | 'region'>, detectorId: string) => `guardduty-snapshot-retention#${incident.accountId}#${incident.region}#${detectorId}`;

/** What retainMalwareScanSnapshots records when it made sure retention is on: the detector, the value it found, and whether it changed it. */
const RetentionSchema = z.object({
  detectorId: z.string(),
  key: z.string(),
  /** EbsSnapshotPreservation before this incident looked (`RETENTION_WITH_FINDING`: already on). */
  prior: z.string(),
  changed: z.boolean(),
  /** The other open incidents relying on it when this one came to rely on it. */
  reliedOnBy: z.array(z.string()),
});
type Retention = z.infer<typeof RetentionSchema>;

/** The region's GuardDuty detector (one per account and region), or undefined when GuardDuty is off there. */
async function detectorOf(guardDuty: GuardDutyClient): Promise<string | undefined> {
  const out = await guardDuty.send(new ListDetectorsCommand({}));
  return out.DetectorIds?.[0];
}

const preservationOf = async (guardDuty: GuardDutyClient, detectorId: string): Promise<string> =>
  (await guardDuty.send(new GetMalwareScanSettingsCommand({ DetectorId: detectorId }))).EbsSnapshotPreservation ?? NO_RETENTION;

const preserve = (guardDuty: GuardDutyClient, detectorId: string, value: string) =>
  guardDuty.send(new UpdateMalwareScanSettingsCommand({ DetectorId: detectorId, EbsSnapshotPreservation: value as typeof RETAIN }));

/**
 * "Stop the container and look at the EBS snapshots retained by GuardDuty": GuardDuty's malware
 * scan of the host (the EC2 playbook's, which the hand-off starts — GuardDuty refuses a second scan
 * of an instance within the hour, so none is started here) deletes its snapshots afterwards unless
 * snapshot retention is on; with it, the snapshots of volumes where malware is found are kept.
 * The setting is the detector's, shared by every incident of the account and region: this
 * incident is counted in the ledger among those relying on it (before the setting is read, so a
 * concurrent release either sees it or restores first), and the value found is recorded — only
 * the change from Firebreak's first is the one release restores, when the last incident lets go.
 */
export const retainMalwareScanSnapshots = containerStep({
  name: 'retainMalwareScanSnapshots',
  stage: 'evidence',
  description: "Turn on GuardDuty Malware Protection's snapshot retention (RETENTION_WITH_FINDING) for the host's malware scan, recording the prior value; counted in the ledger so release restores it only when no other open incident relies on it",
  iamActions: ['guardduty:ListDetectors', 'guardduty:GetMalwareScanSettings', 'guardduty:UpdateMalwareScanSettings'],
  enabledBy: ['snapshot_retention'],
  data: RetentionSchema,
  async run({ options, clients, incident, reliance }) {
    if (!options.snapshot_retention) return { status: 'skipped', summary: 'snapshot_retention is off: GuardDuty deletes the malware scan\'s snapshots after the scan' };
    if (!reliance) return { status: 'skipped', summary: 'no ledger counts the incidents relying on snapshot retention here, so it is not changed (release could not restore it safely)' };
    const detectorId = await detectorOf(clients.guardDuty);
    if (!detectorId) return { status: 'skipped', summary: `GuardDuty has no detector in ${incident.region}: there is no malware scan whose snapshots to keep` };
    const key = retentionKey(incident, detectorId);
    const { incidents } = await reliance.rely(key);
    const reliedOnBy = incidents.filter((id) => id !== incident.incidentId);
    try {
      const prior = await preservationOf(clients.guardDuty, detectorId);
      if (prior === RETAIN) {
        return {
          status: 'done',
          summary: `GuardDuty snapshot retention was already on for detector ${detectorId}${reliedOnBy.length ? ` (also relied on by ${reliedOnBy.join(', ')})` : ''}: the snapshots of the host's malware scan are kept when malware is found`,
          data: { detectorId, key, prior, changed: false, reliedOnBy },
        };
      }
      await preserve(clients.guardDuty, detectorId, RETAIN);
      await reliance.rely(key, prior);
      return {
        status: 'done',
        summary: `GuardDuty snapshot retention turned on for detector ${detectorId} (it was ${prior}): the snapshots of the host's malware scan are kept when malware is found; release restores ${prior} when no open incident relies on it`,
        data: { detectorId, key, prior, changed: true, reliedOnBy },
      };
    } catch (error) {
      // Nothing relies on a setting this incident could not read or set: its undo never runs.
      await reliance.letGo(key).catch(() => undefined);
      throw error;
    }
  },
  undo: {
    name: 'restoreMalwareScanSettings',
    description: 'Put back the snapshot retention GuardDuty had before Firebreak, once no other open incident relies on it',
    iamActions: ['guardduty:GetMalwareScanSettings', 'guardduty:UpdateMalwareScanSettings'],
    async run({ recorded, reliance, clients, logger }) {
      const { detectorId, key }: Retention = recorded;
      if (!reliance) return { status: 'skipped', summary: `no ledger counts the incidents relying on snapshot retention here: detector ${detectorId}'s setting is left on` };
      const left = await reliance.letGo(key);
      if (left.incidents.length > 0) {
        return { status: 'skipped', summary: `snapshot retention stays on: open incidents ${left.incidents.join(', ')} still rely on it`, data: { reliedOnBy: left.incidents } };
      }
      if (left.restoreTo === undefined) {
        return { status: 'skipped', summary: `snapshot retention of detector ${detectorId} was on before Firebreak turned to it (or was restored already): left as it is` };
      }
      if (!left.claimed) return { status: 'skipped', summary: `another release is restoring detector ${detectorId}'s snapshot retention to ${left.restoreTo}` };
      const current = await preservationOf(clients.guardDuty, detectorId);
      if (current !== RETAIN) {
        await reliance.restored(key);
        return { status: 'skipped', summary: `snapshot retention of detector ${detectorId} is ${current} already (someone changed it since): left as it is` };
      }
      await preserve(clients.guardDuty, detectorId, left.restoreTo);
      if (await reliance.restored(key)) {
        return { status: 'done', summary: `snapshot retention of detector ${detectorId} restored to ${left.restoreTo}: no open incident relies on it`, data: { restoredTo: left.restoreTo } };
      }
      // An incident came to rely on retention while it was being restored (it may have found it still on): on again for it.
      logger.info('An incident came to rely on snapshot retention during its restore: turning it back on', { detectorId });
      try {
        await preserve(clients.guardDuty, detectorId, RETAIN);
      } catch (error) {
        throw new StepFailedError('restoreMalwareScanSettings', 'RetentionNotReinstated', `snapshot retention of detector ${detectorId} was restored to ${left.restoreTo}, then an incident came to rely on it, and turning it back on failed: turn it on by hand (${(error as Error).message})`, { retryable: true, cause: error });
      }
      return { status: 'skipped', summary: `snapshot retention of detector ${detectorId} stays on: an incident came to rely on it while this release restored it` };
    },
  },
});
