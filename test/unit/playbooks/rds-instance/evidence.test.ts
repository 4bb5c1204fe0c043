import { AddTagsToResourceCommand, DescribeDBLogFilesCommand, DownloadDBLogFilePortionCommand, ModifyDBClusterCommand, ModifyDBInstanceCommand, RDSClient } from '@aws-sdk/client-rds';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { downloadDatabaseLogs, preserveDatabaseConfiguration, tagDatabase } from '../../../../shared/playbooks/rds-instance/evidence.ts';
import { enableIamAuthentication, hardeningRecommendations, recommendHardening } from '../../../../shared/playbooks/rds-instance/hardening.ts';
import { awsError, motoNotImplemented } from '../../helpers/factories.ts';
import { anRdsIncident, anRdsStepContext, aurora, mariadb, rdsOptions } from './support.ts';

const rdsMock = mockClient(RDSClient);
const s3Mock = mockClient(S3Client);
beforeEach(() => s3Mock.on(PutObjectCommand).resolves({}));
afterEach(() => {
  rdsMock.reset();
  s3Mock.reset();
});

const keys = () => s3Mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Key);

describe('Review DB audit logs (downloadDatabaseLogs)', () => {
  it('copies the audit and error logs of the instance and its siblings, newest first, page by page, to the evidence bucket', async () => {
    // Prepare
    rdsMock.on(DescribeDBLogFilesCommand, { DBInstanceIdentifier: 'orders-aurora-instance-1' }).resolves({
      DescribeDBLogFiles: [
        { LogFileName: 'error/postgresql.log.2025-06-29-01', LastWritten: 1, Size: 10 },
        { LogFileName: 'error/postgresql.log.2025-06-29-02', LastWritten: 2, Size: 10 },
        { LogFileName: 'trace/unrelated.trc', LastWritten: 3, Size: 10 },
      ],
    });
    rdsMock.on(DescribeDBLogFilesCommand, { DBInstanceIdentifier: 'orders-aurora-instance-2' }).resolves({ DescribeDBLogFiles: [] });
    rdsMock
      .on(DownloadDBLogFilePortionCommand, { LogFileName: 'error/postgresql.log.2025-06-29-02', Marker: '0' })
      .resolves({ LogFileData: 'first half\n', Marker: '1:100', AdditionalDataPending: true });
    rdsMock.on(DownloadDBLogFilePortionCommand, { LogFileName: 'error/postgresql.log.2025-06-29-02', Marker: '1:100' }).resolves({ LogFileData: 'second half\n', Marker: '1:200', AdditionalDataPending: false });
    rdsMock.on(DownloadDBLogFilePortionCommand, { LogFileName: 'error/postgresql.log.2025-06-29-01' }).resolves({ LogFileData: 'older\n', Marker: '0:5', AdditionalDataPending: false });
    const incident = anRdsIncident();

    // Act
    const result = await downloadDatabaseLogs.run(anRdsStepContext(aurora(), incident));

    // Assess
    expect(result.status).toBe('done');
    expect(keys()).toEqual([
      `incidents/${incident.incidentId}/rds-logs/orders-aurora-instance-1/error_postgresql.log.2025-06-29-02`,
      `incidents/${incident.incidentId}/rds-logs/orders-aurora-instance-1/error_postgresql.log.2025-06-29-01`,
    ]);
    expect(Buffer.from(s3Mock.commandCalls(PutObjectCommand)[0]!.args[0].input.Body as Uint8Array).toString()).toBe('first half\nsecond half\n');
    expect(result.data?.instances).toEqual(['orders-aurora-instance-1', 'orders-aurora-instance-2']);
  });

  it('fails as unsupported where the endpoint has no DownloadDBLogFilePortion (the emulator)', async () => {
    rdsMock.on(DescribeDBLogFilesCommand).resolves({ DescribeDBLogFiles: [{ LogFileName: 'error/mysql-error.log', LastWritten: 1 }] });
    rdsMock.on(DownloadDBLogFilePortionCommand).rejects(motoNotImplemented('DownloadDBLogFilePortion'));
    await expect(downloadDatabaseLogs.run(anRdsStepContext(mariadb(), anRdsIncident({ instanceId: 'billing-mariadb' })))).rejects.toThrow();
  });

  it('is skipped with download_logs.enabled off', async () => {
    const result = await downloadDatabaseLogs.run(anRdsStepContext(aurora(), anRdsIncident(), { options: rdsOptions({ download_logs: { enabled: false } }) }));
    expect(result.status).toBe('skipped');
    expect(rdsMock.calls()).toHaveLength(0);
  });
});

