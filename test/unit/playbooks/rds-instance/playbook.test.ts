import { describe, expect, it } from 'vitest';
import { iamManifestOf } from '../../../../shared/engine/index.ts';
import { createRdsInstancePlaybook, rdsInstancePlaybook } from '../../../../shared/playbooks/rds-instance/index.ts';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { anRdsIncident, anRdsStepContext, aurora, FakeDatabase } from './support.ts';
import { restrictionSql } from '../../../../shared/actions/database/index.ts';

describe('Playbook: rds-instance', () => {
  it('runs the seeds in order: identify and decide, restrict network and user, rotate, evidence, hardening', async () => {
    expect((await rdsInstancePlaybook.load()).steps.map((s) => s.name)).toEqual([
      'checkLegitimateBehaviour',
      'restrictNetworkAccess',
      'denyRemoteAddressesInNetworkAcls',
      'restrictDatabaseUser',
      'rotateUserPassword',
      'enableIamAuthentication',
      'preserveDatabaseConfiguration',
      'tagDatabase',
      'downloadDatabaseLogs',
      'recommendHardening',
    ]);
  });

  it('releases the login first, then the groups, then its network ACL denies, and keeps passwords, IAM auth and evidence', async () => {
    expect((await rdsInstancePlaybook.load()).release.map((e) => (e.kind === 'step' ? e.undo!.name : e.name))).toEqual(['restoreDatabaseLogin', 'restoreSecurityGroups', 'removeNetworkAclDenies', 'keepHardeningAndEvidence', 'tagReleased']);
  });

  it('declares a scoped grant for every action it calls', async () => {
    const actions = iamManifestOf(await rdsInstancePlaybook.load()).flatMap((s) => s.actions);
    expect(actions).toEqual(expect.arrayContaining(['rds:ModifyDBCluster', 'rds:ModifyDBInstance', 'secretsmanager:GetSecretValue', 'rds:DownloadDBLogFilePortion']));
  });

  it('grants the network ACL actions only while network_acl_deny is on, the delete to release only', async () => {
    const manifest = iamManifestOf(await rdsInstancePlaybook.load());
    expect(manifest.find((s) => s.actions.includes('ec2:CreateNetworkAclEntry'))).toMatchObject({ roles: ['contain'], enabledBy: ['network_acl_deny'] });
    expect(manifest.find((s) => s.actions.includes('ec2:DeleteNetworkAclEntry'))).toMatchObject({ roles: ['release'], enabledBy: ['network_acl_deny'] });
  });

  it('takes its database connector as a dependency', async () => {
    // Prepare
    const smMock = mockClient(SecretsManagerClient);
    smMock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ username: 'firebreak_admin', password: 'p' }) });
    const db = new FakeDatabase();
    const playbook = createRdsInstancePlaybook({ connect: db.connect, restrictionSql });

    // Act
    const result = await (await playbook.load()).steps.find((s) => s.name === 'restrictDatabaseUser')!.run(anRdsStepContext(aurora(), anRdsIncident()));
    smMock.restore();

    // Assess
    expect(result.status).toBe('done');
    expect(db.locked).toEqual(new Set(['svc_reporting']));
  });
});
