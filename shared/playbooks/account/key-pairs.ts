import { DeleteKeyPairCommand, DescribeKeyPairsCommand, ImportKeyPairCommand, type EC2Client, type KeyPairInfo } from '@aws-sdk/client-ec2';
import * as z from 'zod';
import { instancesWhere } from '../../actions/instances.ts';
import { ec2In, mapLimit } from '../../actions/regions.ts';
import { matchesPattern } from '../../engine/gates.ts';
import { classifyError, hasErrorCode } from '../../errors/index.ts';
import type { EvidenceRef } from '../../vocabulary/index.ts';
import { SWEEP_SWITCHES, sweepOff } from './options.ts';
import { accountStep } from './types.ts';

/** Regions read at once. */
const REGION_CONCURRENCY = 4;
/** Instances named per key pair in the record (all are in the evidence bucket). */
const INSTANCES_RECORDED = 50;
/**
 * Key pairs one sweep deletes at most: each one's public key is kept in the ledger for release
 * (an RSA 4096 key is ~750 bytes; a DynamoDB item holds 400 KB). Beyond, they are left and listed.
 */
export const MAX_KEY_PAIRS = 250;

const KeyPairRecordSchema = z.object({
  region: z.string(),
  keyName: z.string(),
  keyPairId: z.string().optional(),
  keyType: z.string().optional(),
  fingerprint: z.string().optional(),
  /** The public key as EC2 returned it (IncludePublicKey): what release imports again. */
  publicKey: z.string().optional(),
  createTime: z.string().optional(),
  tags: z.record(z.string(), z.string()).default({}),
  /** Instances launched with it (pending to stopped): their authorized_keys still trust it. */
  instances: z.array(z.string()).default([]),
  action: z.enum(['deleted', 'protected', 'failed', 'left-over-limit']),
  reason: z.string().optional(),
});

const DeleteKeyPairsSchema = z.object({
  keyPairs: z.array(KeyPairRecordSchema),
  /** Regions whose key pairs could not be read (an SCP denying the region, an outage): nothing was deleted there. */
  regionsNotRead: z.array(z.object({ region: z.string(), error: z.string() })).default([]),
  recommendation: z.string(),
});

export type DeletedKeyPairs = z.infer<typeof DeleteKeyPairsSchema>;
type KeyPairRecord = z.infer<typeof KeyPairRecordSchema>;

/**
 * Deletes every EC2 key pair of every enabled region, each only after its fingerprint, type and
 * public key are written to the evidence bucket (and kept in the ledger for release). Deleting a
 * key pair removes it from EC2 only: its public key stays in `authorized_keys` on every instance
 * launched with it, so each record names those instances and the report recommends removing it
 * there. Key pairs of protected resources or carrying the exemption tag are left alone. Runs only
 * in `full` mode with the sweep enabled.
 */
