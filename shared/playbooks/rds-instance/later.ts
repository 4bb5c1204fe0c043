// The rds-instance playbook's later stages, loaded once its isolation step has finished
// (definePlaybook's `later`): evidence and investigation steps, and the release order.
import type { PlaybookStages, Step } from '../../engine/index.ts';
import { downloadDatabaseLogs, preserveDatabaseConfiguration, tagDatabase } from './evidence.ts';
import { enableIamAuthentication, recommendHardening } from './hardening.ts';
import { denyRemoteAddressesInNetworkAcls, restrictNetworkAccess } from './network.ts';
import { keepHardeningAndEvidence, tagReleased } from './release-actions.ts';
import type { Rds } from './types.ts';

/** The later stages of the playbook whose database steps (built with its connector) are these. */
export function laterStages(database: { restrictDatabaseUser: Step<Rds, unknown>; rotateUserPassword: Step<Rds, unknown> }): PlaybookStages<Rds> {
  const { restrictDatabaseUser, rotateUserPassword } = database;
  return {
    steps: [
      // Evidence: the configuration, the incident on the resource, the audit and error logs.
      preserveDatabaseConfiguration,
      tagDatabase,
      downloadDatabaseLogs,
      // Investigate / secure: the recommendations for the report.
      recommendHardening,
    ],
    // Release: the user's login back first (while the isolation group still admits only Firebreak),
    // then the groups, then the ACL denies it made; passwords, IAM authentication and evidence stay.
    release: [restrictDatabaseUser, restrictNetworkAccess, denyRemoteAddressesInNetworkAcls, keepHardeningAndEvidence({ rotateUserPassword, enableIamAuthentication }), tagReleased],
  };
}
