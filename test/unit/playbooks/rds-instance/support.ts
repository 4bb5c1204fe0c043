/** What the RDS playbook's unit tests share: instances and clusters as RDS returns them, incidents from the GuardDuty fixture, a fake database, and typed contexts. */
import type { DBCluster, DBInstance } from '@aws-sdk/client-rds';
import { restrictionSql } from '../../../../shared/actions/database/index.ts';
import { AdminUserError, DatabaseUnreachableError } from '../../../../shared/actions/database/errors.ts';
import type { DatabaseConnection, DatabaseConnector, DatabaseEndpoint, DatabaseSession, LoginState } from '../../../../shared/actions/database/types.ts';
import { outputsReader, parseRecorded, type ReleaseContext, type Step, type StepContext, type UndoContext } from '../../../../shared/engine/index.ts';
import { EvidenceStore } from '../../../../shared/evidence/index.ts';
import { parseFindingMessage, type Incident } from '../../../../shared/findings/index.ts';
import { localPacer } from '../../../../shared/pacing/index.ts';
import { databaseSteps } from '../../../../shared/playbooks/rds-instance/database.ts';
import { captureDatabase, rdsInstanceOf, type RdsInstance } from '../../../../shared/playbooks/rds-instance/describe.ts';
import { RdsOptionsSchema, type RdsOptions } from '../../../../shared/playbooks/rds-instance/options.ts';
import type { Rds } from '../../../../shared/playbooks/rds-instance/types.ts';
import type { StepOutcome } from '../../../../shared/vocabulary/index.ts';
import { aConfig, anS3Client, EVIDENCE_BUCKET, FIXED_NOW, fixtureEvent, RESPONDER, silentLogger, someClients } from '../../helpers/factories.ts';

