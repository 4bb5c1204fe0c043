import { DescribeDBClustersCommand, DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { ResourceNotFoundError } from '../../../../shared/errors/index.ts';
import { captureDatabase, describeDatabase } from '../../../../shared/playbooks/rds-instance/describe.ts';
import { awsError, silentLogger, someClients } from '../../helpers/factories.ts';
import { ADMIN_SECRET, anRdsIncident, APP_SG, auroraCluster, auroraMember, MASTER_SECRET, standalone, VPC } from './support.ts';

const rdsMock = mockClient(RDSClient);
afterEach(() => rdsMock.reset());

describe('Identify the affected DB instance (describeDatabase)', () => {
  it('describes an Aurora member with its cluster: the cluster carries the groups, master secret and IAM auth, and the siblings are recorded', async () => {
    // Prepare
    rdsMock.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'orders-aurora-instance-1' }).resolves({ DBInstances: [auroraMember()] });
    rdsMock.on(DescribeDBClustersCommand, { DBClusterIdentifier: 'orders-aurora-cluster' }).resolves({ DBClusters: [auroraCluster()] });

    // Act
    const db = await describeDatabase({ incident: anRdsIncident(), clients: someClients(), logger: silentLogger() });

    // Assess
    expect(db).toMatchObject({
      dbInstanceIdentifier: 'orders-aurora-instance-1',
      engine: 'aurora-postgresql',
      dialect: 'postgresql',
      port: 5432,
      vpcId: VPC,
      subnetIds: ['subnet-0a1', 'subnet-0b2'],
      securityGroupIds: [APP_SG],
      masterUsername: 'postgres',
      masterUserSecretArn: MASTER_SECRET,
      adminSecretId: ADMIN_SECRET,
      target: { kind: 'cluster', id: 'orders-aurora-cluster' },
    });
    expect(captureDatabase(db)).toMatchObject({ siblings: ['orders-aurora-instance-2'], securityGroupIds: [APP_SG], target: { kind: 'cluster' }, iamAuthEnabled: false });
  });

  it('describes a standalone instance, whose own groups and settings are changed with ModifyDBInstance', async () => {
    // Prepare
    rdsMock.on(DescribeDBInstancesCommand).resolves({ DBInstances: [standalone({ TagList: [{ Key: 'firebreak:admin-secret', Value: 'billing/admin' }] })] });

    // Act
    const db = await describeDatabase({ incident: anRdsIncident({ instanceId: 'billing-mariadb' }), clients: someClients(), logger: silentLogger() });

    // Assess
    expect(rdsMock.commandCalls(DescribeDBClustersCommand)).toHaveLength(0);
    expect(db).toMatchObject({ dialect: 'mysql', port: 3306, target: { kind: 'instance', id: 'billing-mariadb' }, adminSecretId: 'billing/admin', securityGroupIds: [APP_SG, 'sg-0bbbbbbbbbbbbbbb2'] });
    expect(db.cluster).toBeUndefined();
  });

  it('throws ResourceNotFoundError when the instance no longer exists', async () => {
    // Prepare
    rdsMock.on(DescribeDBInstancesCommand).rejects(awsError('DBInstanceNotFoundFault', { httpStatusCode: 404 }));

    // Act / Assess
    await expect(describeDatabase({ incident: anRdsIncident(), clients: someClients(), logger: silentLogger() })).rejects.toBeInstanceOf(ResourceNotFoundError);
  });
});
