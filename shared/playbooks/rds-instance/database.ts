import { randomBytes } from 'node:crypto';
import { createHash } from 'node:crypto';
import { CreateSecretCommand, ListSecretsCommand, PutSecretValueCommand, RotateSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import { AdminUserError } from '../../actions/database/errors.ts';
import type { DatabaseConnection, DatabaseConnector, DatabaseSession, LoginState, RestrictionSql, SqlDialect } from '../../actions/database/types.ts';
import { incidentTags, INCIDENT_ID_TAG } from '../../actions/tagging.ts';
import type { Step } from '../../engine/index.ts';
import { classifyError, hasErrorCode } from '../../errors/index.ts';
import { databaseNameOf } from '../../findings/index.ts';
import { adminCredentials, CREDENTIAL_ACTIONS, endpointFor, isMissing, type AdminCredentials } from './credentials.ts';
import type { RdsInstance } from './describe.ts';
import { assessLogin, legitimateSummary } from './legitimate.ts';
import { isBusy, modifyTarget, MODIFY_ACTIONS, targetName } from './modify.ts';
import { restrictNetworkAccess } from './network.ts';
import { rdsStep, type Rds } from './types.ts';

/** What the in-database steps need from shared/actions/database: injected, so tests give their own. */
export interface DatabaseDeps {
  connect: DatabaseConnector;
  restrictionSql: RestrictionSql;
}

/** The tag by which a database user's own Secrets Manager secret is found (with `firebreak:db-resource`, the instance or cluster id). */
export const USER_SECRET_TAG = 'firebreak:db-user';
export const USER_SECRET_RESOURCE_TAG = 'firebreak:db-resource';

const LoginStateSchema = z.object({ user: z.string(), exists: z.boolean(), alreadyLocked: z.boolean(), accounts: z.array(z.string()) });
const SessionSchema = z.object({ id: z.string(), user: z.string(), clientAddress: z.string().optional() });

const RestrictionSchema = z.object({
  dialect: z.enum(['postgresql', 'mysql']),
  host: z.string(),
  port: z.number(),
  adminUser: z.string(),
  credentialSource: z.enum(['admin-secret', 'master-secret']),
  secretId: z.string(),
  tls: z.boolean(),
  user: z.string().optional(),
  /** The user's login before Firebreak locked it (release gives it back unless it was already locked). */
  lockedFrom: LoginStateSchema.optional(),
  notLocked: z.string().optional(),
  ended: z.array(SessionSchema),
  failed: z.array(SessionSchema.extend({ reason: z.string() })),
  clientAddresses: z.array(z.string()),
  recommendations: z.array(z.string()).default([]),
});

const NotRestrictedSchema = z.object({ recommendation: z.array(z.string()), reason: z.string() });

/** What a step records when it cannot act in the database: the SQL a responder runs, and why. */
export type NotRestricted = z.infer<typeof NotRestrictedSchema>;

/** The SQL a responder runs by hand to give a user back its login (release, when Firebreak cannot reach the database). */
export function unlockSql(dialect: SqlDialect, before: LoginState): string[] {
  if (dialect === 'postgresql') return [`ALTER ROLE "${before.user.replace(/"/g, '""')}" LOGIN;`];
  return before.accounts.map((account) => `ALTER USER ${account} ACCOUNT UNLOCK;`);
}

type Connected = { conn: DatabaseConnection; creds: AdminCredentials; host: string; port: number };

/** Connects as the admin, or says why not (the caller records the SQL as a recommendation). */
async function connectAsAdmin(deps: DatabaseDeps, sm: SecretsManagerClient, resource: RdsInstance, timeoutMs: number): Promise<Connected | { reason: string }> {
  const creds = await adminCredentials(sm, resource);
  if (isMissing(creds)) return { reason: creds.missing };
  const endpoint = endpointFor(resource, creds, timeoutMs);
  if (!endpoint) return { reason: `${resource.dbInstanceIdentifier} has no endpoint yet` };
  try {
    const conn = await deps.connect(endpoint);
    return { conn, creds, host: endpoint.host, port: endpoint.port };
  } catch (error) {
    const { code, message } = classifyError(error);
    return { reason: `the database at ${endpoint.host}:${endpoint.port} could not be reached as ${JSON.stringify(creds.username)} (${code}: ${message.slice(0, 200)}) — another VPC, a member account, or no route from the RDS function` };
  }
}

async function endQuietly(conn: DatabaseConnection, filter: { user?: string; clientAddress?: string }): Promise<{ ended: DatabaseSession[]; failed: Array<DatabaseSession & { reason: string }> }> {
  try {
    return await conn.endSessions(filter);
  } catch (error) {
    const what = filter.user !== undefined ? `user ${JSON.stringify(filter.user)}` : `client ${filter.clientAddress}`;
    return { ended: [], failed: [{ id: '*', user: filter.user ?? '', ...(filter.clientAddress ? { clientAddress: filter.clientAddress } : {}), reason: `ending the sessions of ${what} failed: ${classifyError(error).message.slice(0, 200)}` }] };
  }
}

/**
 * An Aurora member that is not where Firebreak connected (the writer endpoint): its own sessions
 * of the user and from the remote addresses are ended through its instance endpoint, or recommended.
 */
async function endOnReader(
  deps: DatabaseDeps,
  resource: RdsInstance,
  creds: AdminCredentials,
  connectedHost: string,
  user: string | undefined,
  ips: string[],
  timeoutMs: number,
  recommendations: string[],
): Promise<Array<{ ended: DatabaseSession[]; failed: Array<DatabaseSession & { reason: string }> }>> {
  const instanceHost = resource.endpoint?.host;
  if (!resource.cluster || creds.host || !instanceHost || instanceHost === connectedHost) return [];
  const endpoint = endpointFor({ ...resource, cluster: undefined }, creds, timeoutMs);
  let reader: DatabaseConnection;
  try {
    reader = await deps.connect(endpoint!);
  } catch (error) {
    recommendations.push(`end the sessions on ${resource.dbInstanceIdentifier} (${instanceHost}) by hand: it could not be reached (${classifyError(error).code}): ${[...(user !== undefined ? deps.restrictionSql(resource.dialect, { user }) : []), ...ips.flatMap((clientAddress) => deps.restrictionSql(resource.dialect, { clientAddress }))].join(' ')}`);
    return [];
  }
  try {
    return [
      ...(user !== undefined && user !== creds.username ? [await endQuietly(reader, { user })] : []),
      ...(await Promise.all(ips.map((clientAddress) => endQuietly(reader, { clientAddress })))),
    ];
  } finally {
    await reader.close().catch(() => undefined);
  }
}

/** The in-database steps, built around a connector (shared/actions/database's by default). */
export function databaseSteps(deps: DatabaseDeps) {
  const recommendationFor = (resource: RdsInstance, user: string | undefined, ips: string[]): string[] => [
    ...deps.restrictionSql(resource.dialect, { ...(user !== undefined ? { user } : {}) }),
    ...ips.flatMap((clientAddress) => deps.restrictionSql(resource.dialect, { clientAddress })),
  ];

  const restrictDatabaseUser = rdsStep({
    name: 'restrictDatabaseUser',
    stage: 'contain',
    description:
      "Restrict the suspected DB user inside the database with the admin credentials from Secrets Manager: refuse its logins (PostgreSQL NOLOGIN, MySQL/MariaDB ACCOUNT LOCK) and end its sessions and every session from the finding's remote addresses; never the admin user Firebreak connects as. Unreachable: the exact SQL is recorded as a recommendation",
    iamActions: [...CREDENTIAL_ACTIONS],
    enabledBy: ['restrict_database_user'],
    data: z.union([RestrictionSchema, NotRestrictedSchema]),
    async run({ clients, resource, options, incident, previous }) {
      const login = assessLogin(incident, options);
      if (login.legitimate) return { status: 'skipped', summary: legitimateSummary(login) };
      const user = databaseNameOf(incident.resource.hints, 'dbUser');
      const ips = incident.remoteIps;
      const recommendation = recommendationFor(resource, user, ips);
      const notDone = (reason: string) => ({ status: 'skipped' as const, summary: `not restricted inside the database: ${reason}; run this SQL as an admin: ${recommendation.join(' ')}`, data: { recommendation, reason } });
      if (!options.restrict_database_user) return notDone('restrict_database_user is off');
      if (user === undefined && ips.length === 0) return { status: 'skipped', summary: 'the finding names neither a database user nor a remote address: nothing to restrict inside the database' };
      const connected = await connectAsAdmin(deps, clients.secretsManager, resource, options.connect_timeout_ms);
      if ('reason' in connected) return notDone(connected.reason);
      const { conn, creds } = connected;
      try {
        const recommendations: string[] = [];
        let lockedFrom: LoginState | undefined;
        let notLocked: string | undefined;
        // A redelivery after a lock must keep the login state from before Firebreak's lock (release restores that).
        const earlier = previous?.data && 'lockedFrom' in (previous.data as object) ? (previous.data as { lockedFrom?: LoginState }).lockedFrom : undefined;
        if (user !== undefined) {
          if (user === creds.username) {
            notLocked = `${JSON.stringify(user)} is the admin user Firebreak connects as: never locked${user === resource.masterUsername ? '; it is the master user, whose password is rotated through RDS' : ''}`;
            recommendations.push(`rotate the credentials of ${JSON.stringify(user)} (secret ${creds.secretId}) and review what it did`);
          } else {
            const state = earlier ?? (await conn.loginState(user));
            if (!state.exists) notLocked = `${JSON.stringify(user)} does not exist in the database (any more)`;
            else {
              try {
                await conn.lockUser(user);
                lockedFrom = state;
              } catch (error) {
                if (!(error instanceof AdminUserError)) throw error;
                notLocked = `${JSON.stringify(user)} is the admin user Firebreak connects as: never locked`;
              }
            }
          }
        }
        // The admin's own session is never ended (the connector excludes it).
        const results: Array<{ ended: DatabaseSession[]; failed: Array<DatabaseSession & { reason: string }> }> = [
          ...(user !== undefined && user !== creds.username ? [await endQuietly(conn, { user })] : []),
          ...(await Promise.all(ips.map((clientAddress) => endQuietly(conn, { clientAddress })))),
        ];
        // Aurora through the writer endpoint: sessions on the finding's instance, a reader, are ended there.
        results.push(...(await endOnReader(deps, resource, creds, connected.host, user, ips, options.connect_timeout_ms, recommendations)));
        const ended = results.flatMap((r) => r.ended);
        const failed = results.flatMap((r) => r.failed);
        if (failed.length) recommendations.push(`end by hand the sessions Firebreak could not end: ${failed.map((f) => `${f.id} (${f.reason})`).join('; ')}`);
        const who = user === undefined ? 'no user named' : lockedFrom ? `${JSON.stringify(user)} refused new logins${lockedFrom.alreadyLocked ? ' (it was already refused)' : ''}` : `${JSON.stringify(user)} not locked (${notLocked})`;
        return {
          status: 'done',
          summary: `in ${resource.dialect} at ${connected.host}:${connected.port} as ${JSON.stringify(creds.username)}${conn.tls ? ' over TLS' : ' (no TLS offered)'}: ${who}; ${ended.length} session(s) ended${ips.length ? ` (the user's and those from ${ips.join(', ')})` : ''}${failed.length ? `, ${failed.length} could not be` : ''}`,
          data: {
            dialect: resource.dialect,
            host: connected.host,
            port: connected.port,
            adminUser: creds.username,
            credentialSource: creds.source,
            secretId: creds.secretId,
            tls: conn.tls,
            ...(user !== undefined ? { user } : {}),
            ...(lockedFrom ? { lockedFrom } : {}),
            ...(notLocked ? { notLocked } : {}),
            ended,
            failed,
            clientAddresses: ips,
            recommendations,
          },
        };
      } finally {
        await conn.close().catch(() => undefined);
      }
    },
    undo: {
      name: 'restoreDatabaseLogin',
      description: "Give the suspected user its login back inside the database, unless it was refused before containment",
      iamActions: [...CREDENTIAL_ACTIONS],
      async run(ctx) {
        const { recorded } = ctx;
        if (!('lockedFrom' in recorded) || !recorded.lockedFrom) return { status: 'skipped', summary: 'containment locked no database user: nothing to give back' };
        const before = recorded.lockedFrom;
        if (before.alreadyLocked) return { status: 'skipped', summary: `${JSON.stringify(before.user)} was refused logins before containment: it stays so` };
        const resource = await ctx.resource();
        if (!resource) return { status: 'skipped', summary: `${ctx.incident.resource.id} no longer exists` };
        const connected = await connectAsAdmin(deps, ctx.clients.secretsManager, resource, 5000);
        if ('reason' in connected) {
          return { status: 'skipped', summary: `${JSON.stringify(before.user)} could not be given its login back (${connected.reason}); run: ${unlockSql(recorded.dialect, before).join(' ')}`, data: { recommendation: unlockSql(recorded.dialect, before) } };
        }
        try {
          await connected.conn.unlockUser(before);
        } finally {
          await connected.conn.close().catch(() => undefined);
        }
        return { status: 'done', summary: `${JSON.stringify(before.user)} may log in again (${recorded.dialect} at ${connected.host}:${connected.port})` };
      },
    },
  });

  const rotateUserPassword = rdsStep({
    name: 'rotateUserPassword',
    stage: 'contain',
    description:
      "Rotate the suspected DB user's password: the master user through RDS (ManageMasterUserPassword, or RotateMasterUserPassword when already managed); a user whose secret has rotation through Secrets Manager; any other a new random password set in the database and kept in a firebreak/ secret",
    iamActions: [...CREDENTIAL_ACTIONS, ...MODIFY_ACTIONS, 'secretsmanager:ListSecrets', 'secretsmanager:RotateSecret', 'secretsmanager:CreateSecret', 'secretsmanager:PutSecretValue', 'secretsmanager:TagResource'],
    enabledBy: ['rotate_password'],
    after: [restrictNetworkAccess, restrictDatabaseUser],
    data: z.union([
      z.object({ user: z.string(), method: z.enum(['rds-managed-master', 'rds-rotate-master']), target: z.object({ kind: z.enum(['instance', 'cluster']), id: z.string(), arn: z.string() }) }),
      z.object({ user: z.string(), method: z.literal('secret-rotation'), secretArn: z.string() }),
      z.object({ user: z.string(), method: z.literal('new-secret'), secretName: z.string(), secretArn: z.string().optional() }),
      NotRestrictedSchema,
    ]),
    async run({ clients, resource, options, incident }) {
      const login = assessLogin(incident, options);
      if (login.legitimate) return { status: 'skipped', summary: legitimateSummary(login) };
      if (!options.rotate_password) return { status: 'skipped', summary: 'rotate_password is off: rotate the suspected user\'s password yourself' };
      const user = databaseNameOf(incident.resource.hints, 'dbUser');
      if (user === undefined) return { status: 'skipped', summary: 'the finding names no database user: no password to rotate' };
      if (user === resource.masterUsername) {
        const managed = Boolean(resource.masterUserSecretArn);
        try {
          await modifyTarget(clients.rds, resource.target, managed ? { RotateMasterUserPassword: true } : { ManageMasterUserPassword: true });
        } catch (error) {
          if (!isBusy(error)) throw error;
          return { status: 'pending', retryAfterSeconds: 60, summary: `${targetName(resource.target)} is busy with another modification: the master password is rotated shortly` };
        }
        return {
          status: 'done',
          summary: managed
            ? `master user ${JSON.stringify(user)}: RDS rotated its managed secret ${resource.masterUserSecretArn} at once (RotateMasterUserPassword on ${targetName(resource.target)}, applied immediately)`
            : `master user ${JSON.stringify(user)}: ${targetName(resource.target)} now manages its password in Secrets Manager (ManageMasterUserPassword, applied immediately): the old password no longer works; read the new one from the secret RDS created`,
          data: { user, method: managed ? ('rds-rotate-master' as const) : ('rds-managed-master' as const), target: resource.target },
        };
      }
      const owned = await userSecret(clients.secretsManager, user, [resource.dbInstanceIdentifier, ...(resource.cluster ? [resource.cluster.dbClusterIdentifier] : [])]);
      if (owned?.rotationEnabled) {
        await clients.secretsManager.send(new RotateSecretCommand({ SecretId: owned.arn }));
        return { status: 'done', summary: `${JSON.stringify(user)}: Secrets Manager rotation of ${owned.arn} started (its rotation function sets the new password in the database)`, data: { user, method: 'secret-rotation' as const, secretArn: owned.arn } };
      }
      const connected = await connectAsAdmin(deps, clients.secretsManager, resource, options.connect_timeout_ms);
      const secretName = newPasswordSecretName(incident.incidentId, resource.dbInstanceIdentifier, user);
      if ('reason' in connected) {
        const recommendation = [`set a new password for ${JSON.stringify(user)} (${resource.dialect === 'postgresql' ? 'ALTER ROLE … PASSWORD' : 'ALTER USER … IDENTIFIED BY'}) and keep it in Secrets Manager with rotation`];
        return { status: 'skipped', summary: `password of ${JSON.stringify(user)} not rotated: ${connected.reason}; ${recommendation[0]}`, data: { recommendation, reason: connected.reason } };
      }
      const password = randomBytes(24).toString('base64url');
      try {
        try {
          await connected.conn.setPassword(user, password);
        } catch (error) {
          if (!(error instanceof AdminUserError)) throw error;
          const reason = `${JSON.stringify(user)} is the admin user Firebreak connects as (secret ${connected.creds.secretId}): its password is not changed from under Firebreak`;
          return { status: 'skipped', summary: `${reason}; rotate that secret`, data: { recommendation: [`rotate secret ${connected.creds.secretId}`], reason } };
        }
      } finally {
        await connected.conn.close().catch(() => undefined);
      }
      const secretArn = await keepPassword(clients.secretsManager, secretName, user, password, resource, incident);
      return {
        status: 'done',
        summary: `${JSON.stringify(user)} has a new random password, kept for its owner in Secrets Manager as ${secretName} (the password is never logged or recorded); ${owned ? `its secret ${owned.arn} has no rotation and still holds the old one` : 'no secret of its own with rotation was found (tag firebreak:db-user)'}`,
        data: { user, method: 'new-secret' as const, secretName, ...(secretArn ? { secretArn } : {}) },
      };
    },
  });

  return { restrictDatabaseUser, rotateUserPassword } satisfies Record<string, Step<Rds, unknown>>;
}

/** A new password's secret: one per incident, instance and user (the user, hostile text, only as a hash in the name). */
export function newPasswordSecretName(incidentId: string, dbInstanceIdentifier: string, user: string): string {
  return `firebreak/rds-instance/${incidentId}/${dbInstanceIdentifier}/user-${createHash('sha256').update(user).digest('hex').slice(0, 16)}`;
}

async function keepPassword(sm: SecretsManagerClient, name: string, user: string, password: string, resource: RdsInstance, incident: Parameters<typeof incidentTags>[0]): Promise<string | undefined> {
  const value = JSON.stringify({ username: user, password, engine: resource.engine, host: resource.cluster?.endpoint ?? resource.endpoint?.host, port: resource.port, dbInstanceIdentifier: resource.dbInstanceIdentifier });
  try {
    const out = await sm.send(
      new CreateSecretCommand({
        Name: name,
        Description: `New password of a database user of ${resource.dbInstanceIdentifier}, set by Firebreak for incident ${incident.incidentId}: hand it to the owner, then move it to rotation`,
        SecretString: value,
        Tags: incidentTags(incident, { 'firebreak:db-instance': resource.dbInstanceIdentifier }),
      }),
    );
    return out.ARN;
  } catch (error) {
    // An earlier delivery created it and then failed: this password is the one in the database now.
    if (!hasErrorCode(error, 'ResourceExistsException')) throw error;
    const out = await sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: value }));
    return out.ARN;
  }
}

/** The user's own secret: tagged firebreak:db-user = user and firebreak:db-resource = the instance or cluster. */
async function userSecret(sm: SecretsManagerClient, user: string, resourceIds: string[]): Promise<{ arn: string; rotationEnabled: boolean } | undefined> {
  const out = await sm.send(new ListSecretsCommand({ Filters: [{ Key: 'tag-key', Values: [USER_SECRET_TAG] }], MaxResults: 100 }));
  const match = (out.SecretList ?? []).find((s) => {
    const tags = Object.fromEntries((s.Tags ?? []).map((t) => [t.Key, t.Value]));
    return tags[USER_SECRET_TAG] === user && resourceIds.includes(tags[USER_SECRET_RESOURCE_TAG] ?? '') && !(tags[INCIDENT_ID_TAG]);
  });
  return match?.ARN ? { arn: match.ARN, rotationEnabled: Boolean(match.RotationEnabled) } : undefined;
}
