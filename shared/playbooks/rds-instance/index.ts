import { connectDatabase, restrictionSql } from '../../actions/database/index.ts';
import { definePlaybook, type Playbook } from '../../engine/index.ts';
import { databaseSteps, type DatabaseDeps } from './database.ts';
import { captureDatabase, DESCRIBE_IAM_ACTIONS, describeDatabase, RdsCaptureSchema } from './describe.ts';
import { enableIamAuthentication } from './hardening.ts';
import { checkLegitimateBehaviour } from './legitimate.ts';
import { denyRemoteAddressesInNetworkAcls, restrictNetworkAccess } from './network.ts';
import { RdsOptionsSchema } from './options.ts';
import type { Rds } from './types.ts';

/**
 * Compromised RDS instance, as the seeds order it: identify the DB instance and user from the
 * finding; unless the login is legitimate behaviour, restrict network access (the instance's, or
 * for Aurora the cluster's, groups replaced by the RDS isolation group; the finding's remote
 * addresses denied in the network ACLs of the DB subnet group's subnets), restrict the suspected
 * user inside the database and end its sessions and those from the finding's address, rotate its
 * password, enable IAM authentication; preserve the configuration and the audit and error logs;
 * write the hardening recommendations. `deps` is the database connector (tests give their own).
 */
export function createRdsInstancePlaybook(deps: DatabaseDeps = { connect: connectDatabase, restrictionSql }): Playbook<Rds> {
  const { restrictDatabaseUser, rotateUserPassword } = databaseSteps(deps);
  return definePlaybook<Rds>({
    name: 'rds-instance',
    options: RdsOptionsSchema,
    describe: describeDatabase,
    capture: { schema: RdsCaptureSchema, of: captureDatabase },
    tags: (r) => ({ ...(r.cluster?.tags ?? {}), ...r.tags }),
    identifiers: (_incident, r) => [r.dbInstanceIdentifier, r.arn, ...(r.cluster ? [r.cluster.dbClusterIdentifier, r.cluster.arn] : [])].filter(Boolean),
    // The database user is not an AWS principal: protected principals do not apply to it.
    principals: () => [],
    describeIamActions: DESCRIBE_IAM_ACTIONS,
    isolationStep: restrictNetworkAccess,
    steps: [
      // Identify, and decide: legitimate behaviour stops everything else.
      checkLegitimateBehaviour,
      // Contain: the network first (groups, and the finding's addresses in the subnets' ACLs), the
      // user inside the database (its sessions too), its password, IAM auth.
      restrictNetworkAccess,
      denyRemoteAddressesInNetworkAcls,
      restrictDatabaseUser,
      rotateUserPassword,
      enableIamAuthentication,
    ],
    // Evidence, investigation and the release order (./later.ts) load once the database is isolated;
    // the release order names this playbook's own database steps.
    later: () => import('./later.ts').then((later) => later.laterStages({ restrictDatabaseUser, rotateUserPassword })),
  });
}

export const rdsInstancePlaybook: Playbook<Rds> = createRdsInstancePlaybook();

export type { Rds } from './types.ts';
export type { RdsInstance } from './describe.ts';
export { RdsOptionsSchema, type RdsOptions } from './options.ts';

/** What the registry and the generated function entry point look for in every playbook folder. */
export const playbook = rdsInstancePlaybook;