describe('Use IAM DB authentication (enableIamAuthentication)', () => {
  it('enables it on the cluster of an Aurora member, applied immediately', async () => {
    rdsMock.on(ModifyDBClusterCommand).resolves({});
    const result = await enableIamAuthentication.run(anRdsStepContext(aurora(), anRdsIncident()));
    expect(rdsMock.commandCalls(ModifyDBClusterCommand).map((c) => c.args[0].input)).toEqual([{ DBClusterIdentifier: 'orders-aurora-cluster', EnableIAMDatabaseAuthentication: true, ApplyImmediately: true }]);
    expect(result).toMatchObject({ status: 'done', data: { wasEnabled: false } });
  });

  it('enables it on a standalone instance', async () => {
    rdsMock.on(ModifyDBInstanceCommand).resolves({});
    await enableIamAuthentication.run(anRdsStepContext(mariadb(), anRdsIncident({ instanceId: 'billing-mariadb' })));
    expect(rdsMock.commandCalls(ModifyDBInstanceCommand).map((c) => c.args[0].input)).toEqual([{ DBInstanceIdentifier: 'billing-mariadb', EnableIAMDatabaseAuthentication: true, ApplyImmediately: true }]);
  });

  it('changes nothing where it is already on', async () => {
    const result = await enableIamAuthentication.run(anRdsStepContext(aurora({}, { IAMDatabaseAuthenticationEnabled: true }), anRdsIncident()));
    expect(result).toMatchObject({ status: 'done', data: { wasEnabled: true } });
    expect(rdsMock.calls()).toHaveLength(0);
  });

  it('waits while the instance is busy with the isolation change', async () => {
    rdsMock.on(ModifyDBInstanceCommand).rejects(awsError('InvalidDBInstanceState', { httpStatusCode: 400 }));
    const result = await enableIamAuthentication.run(anRdsStepContext(mariadb(), anRdsIncident({ instanceId: 'billing-mariadb' })));
    expect(result.status).toBe('pending');
  });
});

describe('Secure your RDS DB instance (recommendHardening) and evidence', () => {
  it('recommends Secrets Manager, IAM authentication, TLS, audit logging and no public access for an exposed MariaDB', () => {
    const settings = hardeningRecommendations(mariadb()).map((r) => r.setting);
    expect(settings).toEqual(['ManageMasterUserPassword', 'EnableIAMDatabaseAuthentication', 'TLS', 'audit logging', 'PubliclyAccessible', 'StorageEncrypted', 'DeletionProtection']);
    expect(hardeningRecommendations(mariadb()).find((r) => r.setting === 'TLS')?.recommendation).toContain('require_secure_transport');
  });

  it('writes the recommendations into the report', async () => {
    const result = await recommendHardening.run(anRdsStepContext(aurora(), anRdsIncident()));
    expect(result.status).toBe('done');
    expect(keys()[0]).toMatch(/rds-hardening\.json$/);
    expect(hardeningRecommendations(aurora()).find((r) => r.setting === 'TLS')?.recommendation).toContain('rds.force_ssl');
  });

  it('saves the instance and cluster configuration with the siblings', async () => {
    await preserveDatabaseConfiguration.run(anRdsStepContext(aurora(), anRdsIncident()));
    const body = JSON.parse(Buffer.from(s3Mock.commandCalls(PutObjectCommand)[0]!.args[0].input.Body as Uint8Array).toString());
    expect(body.siblings).toEqual(['orders-aurora-instance-2']);
    expect(body.describeDBClusters.DBClusterIdentifier).toBe('orders-aurora-cluster');
  });

  it('tags the instance and its cluster with the incident', async () => {
    rdsMock.on(AddTagsToResourceCommand).resolves({});
    await tagDatabase.run(anRdsStepContext(aurora(), anRdsIncident()));
    expect(rdsMock.commandCalls(AddTagsToResourceCommand).map((c) => c.args[0].input.ResourceName)).toEqual([
      'arn:aws:rds:us-east-1:111122223333:db:orders-aurora-instance-1',
      'arn:aws:rds:us-east-1:111122223333:cluster:orders-aurora-cluster',
    ]);
  });
});
