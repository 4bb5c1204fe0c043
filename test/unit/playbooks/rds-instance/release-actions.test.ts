import { AddTagsToResourceCommand, RDSClient } from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { rdsInstancePlaybook } from '../../../../shared/playbooks/rds-instance/index.ts';
import { keepHardeningAndEvidence, tagReleased } from '../../../../shared/playbooks/rds-instance/release-actions.ts';
import { anRdsIncident, anRdsReleaseContext, aurora, outcome, stepsOn, FakeDatabase } from './support.ts';
import { enableIamAuthentication } from '../../../../shared/playbooks/rds-instance/hardening.ts';

const rdsMock = mockClient(RDSClient);
afterEach(() => rdsMock.reset());

describe('Release: what stays, and the released tag', () => {
  const { rotateUserPassword } = stepsOn(new FakeDatabase());
  const keep = keepHardeningAndEvidence({ rotateUserPassword, enableIamAuthentication });

  it('says the rotated password and IAM authentication stay, with the command to turn IAM authentication off', async () => {
    // Prepare
    const outcomes = {
      rotateUserPassword: outcome('done', { user: 'svc_reporting', method: 'new-secret', secretName: 'firebreak/rds-instance/x/y/user-1' }),
      enableIamAuthentication: outcome('done', { target: { kind: 'cluster', id: 'orders-aurora-cluster', arn: 'arn:c' }, wasEnabled: false }),
    };

    // Act
    const result = await keep.run(anRdsReleaseContext(aurora(), anRdsIncident(), aurora(), { outcomes }));

    // Assess
    expect(result.keptProtections).toEqual([
      expect.stringContaining('firebreak/rds-instance/x/y/user-1'),
      expect.stringContaining('aws rds modify-db-cluster --db-cluster-identifier orders-aurora-cluster --no-enable-iam-database-authentication'),
      expect.stringContaining('evidence is kept'),
    ]);
  });

  it('tags the instance and its cluster released', async () => {
    rdsMock.on(AddTagsToResourceCommand).resolves({});
    const result = await tagReleased.run(anRdsReleaseContext(aurora(), anRdsIncident(), aurora()));
    expect(result.status).toBe('done');
    expect(rdsMock.commandCalls(AddTagsToResourceCommand).map((c) => c.args[0].input.Tags!.map((t) => t.Key))).toEqual([
      ['firebreak:status', 'firebreak:released-at', 'firebreak:released-by'],
      ['firebreak:status', 'firebreak:released-at', 'firebreak:released-by'],
    ]);
  });

  it('does not tag a release that is incomplete, nor an instance that is gone', async () => {
    const incomplete = await tagReleased.run(anRdsReleaseContext(aurora(), anRdsIncident(), aurora(), { released: { restoreSecurityGroups: { ...outcome('failed'), status: 'failed' } } }));
    const gone = await tagReleased.run(anRdsReleaseContext(undefined, anRdsIncident(), aurora()));
    expect([incomplete.status, gone.status]).toEqual(['skipped', 'skipped']);
    expect(rdsMock.calls()).toHaveLength(0);
  });

  it('matches protected resources by instance and cluster, and merges the cluster tags under the instance tags', () => {
    const db = aurora();
    expect(rdsInstancePlaybook.identifiers(anRdsIncident(), db)).toEqual(['orders-aurora-instance-1', db.arn, 'orders-aurora-cluster', db.cluster!.arn]);
    expect(rdsInstancePlaybook.tags(db)).toMatchObject({ Environment: 'prod', 'firebreak:admin-secret': 'prod/orders/firebreak-admin' });
    expect(rdsInstancePlaybook.principals(anRdsIncident(), db)).toEqual([]);
  });
});
