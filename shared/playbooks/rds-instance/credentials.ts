import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { DatabaseEndpoint } from '../../actions/database/types.ts';
import type { RdsInstance } from './describe.ts';

/** The admin credentials Firebreak connects with, and where they came from (never the password in a record). */
export interface AdminCredentials {
  source: 'admin-secret' | 'master-secret';
  secretId: string;
  username: string;
  password: string;
  /** From the admin secret (the standard RDS secret shape): wins over the instance's endpoint. */
  host?: string;
  port?: number;
  dbname?: string;
}

/** Why no admin credentials could be had. */
export interface NoCredentials {
  missing: string;
}

/**
 * The admin credentials: the secret the instance's (or cluster's) `firebreak:admin-secret` tag
 * names, else the RDS-managed master secret (which holds only `username` and `password`).
 */
export async function adminCredentials(sm: SecretsManagerClient, resource: RdsInstance): Promise<AdminCredentials | NoCredentials> {
  const [source, secretId] = resource.adminSecretId
    ? (['admin-secret', resource.adminSecretId] as const)
    : resource.masterUserSecretArn
      ? (['master-secret', resource.masterUserSecretArn] as const)
      : [undefined, undefined];
  if (!source || !secretId) {
    return { missing: `neither a firebreak:admin-secret tag on ${resource.dbInstanceIdentifier}${resource.cluster ? ` or ${resource.cluster.dbClusterIdentifier}` : ''} nor an RDS-managed master secret names admin credentials` };
  }
  const out = await sm.send(new GetSecretValueCommand({ SecretId: secretId }));
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(out.SecretString ?? '') as Record<string, unknown>;
  } catch {
    return { missing: `secret ${secretId} is not JSON with username and password` };
  }
  const text = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);
  const username = text(value.username);
  const password = text(value.password);
  if (!username || !password) return { missing: `secret ${secretId} has no username and password` };
  const port = typeof value.port === 'number' ? value.port : typeof value.port === 'string' && /^\d{1,5}$/.test(value.port) ? Number(value.port) : undefined;
  const host = source === 'admin-secret' ? text(value.host) : undefined;
  const dbname = text(value.dbname);
  return { source, secretId, username, password, ...(host ? { host } : {}), ...(source === 'admin-secret' && port ? { port } : {}), ...(dbname ? { dbname } : {}) };
}

export const isMissing = (c: AdminCredentials | NoCredentials): c is NoCredentials => 'missing' in c;

/**
 * Where to connect: the admin secret's `host`/`port` win (the tests point an emulated instance at
 * real local servers this way); otherwise the cluster's writer endpoint (Aurora: ALTER ROLE needs
 * the writer), else the instance's endpoint.
 */
export function endpointFor(resource: RdsInstance, creds: AdminCredentials, timeoutMs: number): DatabaseEndpoint | undefined {
  const host = creds.host ?? resource.cluster?.endpoint ?? resource.endpoint?.host;
  if (!host) return undefined;
  // Roles and pg_stat_activity are cluster-wide: any database serves, `postgres` exists on RDS.
  const database = creds.dbname ?? (resource.dialect === 'postgresql' ? 'postgres' : undefined);
  return {
    dialect: resource.dialect,
    host,
    port: creds.port ?? resource.port,
    ...(database ? { database } : {}),
    username: creds.username,
    password: creds.password,
    connectTimeoutMs: timeoutMs,
  };
}

/** The Secrets Manager action reading the admin secret (or the managed master secret). */
export const CREDENTIAL_ACTIONS = ['secretsmanager:GetSecretValue'] as const;