export const ACCOUNT = '111122223333';
export const VPC = 'vpc-0a1b2c3d4e5f60718';
export const APP_SG = 'sg-0aaaaaaaaaaaaaaa1';
export const FUNCTION_SG = 'sg-0fffffffffffffff1';
export const ISOLATION_SG = 'sg-0eeeeeeeeeeeeeee1';
export const MASTER_SECRET = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:rds!cluster-0a1b2c3d-AbCdEf`;
export const ADMIN_SECRET = 'prod/orders/firebreak-admin';

/** The fixture's Aurora PostgreSQL member, orders-aurora-instance-1 (a reader: the writer is instance-2). */
export function auroraMember(overrides: Partial<DBInstance> = {}): DBInstance {
  return {
    DBInstanceIdentifier: 'orders-aurora-instance-1',
    DBInstanceArn: `arn:aws:rds:us-east-1:${ACCOUNT}:db:orders-aurora-instance-1`,
    DBClusterIdentifier: 'orders-aurora-cluster',
    Engine: 'aurora-postgresql',
    DBInstanceStatus: 'available',
    Endpoint: { Address: 'orders-aurora-instance-1.abc123.us-east-1.rds.amazonaws.com', Port: 5432 },
    DBSubnetGroup: { VpcId: VPC, Subnets: [{ SubnetIdentifier: 'subnet-0a1' }, { SubnetIdentifier: 'subnet-0b2' }] },
    // A member reports the cluster's groups.
    VpcSecurityGroups: [{ VpcSecurityGroupId: APP_SG, Status: 'active' }],
    MasterUsername: 'postgres',
    IAMDatabaseAuthenticationEnabled: false,
    PubliclyAccessible: false,
    StorageEncrypted: true,
    TagList: [{ Key: 'Environment', Value: 'prod' }],
    ...overrides,
  };
}

export function auroraCluster(overrides: Partial<DBCluster> = {}): DBCluster {
  return {
    DBClusterIdentifier: 'orders-aurora-cluster',
    DBClusterArn: `arn:aws:rds:us-east-1:${ACCOUNT}:cluster:orders-aurora-cluster`,
    Engine: 'aurora-postgresql',
    Endpoint: 'orders-aurora-cluster.cluster-abc123.us-east-1.rds.amazonaws.com',
    Port: 5432,
    VpcSecurityGroups: [{ VpcSecurityGroupId: APP_SG, Status: 'active' }],
    DBClusterMembers: [
      { DBInstanceIdentifier: 'orders-aurora-instance-1', IsClusterWriter: false },
      { DBInstanceIdentifier: 'orders-aurora-instance-2', IsClusterWriter: true },
    ],
    MasterUsername: 'postgres',
    MasterUserSecret: { SecretArn: MASTER_SECRET, SecretStatus: 'active' },
    IAMDatabaseAuthenticationEnabled: false,
    DeletionProtection: true,
    StorageEncrypted: true,
    EnabledCloudwatchLogsExports: ['postgresql'],
    TagList: [{ Key: 'firebreak:admin-secret', Value: ADMIN_SECRET }],
    ...overrides,
  };
}

/** A standalone MariaDB instance. */
export function standalone(overrides: Partial<DBInstance> = {}): DBInstance {
  return {
    DBInstanceIdentifier: 'billing-mariadb',
    DBInstanceArn: `arn:aws:rds:us-east-1:${ACCOUNT}:db:billing-mariadb`,
    Engine: 'mariadb',
    DBInstanceStatus: 'available',
    Endpoint: { Address: 'billing-mariadb.abc123.us-east-1.rds.amazonaws.com', Port: 3306 },
    DBSubnetGroup: { VpcId: VPC, Subnets: [{ SubnetIdentifier: 'subnet-0a1' }] },
    VpcSecurityGroups: [{ VpcSecurityGroupId: APP_SG, Status: 'active' }, { VpcSecurityGroupId: 'sg-0bbbbbbbbbbbbbbb2', Status: 'active' }],
    MasterUsername: 'admin',
    IAMDatabaseAuthenticationEnabled: false,
    PubliclyAccessible: true,
    StorageEncrypted: false,
    TagList: [],
    ...overrides,
  };
}

export const aurora = (instance: Partial<DBInstance> = {}, cluster: Partial<DBCluster> = {}): RdsInstance => rdsInstanceOf(auroraMember(instance), auroraCluster(cluster));
export const mariadb = (instance: Partial<DBInstance> = {}): RdsInstance => rdsInstanceOf(standalone(instance));

/** The fixture's incident (svc_reporting from 203.0.113.88), retargeted to `instanceId` and, when given, another user. */
export function anRdsIncident(options: { instanceId?: string; user?: string; remoteIp?: string | null } = {}): Incident {
  const event = fixtureEvent('rds-anomalousbehavior-successfullogin.json');
  const details = event.detail.resource.rdsDbInstanceDetails;
  if (options.instanceId) {
    details.dbInstanceIdentifier = options.instanceId;
    delete details.dbClusterIdentifier;
    details.engine = 'mariadb';
  }
  if (options.user !== undefined) event.detail.resource.rdsDbUserDetails.user = options.user;
  if (options.remoteIp === null) delete event.detail.service.action.rdsLoginAttemptAction.remoteIpDetails;
  else if (options.remoteIp) event.detail.service.action.rdsLoginAttemptAction.remoteIpDetails.ipAddressV4 = options.remoteIp;
  const [incident] = parseFindingMessage(JSON.stringify(event));
  return incident!;
}

export const rdsOptions = (overrides: Record<string, unknown> = {}): RdsOptions => RdsOptionsSchema.parse({ function_security_group_ids: [FUNCTION_SG], ...overrides });

/** A fake database: what a real server would do to the calls the playbook makes, recorded. */
export class FakeDatabase {
  readonly calls: Array<{ method: string; args: unknown[] }> = [];
  readonly endpoints: DatabaseEndpoint[] = [];
  locked = new Set<string>();
  users = new Set<string>(['svc_reporting', 'postgres', 'firebreak_admin', 'admin']);
  sessions: DatabaseSession[] = [
    { id: '101', user: 'svc_reporting', clientAddress: '203.0.113.88' },
    { id: '102', user: 'app', clientAddress: '203.0.113.88' },
    { id: '103', user: 'app', clientAddress: '10.0.1.15' },
  ];
  unreachable = false;

  readonly connect: DatabaseConnector = async (endpoint) => {
    this.endpoints.push(endpoint);
    if (this.unreachable) throw new DatabaseUnreachableError(endpoint.host, endpoint.port, 'connect ECONNREFUSED');
    const admin = endpoint.username;
    const state = (user: string): LoginState => ({ user, exists: this.users.has(user), alreadyLocked: this.locked.has(user), accounts: endpoint.dialect === 'mysql' ? [`'${user}'@'%'`] : [user] });
    const record = (method: string, ...args: unknown[]) => this.calls.push({ method, args });
    const conn: DatabaseConnection = {
      dialect: endpoint.dialect,
      tls: true,
      loginState: async (user) => (record('loginState', user), state(user)),
      lockUser: async (user) => {
        record('lockUser', user);
        if (user === admin) throw new AdminUserError(user, 'lock');
        const before = state(user);
        this.locked.add(user);
        return before;
      },
      unlockUser: async (before) => {
        record('unlockUser', before);
        if (!before.alreadyLocked) this.locked.delete(before.user);
      },
      endSessions: async (filter) => {
        record('endSessions', filter);
        const ended = this.sessions.filter((s) => s.user !== admin && (filter.user === undefined || s.user === filter.user) && (filter.clientAddress === undefined || s.clientAddress === filter.clientAddress));
        this.sessions = this.sessions.filter((s) => !ended.includes(s));
        return { ended, failed: [] };
      },
      setPassword: async (user, password) => {
        record('setPassword', user, password.length);
        if (user === admin) throw new AdminUserError(user, 'set the password of');
      },
      close: async () => void record('close'),
    };
    return conn;
  };

  methods = () => this.calls.map((c) => c.method);
}

/** The in-database steps, built on a fake database. */
export const stepsOn = (db: FakeDatabase) => databaseSteps({ connect: db.connect, restrictionSql });

type WithOutcomes = { outcomes?: Record<string, StepOutcome> };

export function anRdsStepContext<D>(resource: RdsInstance, incident: Incident, overrides: Partial<StepContext<Rds, D>> & WithOutcomes = {}): StepContext<Rds, D> {
  const { outcomes = {}, ...rest } = overrides;
  return {
    ...outputsReader<Rds>(() => outcomes),
    incident,
    resource,
    capture: captureDatabase(resource),
    options: rdsOptions(),
    clients: someClients(),
    evidence: new EvidenceStore(anS3Client(), EVIDENCE_BUCKET),
    config: aConfig({ playbook: 'rds-instance' }),
    logger: silentLogger(),
    now: () => FIXED_NOW,
    pacer: localPacer({ sleep: async () => undefined }),
    handOff: async () => ({ eventId: 'none' }),
    relate: async () => [],
    ...rest,
  } as StepContext<Rds, D>;
}

export function anRdsReleaseContext(resource: RdsInstance | undefined, incident: Incident, capture: RdsInstance, overrides: Partial<Omit<ReleaseContext<Rds>, 'resource'>> & WithOutcomes = {}): ReleaseContext<Rds> {
  const { outcomes = {}, ...rest } = overrides;
  return {
    ...outputsReader<Rds>(() => outcomes),
    incident,
    capture: captureDatabase(capture),
    request: { requestedBy: RESPONDER, reason: 'false positive', reattach: false, via: 'cli' },
    resource: async () => resource,
    clients: someClients(),
    logger: silentLogger(),
    now: () => FIXED_NOW,
    released: {},
    ...rest,
  };
}

/** What a step's undo receives: its data through a JSON round trip and the step's schema, as the engine reads it. */
export function recordedBy<D>(step: Step<Rds, D>, result: { status: string; data?: unknown }): D {
  if (result.status !== 'done') throw new Error(`${step.name} returned ${result.status}: an undo runs only after done`);
  return parseRecorded(step, result.data === undefined ? undefined : JSON.parse(JSON.stringify(result.data)));
}

export function anRdsUndoContext<D>(step: Step<Rds, D>, result: { status: string; data?: unknown }, resource: RdsInstance | undefined, incident: Incident, capture: RdsInstance): UndoContext<Rds, D> {
  return { ...anRdsReleaseContext(resource, incident, capture), recorded: recordedBy(step, result) };
}

export const outcome = (status: StepOutcome['status'], data?: unknown): StepOutcome => ({ stage: 'contain', status, summary: status, attempts: 1, ...(data === undefined ? {} : { data: JSON.parse(JSON.stringify(data)) }) });
