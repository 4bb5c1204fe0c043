import { AddTagsToResourceCommand, DownloadDBLogFilePortionCommand, paginateDescribeDBLogFiles, type DescribeDBLogFilesDetails, type RDSClient } from '@aws-sdk/client-rds';
import * as z from 'zod';
import { incidentTags } from '../../actions/tagging.ts';
import { EVIDENCE_IAM_ACTIONS, type EvidenceStore } from '../../evidence/index.ts';
import type { EvidenceRef } from '../../vocabulary/index.ts';
import { siblingsOf } from './describe.ts';
import { assessLogin, legitimateSummary } from './legitimate.ts';
import { rdsStep } from './types.ts';

export const preserveDatabaseConfiguration = rdsStep({
  name: 'preserveDatabaseConfiguration',
  stage: 'evidence',
  description: 'Identify the DB instance: save its configuration and its cluster\'s (siblings, groups, master secret, IAM authentication, tags) as captured before containment to the evidence bucket',
  iamActions: [...EVIDENCE_IAM_ACTIONS],
  async run({ evidence, incident, capture, resource, options }) {
    const login = assessLogin(incident, options);
    if (login.legitimate) return { status: 'skipped', summary: legitimateSummary(login) };
    const ref = await evidence.putJson(incident.incidentId, 'rds-configuration.json', {
      incident,
      captureBeforeContainment: capture,
      describeDBInstances: resource.raw.instance,
      describeDBClusters: resource.raw.cluster ?? null,
      siblings: siblingsOf(resource),
    });
    return { status: 'done', summary: `configuration of ${resource.dbInstanceIdentifier}${resource.cluster ? ` and cluster ${resource.cluster.dbClusterIdentifier}` : ''} saved (sha256 ${ref.sha256.slice(0, 12)}…)`, evidence: [ref] };
  },
});

const TagsSchema = z.object({ arns: z.array(z.string()), tags: z.record(z.string(), z.string()) });

export const tagDatabase = rdsStep({
  name: 'tagDatabase',
  stage: 'evidence',
  description: 'Tag the DB instance (and its cluster) with the incident id, finding, ticket, status and containment time',
  iamActions: ['rds:AddTagsToResource'],
  data: TagsSchema,
  async run({ clients, resource, incident, options, now }) {
    const login = assessLogin(incident, options);
    if (login.legitimate) return { status: 'skipped', summary: legitimateSummary(login) };
    const tags = incidentTags(incident, { 'firebreak:status': 'contained', 'firebreak:contained-at': now().toISOString() });
    const arns = [resource.arn, ...(resource.cluster?.arn ? [resource.cluster.arn] : [])].filter(Boolean);
    for (const arn of arns) await clients.rds.send(new AddTagsToResourceCommand({ ResourceName: arn, Tags: tags }));
    return { status: 'done', summary: `tagged ${arns.join(' and ')} with ${tags.map((t) => t.Key).join(', ')}`, data: { arns, tags: Object.fromEntries(tags.map((t) => [t.Key, t.Value])) } };
  },
});

/** Audit and error logs: PostgreSQL's log (pgaudit writes there too), MySQL/MariaDB's error and audit logs. */
export const AUDIT_OR_ERROR_LOG = /(^|\/)(error|audit)\/|postgres(ql)?\.log|audit|error/i;

async function downloadLog(rds: RDSClient, evidence: EvidenceStore, incidentId: string, instanceId: string, file: DescribeDBLogFilesDetails, maxBytes: number): Promise<{ ref: EvidenceRef; truncated: boolean }> {
  const name = file.LogFileName ?? '';
  const chunks: string[] = [];
  let bytes = 0;
  let marker = '0';
  let pending = true;
  // Paged: DownloadDBLogFilePortion returns at most 1 MB a call; the marker says where the next begins.
  while (pending && bytes < maxBytes) {
    const out = await rds.send(new DownloadDBLogFilePortionCommand({ DBInstanceIdentifier: instanceId, LogFileName: name, Marker: marker }));
    const data = out.LogFileData ?? '';
    chunks.push(data);
    bytes += Buffer.byteLength(data);
    pending = Boolean(out.AdditionalDataPending) && Boolean(out.Marker) && out.Marker !== marker;
    marker = out.Marker ?? marker;
  }
  const text = chunks.join('');
  const ref = await evidence.putText(incidentId, `rds-logs/${instanceId}/${name.replace(/[^A-Za-z0-9._-]/g, '_')}`, text);
  return { ref, truncated: pending };
}

const LogsSchema = z.object({
  files: z.array(z.object({ dbInstanceIdentifier: z.string(), logFileName: z.string(), key: z.string(), bytes: z.number(), truncated: z.boolean() })),
  instances: z.array(z.string()),
});

/** "Review DB Audit Logs to identify leaked data": the audit and error logs, copied while they still exist (RDS rotates them). */
export const downloadDatabaseLogs = rdsStep({
  name: 'downloadDatabaseLogs',
  stage: 'evidence',
  description: 'Download the audit and error logs of the instance (and of the cluster\'s other members) to the evidence bucket, newest first',
  iamActions: ['rds:DescribeDBLogFiles', 'rds:DownloadDBLogFilePortion', ...EVIDENCE_IAM_ACTIONS],
  enabledBy: ['download_logs.enabled'],
  data: LogsSchema,
  async run({ clients, resource, evidence, incident, options }) {
    const login = assessLogin(incident, options);
    if (login.legitimate) return { status: 'skipped', summary: legitimateSummary(login) };
    if (!options.download_logs.enabled) return { status: 'skipped', summary: 'download_logs.enabled is off: download the audit and error logs yourself' };
    const instances = [resource.dbInstanceIdentifier, ...siblingsOf(resource)];
    const files: z.infer<typeof LogsSchema>['files'] = [];
    const refs: EvidenceRef[] = [];
    for (const instanceId of instances) {
      const listed: DescribeDBLogFilesDetails[] = [];
      for await (const page of paginateDescribeDBLogFiles({ client: clients.rds }, { DBInstanceIdentifier: instanceId })) listed.push(...(page.DescribeDBLogFiles ?? []));
      const wanted = listed
        .filter((f) => f.LogFileName && AUDIT_OR_ERROR_LOG.test(f.LogFileName))
        .sort((a, b) => (b.LastWritten ?? 0) - (a.LastWritten ?? 0))
        .slice(0, options.download_logs.max_files);
      for (const file of wanted) {
        const { ref, truncated } = await downloadLog(clients.rds, evidence, incident.incidentId, instanceId, file, options.download_logs.max_bytes_per_file);
        refs.push(ref);
        files.push({ dbInstanceIdentifier: instanceId, logFileName: file.LogFileName ?? '', key: ref.key, bytes: ref.bytes, truncated });
      }
    }
    if (files.length === 0) return { status: 'done', summary: `no audit or error log on ${instances.join(', ')}: enable audit logging (pgaudit; MariaDB audit plugin) to have one`, data: { files, instances } };
    const truncated = files.filter((f) => f.truncated).length;
    return { status: 'done', summary: `${files.length} audit/error log file(s) of ${instances.join(', ')} saved to the evidence bucket${truncated ? ` (${truncated} cut at ${options.download_logs.max_bytes_per_file} bytes)` : ''}`, data: { files, instances }, evidence: refs };
  },
});
