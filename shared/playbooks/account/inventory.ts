import { GetOpenIDConnectProviderCommand, ListOpenIDConnectProvidersCommand, ListSAMLProvidersCommand, paginateListPolicies, paginateListRoles, type IAMClient } from '@aws-sdk/client-iam';
import type { Instance } from '@aws-sdk/client-ec2';
import * as z from 'zod';
import { instancesWhere } from '../../actions/instances.ts';
import { ec2In, mapLimit } from '../../actions/regions.ts';
import { classifyError } from '../../errors/index.ts';
import { accountStep } from './types.ts';

const REGION_CONCURRENCY = 4;
/** Items of each kind kept in the ledger's record; the evidence bucket has them all. */
const RECORDED_PER_KIND = 25;
const DAY_MS = 24 * 3600 * 1000;

const ItemSchema = z.object({ kind: z.string(), id: z.string(), createdAt: z.string(), detail: z.string().optional() });
type Item = z.infer<typeof ItemSchema>;

const InventorySchema = z.object({
  since: z.string(),
  counts: z.record(z.string(), z.number()),
  /** The first items of each kind, newest first (all of them: in `evidenceKey`). */
  items: z.array(ItemSchema),
  evidenceKey: z.string(),
  notRead: z.array(z.object({ what: z.string(), error: z.string() })).default([]),
});

export type RecentInventory = z.infer<typeof InventorySchema>;

/**
 * The inventory of what was created recently — in every mode, nothing changed: IAM users, roles,
 * access keys, customer-managed policies (created or given a new default version), SAML and OIDC
 * identity providers, and EC2 instances launched in every enabled region, within
 * `inventory_days` before the finding. Who created each is named where AWS says it without
 * CloudTrail (an Auto Scaling group, a CloudFormation stack, a launch template, the key pair and
 * instance profile); the CloudTrail review names the callers. Written whole to the evidence
 * bucket; the report lists it.
 */
export const inventoryRecentChanges = accountStep({
  name: 'inventoryRecentChanges',
  stage: 'evidence',
  description: 'List the IAM principals, keys, policies, identity providers and EC2 instances created in the recent days, written to the evidence bucket',
  iamActions: ['iam:ListRoles', 'iam:ListPolicies', 'iam:ListSAMLProviders', 'iam:ListOpenIDConnectProviders', 'iam:GetOpenIDConnectProvider', 'ec2:DescribeInstances', 's3:PutObject'],
  data: InventorySchema,
  async run({ options, incident, clients, resource, evidence, now }) {
    const from = Date.parse(incident.createdAt);
    const since = new Date((Number.isFinite(from) ? Math.min(from, now().getTime()) : now().getTime()) - options.inventory_days * DAY_MS);
    const recent = (d: Date | string | undefined) => d !== undefined && new Date(d).getTime() >= since.getTime();
    const notRead: { what: string; error: string }[] = [];
    const guarded = async <R>(what: string, read: () => Promise<R[]>): Promise<R[]> => {
      try {
        return await read();
      } catch (error) {
        const c = classifyError(error);
        notRead.push({ what, error: `${c.code}: ${c.message.slice(0, 200)}` });
        return [];
      }
    };

    const users: Item[] = resource.users.filter((u) => recent(u.createDate)).map((u) => ({ kind: 'iam-user', id: u.arn || u.userName, createdAt: u.createDate! }));
    const keys: Item[] = resource.users.flatMap((u) =>
      u.accessKeys.filter((k) => recent(k.createDate)).map((k) => ({ kind: 'access-key', id: k.accessKeyId, createdAt: k.createDate!, detail: `of IAM user ${u.userName}, ${k.status}` })),
    );
    const [roles, policies, providers, instances] = await Promise.all([
      guarded('IAM roles', () => recentRoles(clients.iam, recent)),
      guarded('IAM policies', () => recentPolicies(clients.iam, recent)),
      guarded('identity providers', () => recentProviders(clients.iam, recent)),
      mapLimit(resource.regions, REGION_CONCURRENCY, (region) =>
        guarded(`EC2 instances in ${region}`, async () => {
          const all = await instancesWhere(ec2In(clients, region), [{ Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] }], 1000);
          return all.filter((i) => recent(i.LaunchTime)).map((i) => instanceItem(region, i));
        }),
      ).then((r) => r.flat()),
    ]);
    const all = [...users, ...keys, ...roles, ...policies, ...providers, ...instances].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    const counts = { 'iam-user': users.length, 'access-key': keys.length, 'iam-role': roles.length, 'iam-policy': policies.length, 'identity-provider': providers.length, 'ec2-instance': instances.length };
    const ref = await evidence.putJson(incident.incidentId, 'account/recent-inventory.json', {
      accountId: resource.accountId,
      since: since.toISOString(),
      until: now().toISOString(),
      regions: resource.regions,
      regionsLeftOut: resource.regionsLeftOut,
      counts,
      items: all,
      notRead,
    });
    const kept = Object.keys(counts).flatMap((kind) => all.filter((i) => i.kind === kind).slice(0, RECORDED_PER_KIND));
    const total = all.length;
    return {
      status: 'done',
      summary:
        `${total} principal(s) and resource(s) created since ${since.toISOString()} (${Object.entries(counts)
          .filter(([, n]) => n)
          .map(([k, n]) => `${n} ${k}`)
          .join(', ') || 'none'}), across ${resource.regions.length} region(s); written to ${ref.key}` + (notRead.length ? `; could not read: ${notRead.map((n) => n.what).join(', ')}` : ''),
      data: { since: since.toISOString(), counts, items: kept, evidenceKey: ref.key, notRead },
      evidence: [ref],
    };
  },
});

