import { DescribeDBClustersCommand, DescribeDBInstancesCommand, type DBCluster, type DBInstance, type Tag } from '@aws-sdk/client-rds';
import * as z from 'zod';
import type { SqlDialect } from '../../actions/database/types.ts';
import type { DescribeContext } from '../../engine/index.ts';
import { ResourceNotFoundError } from '../../errors/index.ts';
import { hasErrorCode } from '../../errors/index.ts';

/** The tag (on the DB instance or its cluster) naming the Secrets Manager secret Firebreak connects with. */
export const ADMIN_SECRET_TAG = 'firebreak:admin-secret';

/** Where the playbook's changes go: Aurora's groups, master password and IAM authentication belong to the DB cluster. */
export interface ModifyTarget {
  kind: 'instance' | 'cluster';
  id: string;
  arn: string;
}

/** The DB cluster of an Aurora (or Multi-AZ cluster) member, as the playbook sees it. */
export interface RdsCluster {
  dbClusterIdentifier: string;
  arn: string;
  endpoint?: string;
  port?: number;
  securityGroupIds: string[];
  /** Every member of the cluster, the instance of the finding included. */
  members: Array<{ dbInstanceIdentifier: string; writer: boolean }>;
  masterUsername?: string;
  masterUserSecretArn?: string;
  iamAuthEnabled: boolean;
  tags: Record<string, string>;
}

/** An RDS DB instance as the playbook sees it. */
export interface RdsInstance {
  dbInstanceIdentifier: string;
  arn: string;
  engine: string;
  dialect: SqlDialect;
  status: string;
  endpoint?: { host: string; port: number };
  /** The database port (the endpoint's, or the cluster's while the instance has none yet). */
  port: number;
  vpcId?: string;
  subnetIds: string[];
  /** The groups the instance carries (a cluster member: the cluster's). */
  securityGroupIds: string[];
  masterUsername?: string;
  /** The RDS-managed master secret (ManageMasterUserPassword), the instance's or its cluster's. */
  masterUserSecretArn?: string;
  iamAuthEnabled: boolean;
  publiclyAccessible: boolean;
  storageEncrypted: boolean;
  deletionProtection: boolean;
  logExports: string[];
  tags: Record<string, string>;
  cluster?: RdsCluster;
  /** Where groups, the master password and IAM authentication are changed. */
  target: ModifyTarget;
  /** The secret named by the `firebreak:admin-secret` tag, the instance's before the cluster's. */
  adminSecretId?: string;
  /** DescribeDBInstances' and DescribeDBClusters' answers, for the evidence bucket. */
  raw: { instance: DBInstance; cluster?: DBCluster };
}

export const DESCRIBE_IAM_ACTIONS = ['rds:DescribeDBInstances', 'rds:DescribeDBClusters'] as const;

/** The SQL dialect of an RDS engine: aurora-postgresql and postgres speak PostgreSQL; mysql, mariadb and aurora-mysql, MySQL. */
export function dialectOf(engine: string): SqlDialect {
  return /postgres/i.test(engine) ? 'postgresql' : 'mysql';
}

const tagMap = (tags: Tag[] | undefined): Record<string, string> => Object.fromEntries((tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
const groupIds = (groups: Array<{ VpcSecurityGroupId?: string }> | undefined): string[] => (groups ?? []).map((g) => g.VpcSecurityGroupId ?? '').filter(Boolean);
const DEFAULT_PORTS: Record<SqlDialect, number> = { postgresql: 5432, mysql: 3306 };

/** Reads one DB instance (undefined when it does not exist). */
export async function readDbInstance(rds: DescribeContext['clients']['rds'], id: string): Promise<DBInstance | undefined> {
  try {
    return (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances?.[0];
  } catch (error) {
    if (hasErrorCode(error, 'DBInstanceNotFound', 'DBInstanceNotFoundFault')) return undefined;
    throw error;
  }
}

/** Reads one DB cluster (undefined when it does not exist). */
export async function readDbCluster(rds: DescribeContext['clients']['rds'], id: string): Promise<DBCluster | undefined> {
  try {
    return (await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: id }))).DBClusters?.[0];
  } catch (error) {
    if (hasErrorCode(error, 'DBClusterNotFoundFault', 'DBClusterNotFound')) return undefined;
    throw error;
  }
}

/**
 * Identifies the DB instance the finding names and, for a cluster member, its DB cluster (the
 * siblings, the cluster's groups, master secret and IAM authentication), in one read each.
 */
export async function describeDatabase({ incident, clients }: DescribeContext): Promise<RdsInstance> {
  const id = incident.resource.id;
  const instance = await readDbInstance(clients.rds, id);
  if (!instance || instance.DBInstanceStatus === 'deleting') throw new ResourceNotFoundError(id);
  const cluster = instance.DBClusterIdentifier ? await readDbCluster(clients.rds, instance.DBClusterIdentifier) : undefined;
  return rdsInstanceOf(instance, cluster);
}

