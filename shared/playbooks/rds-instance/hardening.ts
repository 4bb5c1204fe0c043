import * as z from 'zod';
import { EVIDENCE_IAM_ACTIONS } from '../../evidence/index.ts';
import type { RdsInstance } from './describe.ts';
import { assessLogin, legitimateSummary } from './legitimate.ts';
import { isBusy, modifyTarget, targetName } from './modify.ts';
import { rdsStep } from './types.ts';

/**
 * "Use IAM DB Authentication to manage DB users' access without passwords": turned on for the
 * instance (Aurora: the cluster). Hardening, not containment: release leaves it on (password logins
 * keep working beside it) and says how to turn it off.
 */
export const enableIamAuthentication = rdsStep({
  name: 'enableIamAuthentication',
  stage: 'contain',
  description: 'Enable IAM database authentication on the instance (Aurora: the cluster), applied immediately; kept after release',
  iamActions: ['rds:ModifyDBInstance', 'rds:ModifyDBCluster'],
  enabledBy: ['enable_iam_authentication'],
  data: z.object({ target: z.object({ kind: z.enum(['instance', 'cluster']), id: z.string(), arn: z.string() }), wasEnabled: z.boolean() }),
  async run({ clients, resource, capture, options, incident }) {
    const login = assessLogin(incident, options);
    if (login.legitimate) return { status: 'skipped', summary: legitimateSummary(login) };
    if (!options.enable_iam_authentication) return { status: 'skipped', summary: 'enable_iam_authentication is off' };
    if (resource.iamAuthEnabled) return { status: 'done', summary: `IAM database authentication is already enabled on ${targetName(resource.target)}`, data: { target: resource.target, wasEnabled: capture.iamAuthEnabled } };
    try {
      await modifyTarget(clients.rds, resource.target, { EnableIAMDatabaseAuthentication: true });
    } catch (error) {
      if (!isBusy(error)) throw error;
      return { status: 'pending', retryAfterSeconds: 60, summary: `${targetName(resource.target)} is busy with another modification: IAM authentication is enabled shortly` };
    }
    return { status: 'done', summary: `IAM database authentication enabled on ${targetName(resource.target)} (applied immediately); grant users rds_iam (PostgreSQL) or AWSAuthenticationPlugin (MySQL) to move them off passwords`, data: { target: resource.target, wasEnabled: false } };
  },
});

/** One hardening recommendation for the report. */
export interface Recommendation {
  setting: string;
  now: string;
  recommendation: string;
}

/** The seeds' "Secure your RDS DB instance" recommendations, from what describe read. */
export function hardeningRecommendations(r: RdsInstance): Recommendation[] {
  const recs: Recommendation[] = [];
  const pg = r.dialect === 'postgresql';
  if (!r.masterUserSecretArn) recs.push({ setting: 'ManageMasterUserPassword', now: 'the master password is not managed by Secrets Manager', recommendation: 'let RDS manage the master password in Secrets Manager (ManageMasterUserPassword) and keep application users\' passwords in secrets with rotation' });
  else recs.push({ setting: 'Secrets Manager rotation', now: `the master password is managed (${r.masterUserSecretArn})`, recommendation: 'keep its rotation schedule short, and give application users secrets with rotation too' });
  if (!r.iamAuthEnabled) recs.push({ setting: 'EnableIAMDatabaseAuthentication', now: 'IAM database authentication is off', recommendation: 'use IAM database authentication so users log in without passwords' });
  recs.push({
    setting: 'TLS',
    now: 'not read (a parameter group setting)',
    recommendation: pg ? 'require TLS: rds.force_ssl = 1 in the (cluster) parameter group' : 'require TLS: require_secure_transport = ON in the (cluster) parameter group',
  });
  const auditExport = r.logExports.some((l) => /audit|postgresql/.test(l));
  recs.push({
    setting: 'audit logging',
    now: r.logExports.length ? `log exports: ${r.logExports.join(', ')}` : 'no log is exported to CloudWatch Logs',
    recommendation: `${pg ? 'enable pgaudit (shared_preload_libraries, pgaudit.log)' : 'enable the audit plugin (server_audit_logging; Aurora MySQL: server_audit_logging)'}${auditExport ? '' : ' and export the audit log to CloudWatch Logs, where it outlives RDS\'s log rotation'}`,
  });
  if (r.publiclyAccessible) recs.push({ setting: 'PubliclyAccessible', now: 'the instance is publicly accessible', recommendation: 'turn public accessibility off and reach the database from inside the VPC' });
  if (!r.storageEncrypted) recs.push({ setting: 'StorageEncrypted', now: 'storage is not encrypted', recommendation: 'encrypt the storage (restore an encrypted snapshot copy)' });
  if (!r.deletionProtection) recs.push({ setting: 'DeletionProtection', now: 'deletion protection is off', recommendation: 'turn deletion protection on' });
  return recs;
}

export const recommendHardening = rdsStep({
  name: 'recommendHardening',
  stage: 'investigate',
  description: 'Secure the RDS DB instance: write the hardening recommendations (Secrets Manager rotation, IAM authentication, TLS, audit logging, public accessibility) into the report',
  iamActions: [...EVIDENCE_IAM_ACTIONS],
  data: z.object({ recommendations: z.array(z.object({ setting: z.string(), now: z.string(), recommendation: z.string() })) }),
  async run({ resource, evidence, incident, options }) {
    const login = assessLogin(incident, options);
    if (login.legitimate) return { status: 'skipped', summary: legitimateSummary(login) };
    const recommendations = hardeningRecommendations(resource);
    const ref = await evidence.putJson(incident.incidentId, 'rds-hardening.json', { dbInstanceIdentifier: resource.dbInstanceIdentifier, recommendations });
    return { status: 'done', summary: `${recommendations.length} hardening recommendation(s): ${recommendations.map((r) => r.setting).join(', ')}`, data: { recommendations }, evidence: [ref] };
  },
});