export const deleteKeyPairs = accountStep({
  name: 'deleteKeyPairs',
  stage: 'contain',
  description: 'Delete every EC2 key pair in every enabled region, after recording its fingerprint and public key in the evidence bucket',
  iamActions: ['ec2:DescribeKeyPairs', 'ec2:DescribeInstances', 'ec2:DeleteKeyPair', 's3:PutObject'],
  minimumMode: 'full',
  enabledBy: SWEEP_SWITCHES.keyPairs,
  data: DeleteKeyPairsSchema,
  async run({ options, config, incident, clients, resource, evidence, now }) {
    const off = sweepOff(options, 'key_pairs');
    if (off) return { status: 'skipped', summary: `no key pair was touched: ${off}` };
    const isProtected = (region: string, pair: KeyPairInfo): string | undefined => {
      const tags = Object.fromEntries((pair.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
      if (Object.prototype.hasOwnProperty.call(tags, config.exemptTagKey)) return `carries the exemption tag ${config.exemptTagKey}`;
      const ids = [pair.KeyName ?? '', pair.KeyPairId ?? '', `arn:${incident.partition}:ec2:${region}:${resource.accountId}:key-pair/${pair.KeyName ?? ''}`];
      const pattern = config.protectedResources.find((p) => ids.some((id) => id && matchesPattern(p, id)));
      return pattern ? `protected resource (matches ${pattern})` : undefined;
    };

    const regionsNotRead: { region: string; error: string }[] = [];
    const read = await mapLimit(resource.regions, REGION_CONCURRENCY, async (region) => {
      const ec2 = ec2In(clients, region);
      try {
        const [pairs, instances] = await Promise.all([
          ec2.send(new DescribeKeyPairsCommand({ IncludePublicKey: true })).then((o) => o.KeyPairs ?? []),
          instancesByKey(ec2),
        ]);
        return { region, ec2, pairs, instances };
      } catch (error) {
        const c = classifyError(error);
        regionsNotRead.push({ region, error: `${c.code}: ${c.message.slice(0, 200)}` });
        return undefined;
      }
    });

    let budget = MAX_KEY_PAIRS;
    const evidenceRefs: EvidenceRef[] = [];
    const keyPairs: KeyPairRecord[] = [];
    for (const r of read) {
      if (!r || !r.pairs.length) continue;
      const records: KeyPairRecord[] = r.pairs.map((p) => ({
        region: r.region,
        keyName: p.KeyName ?? '',
        ...(p.KeyPairId ? { keyPairId: p.KeyPairId } : {}),
        ...(p.KeyType ? { keyType: p.KeyType } : {}),
        ...(p.KeyFingerprint ? { fingerprint: p.KeyFingerprint } : {}),
        ...(p.PublicKey ? { publicKey: p.PublicKey.trim() } : {}),
        ...(p.CreateTime ? { createTime: p.CreateTime.toISOString() } : {}),
        tags: Object.fromEntries((p.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
        instances: (r.instances.get(p.KeyName ?? '') ?? []).slice(0, INSTANCES_RECORDED),
        action: 'protected' as const,
      }));
      // The record first: a key pair is never deleted before what identifies it is safe.
      evidenceRefs.push(
        await evidence.putJson(incident.incidentId, `account/key-pairs/${r.region}.json`, {
          region: r.region,
          recordedAt: now().toISOString(),
          keyPairs: r.pairs.map((p) => ({ ...p, instances: r.instances.get(p.KeyName ?? '') ?? [] })),
        }),
      );
      for (const [i, pair] of r.pairs.entries()) {
        const record = records[i]!;
        const protection = isProtected(r.region, pair);
        if (protection) {
          keyPairs.push({ ...record, reason: protection });
          continue;
        }
        if (budget <= 0) {
          keyPairs.push({ ...record, action: 'left-over-limit', reason: `more than ${MAX_KEY_PAIRS} key pairs: delete the rest by hand after recording them` });
          continue;
        }
        budget--;
        try {
          await r.ec2.send(new DeleteKeyPairCommand(pair.KeyPairId ? { KeyPairId: pair.KeyPairId } : { KeyName: pair.KeyName }));
          keyPairs.push({ ...record, action: 'deleted' });
        } catch (error) {
          if (hasErrorCode(error, 'InvalidKeyPair.NotFound')) {
            keyPairs.push({ ...record, action: 'deleted', reason: 'already deleted by someone else' });
            continue;
          }
          const c = classifyError(error);
          // One refused deletion must not hide the record of the others (their public keys are what release needs).
          keyPairs.push({ ...record, action: 'failed', reason: `${c.code}: ${c.message.slice(0, 200)}` });
        }
      }
    }
    const of = (a: KeyPairRecord['action']) => keyPairs.filter((k) => k.action === a);
    const withInstances = of('deleted').filter((k) => k.instances.length);
    const recommendation =
      'Deleting a key pair removes it from EC2 only: its public key stays in ~/.ssh/authorized_keys of every instance launched with it. ' +
      (withInstances.length
        ? `Remove it there (match the fingerprints recorded in the evidence bucket): ${withInstances
            .slice(0, 20)
            .map((k) => `${k.region}/${k.keyName} on ${k.instances.slice(0, 5).join(', ')}${k.instances.length > 5 ? ', …' : ''}`)
            .join('; ')}${withInstances.length > 20 ? '; …' : ''}. `
        : 'No running or stopped instance was launched with a deleted key pair, but instances built from images or copied keys may still trust them. ') +
      'Create new key pairs for the people who need them; release imports the deleted public keys again only if the owners confirm they are not compromised.';
    const failed = of('failed');
    return {
      status: 'done',
      summary:
        `deleted ${of('deleted').length} key pair(s) in ${new Set(of('deleted').map((k) => k.region)).size} region(s) after recording them (${evidenceRefs.length} evidence object(s)); ` +
        `${of('protected').length} protected left` +
        (failed.length ? `; ${failed.length} could not be deleted (${failed.slice(0, 5).map((k) => `${k.region}/${k.keyName}: ${k.reason}`).join('; ')})` : '') +
        (of('left-over-limit').length ? `; ${of('left-over-limit').length} left over the limit of ${MAX_KEY_PAIRS}` : '') +
        (regionsNotRead.length ? `; ${regionsNotRead.length} region(s) could not be read: ${regionsNotRead.map((r) => r.region).join(', ')}` : ''),
      data: { keyPairs, regionsNotRead, recommendation },
      evidence: evidenceRefs,
    };
  },
  undo: {
    name: 'reimportKeyPairs',
    description: 'Import the deleted key pairs again under their names, from the public keys recorded before deletion',
    iamActions: ['ec2:ImportKeyPair', 'ec2:CreateTags'],
    async run({ clients, recorded }) {
      const deleted = recorded.keyPairs.filter((k) => k.action === 'deleted');
      if (!deleted.length) return { status: 'skipped', summary: 'the sweep deleted no key pair: nothing to import' };
      const results = await mapLimit(deleted, REGION_CONCURRENCY, async (k) => {
        if (!k.publicKey) return { region: k.region, keyName: k.keyName, outcome: 'not-restorable' as const };
        const tags = Object.entries(k.tags).filter(([key]) => !key.startsWith('aws:'));
        try {
          const out = await ec2In(clients, k.region).send(
            new ImportKeyPairCommand({
              KeyName: k.keyName,
              PublicKeyMaterial: new TextEncoder().encode(k.publicKey),
              ...(tags.length ? { TagSpecifications: [{ ResourceType: 'key-pair', Tags: tags.map(([Key, Value]) => ({ Key, Value })) }] } : {}),
            }),
          );
          return { region: k.region, keyName: k.keyName, outcome: 'imported' as const, ...(out.KeyPairId ? { keyPairId: out.KeyPairId } : {}), ...(out.KeyFingerprint ? { fingerprint: out.KeyFingerprint } : {}) };
        } catch (error) {
          // A key pair of that name exists again (its owners made a new one): theirs stays.
          if (hasErrorCode(error, 'InvalidKeyPair.Duplicate')) return { region: k.region, keyName: k.keyName, outcome: 'name-taken' as const };
          throw error;
        }
      });
      const of = (o: string) => results.filter((r) => r.outcome === o).map((r) => `${r.region}/${r.keyName}`);
      const kept: string[] = [];
      if (of('not-restorable').length) kept.push(`${of('not-restorable').join(', ')}: EC2 returned no public key before deletion, so they cannot be imported again (create new key pairs)`);
      if (of('name-taken').length) kept.push(`${of('name-taken').join(', ')}: a key pair of that name exists again, left as it is`);
      return {
        status: of('imported').length ? 'done' : 'skipped',
        summary:
          `imported ${of('imported').length} key pair(s) again from their recorded public keys (new key pair ids; an imported key's fingerprint is computed differently from a created one's)` +
          (kept.length ? `; not imported: ${kept.join('; ')}` : ''),
        data: { keyPairs: results },
        ...(kept.length ? { keptProtections: kept } : {}),
      };
    },
  },
});

/** Instances of a region (not terminated) by the key pair they were launched with. */
async function instancesByKey(ec2: EC2Client): Promise<Map<string, string[]>> {
  const instances = await instancesWhere(ec2, [{ Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] }], 1000);
  const byKey = new Map<string, string[]>();
  for (const i of instances) {
    if (!i.KeyName || !i.InstanceId) continue;
    byKey.set(i.KeyName, [...(byKey.get(i.KeyName) ?? []), i.InstanceId]);
  }
  return byKey;
}