/** The playbook's view of DescribeDBInstances' (and DescribeDBClusters') answer. */
export function rdsInstanceOf(instance: DBInstance, cluster?: DBCluster): RdsInstance {
  const engine = instance.Engine ?? cluster?.Engine ?? '';
  const dialect = dialectOf(engine);
  const tags = tagMap(instance.TagList);
  const rdsCluster: RdsCluster | undefined = cluster
    ? {
        dbClusterIdentifier: cluster.DBClusterIdentifier ?? instance.DBClusterIdentifier ?? '',
        arn: cluster.DBClusterArn ?? '',
        ...(cluster.Endpoint ? { endpoint: cluster.Endpoint } : {}),
        ...(cluster.Port ? { port: cluster.Port } : {}),
        securityGroupIds: groupIds(cluster.VpcSecurityGroups),
        members: (cluster.DBClusterMembers ?? []).map((m) => ({ dbInstanceIdentifier: m.DBInstanceIdentifier ?? '', writer: Boolean(m.IsClusterWriter) })),
        ...(cluster.MasterUsername ? { masterUsername: cluster.MasterUsername } : {}),
        ...(cluster.MasterUserSecret?.SecretArn ? { masterUserSecretArn: cluster.MasterUserSecret.SecretArn } : {}),
        iamAuthEnabled: Boolean(cluster.IAMDatabaseAuthenticationEnabled),
        tags: tagMap(cluster.TagList),
      }
    : undefined;
  const endpoint = instance.Endpoint?.Address ? { host: instance.Endpoint.Address, port: instance.Endpoint.Port ?? rdsCluster?.port ?? DEFAULT_PORTS[dialect] } : undefined;
  const adminSecretId = tags[ADMIN_SECRET_TAG] || rdsCluster?.tags[ADMIN_SECRET_TAG] || undefined;
  const masterUsername = rdsCluster?.masterUsername ?? instance.MasterUsername;
  const masterUserSecretArn = rdsCluster?.masterUserSecretArn ?? instance.MasterUserSecret?.SecretArn;
  return {
    dbInstanceIdentifier: instance.DBInstanceIdentifier ?? '',
    arn: instance.DBInstanceArn ?? '',
    engine,
    dialect,
    status: instance.DBInstanceStatus ?? 'unknown',
    ...(endpoint ? { endpoint } : {}),
    port: endpoint?.port ?? rdsCluster?.port ?? instance.DbInstancePort ?? DEFAULT_PORTS[dialect],
    ...(instance.DBSubnetGroup?.VpcId ? { vpcId: instance.DBSubnetGroup.VpcId } : {}),
    subnetIds: (instance.DBSubnetGroup?.Subnets ?? []).map((s) => s.SubnetIdentifier ?? '').filter(Boolean),
    securityGroupIds: rdsCluster ? rdsCluster.securityGroupIds : groupIds(instance.VpcSecurityGroups),
    ...(masterUsername ? { masterUsername } : {}),
    ...(masterUserSecretArn ? { masterUserSecretArn } : {}),
    iamAuthEnabled: rdsCluster ? rdsCluster.iamAuthEnabled : Boolean(instance.IAMDatabaseAuthenticationEnabled),
    publiclyAccessible: Boolean(instance.PubliclyAccessible),
    storageEncrypted: Boolean(instance.StorageEncrypted ?? cluster?.StorageEncrypted),
    deletionProtection: Boolean(cluster?.DeletionProtection ?? instance.DeletionProtection),
    logExports: cluster?.EnabledCloudwatchLogsExports ?? instance.EnabledCloudwatchLogsExports ?? [],
    tags,
    ...(rdsCluster ? { cluster: rdsCluster } : {}),
    target: rdsCluster
      ? { kind: 'cluster', id: rdsCluster.dbClusterIdentifier, arn: rdsCluster.arn }
      : { kind: 'instance', id: instance.DBInstanceIdentifier ?? '', arn: instance.DBInstanceArn ?? '' },
    ...(adminSecretId ? { adminSecretId } : {}),
    raw: { instance, ...(cluster ? { cluster } : {}) },
  };
}

/**
 * The "before" state kept in the ledger at the first delivery (the engine adds `capturedAt`):
 * the groups release restores, and whether IAM authentication and a managed master secret were there.
 */
export const RdsCaptureSchema = z
  .object({
    dbInstanceIdentifier: z.string(),
    dbClusterIdentifier: z.string().optional(),
    target: z.object({ kind: z.enum(['instance', 'cluster']), id: z.string(), arn: z.string() }),
    engine: z.string(),
    vpcId: z.string().optional(),
    port: z.number(),
    securityGroupIds: z.array(z.string()),
    siblings: z.array(z.string()).default([]),
    masterUsername: z.string().optional(),
    masterUserSecretArn: z.string().optional(),
    iamAuthEnabled: z.boolean(),
    tags: z.record(z.string(), z.string()).default({}),
    capturedAt: z.string().optional(),
  })
  .loose();

export type RdsCapture = z.infer<typeof RdsCaptureSchema>;

export function captureDatabase(r: RdsInstance): RdsCapture {
  return {
    dbInstanceIdentifier: r.dbInstanceIdentifier,
    ...(r.cluster ? { dbClusterIdentifier: r.cluster.dbClusterIdentifier } : {}),
    target: r.target,
    engine: r.engine,
    ...(r.vpcId ? { vpcId: r.vpcId } : {}),
    port: r.port,
    securityGroupIds: r.securityGroupIds,
    siblings: siblingsOf(r),
    ...(r.masterUsername ? { masterUsername: r.masterUsername } : {}),
    ...(r.masterUserSecretArn ? { masterUserSecretArn: r.masterUserSecretArn } : {}),
    iamAuthEnabled: r.iamAuthEnabled,
    tags: r.tags,
  };
}

/** The other members of the instance's cluster (isolating the cluster isolates them too). */
export const siblingsOf = (r: RdsInstance): string[] => (r.cluster?.members ?? []).map((m) => m.dbInstanceIdentifier).filter((id) => id && id !== r.dbInstanceIdentifier);
