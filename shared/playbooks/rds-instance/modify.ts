import { ModifyDBClusterCommand, ModifyDBInstanceCommand, type RDSClient } from '@aws-sdk/client-rds';
import { hasErrorCode } from '../../errors/index.ts';
import type { ModifyTarget } from './describe.ts';

/** The settings the playbook changes, on the instance or (Aurora) on its cluster. */
export interface TargetChange {
  VpcSecurityGroupIds?: string[];
  ManageMasterUserPassword?: boolean;
  RotateMasterUserPassword?: boolean;
  EnableIAMDatabaseAuthentication?: boolean;
}

/**
 * Applies a change immediately where it belongs: ModifyDBCluster for a cluster (Aurora manages
 * its members' groups, master password and IAM authentication, and refuses them on a member:
 * InvalidParameterCombination), ModifyDBInstance for a standalone instance.
 */
export async function modifyTarget(rds: RDSClient, target: ModifyTarget, change: TargetChange): Promise<void> {
  if (target.kind === 'cluster') {
    await rds.send(new ModifyDBClusterCommand({ DBClusterIdentifier: target.id, ApplyImmediately: true, ...change }));
  } else {
    await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: target.id, ApplyImmediately: true, ...change }));
  }
}

/** RDS refuses a change while the instance or cluster is busy with another (modifying, backing up…): wait and look again. */
export const isBusy = (error: unknown): boolean => hasErrorCode(error, 'InvalidDBInstanceState', 'InvalidDBInstanceStateFault', 'InvalidDBClusterStateFault', 'InvalidDBClusterState');

/** The IAM actions of {@link modifyTarget} (the cluster's or the instance's). */
export const MODIFY_ACTIONS = ['rds:ModifyDBInstance', 'rds:ModifyDBCluster'] as const;

/** How the target is named in a sentence. */
export const targetName = (t: ModifyTarget): string => (t.kind === 'cluster' ? `DB cluster ${t.id}` : `DB instance ${t.id}`);