type Recent = (d: Date | string | undefined) => boolean;

async function recentRoles(iam: IAMClient, recent: Recent): Promise<Item[]> {
  const items: Item[] = [];
  for await (const page of paginateListRoles({ client: iam }, {})) {
    for (const r of page.Roles ?? []) {
      if (!recent(r.CreateDate)) continue;
      items.push({ kind: 'iam-role', id: r.Arn ?? r.RoleName ?? '', createdAt: r.CreateDate!.toISOString(), ...(r.Path?.startsWith('/aws-service-role/') ? { detail: 'service-linked role (created by an AWS service)' } : {}) });
    }
  }
  return items;
}

/** Customer-managed policies created in the window, or whose default version changed in it (a new version is a way in too). */
async function recentPolicies(iam: IAMClient, recent: Recent): Promise<Item[]> {
  const items: Item[] = [];
  for await (const page of paginateListPolicies({ client: iam }, { Scope: 'Local' })) {
    for (const p of page.Policies ?? []) {
      const created = recent(p.CreateDate);
      if (!created && !recent(p.UpdateDate)) continue;
      items.push({
        kind: 'iam-policy',
        id: p.Arn ?? p.PolicyName ?? '',
        createdAt: (created ? p.CreateDate! : p.UpdateDate!).toISOString(),
        detail: created ? `${p.AttachmentCount ?? 0} attachment(s)` : `default version ${p.DefaultVersionId ?? '?'} set recently; ${p.AttachmentCount ?? 0} attachment(s)`,
      });
    }
  }
  return items;
}

async function recentProviders(iam: IAMClient, recent: Recent): Promise<Item[]> {
  const [saml, oidc] = await Promise.all([iam.send(new ListSAMLProvidersCommand({})), iam.send(new ListOpenIDConnectProvidersCommand({}))]);
  const items: Item[] = (saml.SAMLProviderList ?? []).filter((p) => recent(p.CreateDate)).map((p) => ({ kind: 'identity-provider', id: p.Arn ?? '', createdAt: p.CreateDate!.toISOString(), detail: 'SAML' }));
  // ListOpenIDConnectProviders names them only: their creation date needs one read each.
  const oidcItems = await mapLimit(oidc.OpenIDConnectProviderList ?? [], 5, async (p) => {
    const out = await iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: p.Arn }));
    return recent(out.CreateDate) ? [{ kind: 'identity-provider', id: p.Arn ?? '', createdAt: out.CreateDate!.toISOString(), detail: `OIDC ${out.Url ?? ''}`.trim() }] : [];
  });
  return [...items, ...oidcItems.flat()];
}

/** An instance, with what EC2 itself says of who launched it (tags AWS sets; key pair and profile). */
function instanceItem(region: string, i: Instance): Item {
  const tag = (k: string) => i.Tags?.find((t) => t.Key === k)?.Value;
  const by = [
    tag('aws:autoscaling:groupName') && `Auto Scaling group ${tag('aws:autoscaling:groupName')}`,
    tag('aws:cloudformation:stack-name') && `CloudFormation stack ${tag('aws:cloudformation:stack-name')}`,
    tag('aws:ec2launchtemplate:id') && `launch template ${tag('aws:ec2launchtemplate:id')}`,
    tag('aws:ec2spot:fleet-request-id') && `Spot fleet ${tag('aws:ec2spot:fleet-request-id')}`,
  ].filter(Boolean);
  const detail = [
    `${region}, ${i.InstanceType ?? '?'}, ${i.State?.Name ?? '?'}`,
    by.length ? `launched by ${by.join(', ')}` : 'launcher: see the CloudTrail review (RunInstances)',
    i.KeyName ? `key pair ${i.KeyName}` : '',
    i.IamInstanceProfile?.Arn ? `profile ${i.IamInstanceProfile.Arn}` : '',
  ].filter(Boolean);
  return { kind: 'ec2-instance', id: i.InstanceId ?? '', createdAt: i.LaunchTime!.toISOString(), detail: detail.join('; ') };
}
