import { DeleteKeyPairCommand, DescribeInstancesCommand, DescribeKeyPairsCommand, EC2Client, ImportKeyPairCommand } from '@aws-sdk/client-ec2';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { deleteKeyPairs, MAX_KEY_PAIRS } from '../../../../shared/playbooks/account/key-pairs.ts';
import { AccountOptionsSchema } from '../../../../shared/playbooks/account/options.ts';
import { aConfig, awsError } from '../../helpers/factories.ts';
import { anAccount, anAccountStepContext, anAccountUndoContext, aRootIncident } from './helpers.ts';

const ec2 = mockClient(EC2Client);
const s3 = mockClient(S3Client);
afterEach(() => {
  ec2.reset();
  s3.reset();
});

const ED25519 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOPsT7Zg0dKm3u0QqLq1w5z6h0H1Vf0m4bGQkCDn0cJ1';
const RSA = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7examplekeymaterial';
const created = new Date('2024-03-01T00:00:00Z');

/** Key pairs and instances per region, as EC2 reports them there (the client's region decides). */
const KEY_PAIRS: Record<string, object[]> = {
  'us-east-1': [
    { KeyName: 'ops-2024', KeyPairId: 'key-0aaa', KeyType: 'ed25519', KeyFingerprint: 'SHA256:aaa', PublicKey: `${ED25519}\n`, CreateTime: created, Tags: [{ Key: 'team', Value: 'ops' }] },
    { KeyName: 'vault-recovery', KeyPairId: 'key-0vvv', KeyType: 'rsa', KeyFingerprint: 'aa:bb', PublicKey: RSA, CreateTime: created, Tags: [{ Key: 'firebreak:exempt', Value: '' }] },
  ],
  'eu-west-1': [{ KeyName: 'legacy', KeyPairId: 'key-0bbb', KeyType: 'rsa', KeyFingerprint: '1f:51' }],
};
const INSTANCES: Record<string, object[]> = {
  'us-east-1': [{ InstanceId: 'i-0aaaaaaaaaaaaaaa1', KeyName: 'ops-2024' }, { InstanceId: 'i-0aaaaaaaaaaaaaaa2' }],
  'eu-west-1': [],
};

async function regionOf(getClient: () => { config: { region: unknown } }): Promise<string> {
  const r = getClient().config.region;
  return typeof r === 'function' ? await (r as () => Promise<string>)() : String(r);
}

function anAccountWithKeyPairs() {
  const describedWith: Array<{ region: string; includePublicKey: boolean }> = [];
  ec2.on(DescribeKeyPairsCommand).callsFake(async (input, getClient) => {
    const region = await regionOf(getClient);
    describedWith.push({ region, includePublicKey: input.IncludePublicKey });
    return { KeyPairs: KEY_PAIRS[region] ?? [] };
  });
  ec2.on(DescribeInstancesCommand).callsFake(async (_input, getClient) => ({ Reservations: [{ Instances: INSTANCES[await regionOf(getClient)] ?? [] }] }));
  return describedWith;
}

/** Every call in order, as [command, region, what]: proves the record is written before anything is deleted. */
async function timeline() {
  const events: string[] = [];
  s3.on(PutObjectCommand).callsFake(async (input) => {
    events.push(`record ${input.Key.split('/').pop()}`);
    return {};
  });
  ec2.on(DeleteKeyPairCommand).callsFake(async (input, getClient) => {
    events.push(`delete ${await regionOf(getClient)}/${input.KeyPairId}`);
    return {};
  });
  return events;
}

describe('Step: deleteKeyPairs', () => {
  it('records every key pair of every enabled region — fingerprint, type, public key, instances — in the evidence bucket, then deletes it', async () => {
    // Prepare
    const describedWith = anAccountWithKeyPairs();
    const events = await timeline();

    // Act
    const result = await deleteKeyPairs.run(anAccountStepContext());

    // Assess: each region's record is written before its key pairs are deleted; the exempt one stays
    expect(describedWith.sort((a, b) => a.region.localeCompare(b.region))).toEqual([
      { region: 'eu-west-1', includePublicKey: true },
      { region: 'us-east-1', includePublicKey: true },
    ]);
    expect(events.indexOf('record eu-west-1.json')).toBeLessThan(events.indexOf('delete eu-west-1/key-0bbb'));
    expect(events.indexOf('record us-east-1.json')).toBeLessThan(events.indexOf('delete us-east-1/key-0aaa'));
    expect(events.filter((e) => e.startsWith('delete')).sort()).toEqual(['delete eu-west-1/key-0bbb', 'delete us-east-1/key-0aaa']);
    const record = JSON.parse(String(s3.commandCalls(PutObjectCommand).find((c) => c.args[0].input.Key!.endsWith('us-east-1.json'))!.args[0].input.Body));
    expect(record.keyPairs.map((k: any) => [k.KeyName, k.KeyFingerprint, k.PublicKey, k.instances])).toEqual([
      ['ops-2024', 'SHA256:aaa', `${ED25519}\n`, ['i-0aaaaaaaaaaaaaaa1']],
      ['vault-recovery', 'aa:bb', RSA, []],
    ]);
    expect(result.status).toBe('done');
    expect(result.data!.keyPairs).toEqual([
      { region: 'eu-west-1', keyName: 'legacy', keyPairId: 'key-0bbb', keyType: 'rsa', fingerprint: '1f:51', tags: {}, instances: [], action: 'deleted' },
      { region: 'us-east-1', keyName: 'ops-2024', keyPairId: 'key-0aaa', keyType: 'ed25519', fingerprint: 'SHA256:aaa', publicKey: ED25519, createTime: created.toISOString(), tags: { team: 'ops' }, instances: ['i-0aaaaaaaaaaaaaaa1'], action: 'deleted' },
      { region: 'us-east-1', keyName: 'vault-recovery', keyPairId: 'key-0vvv', keyType: 'rsa', fingerprint: 'aa:bb', publicKey: RSA, createTime: created.toISOString(), tags: { 'firebreak:exempt': '' }, instances: [], action: 'protected', reason: 'carries the exemption tag firebreak:exempt' },
    ]);
    // The instances still trust the deleted key: the recommendation names them.
    expect(result.data!.recommendation).toContain('authorized_keys');
    expect(result.data!.recommendation).toContain('us-east-1/ops-2024 on i-0aaaaaaaaaaaaaaa1');
    expect(result.evidence!.map((e) => e.key)).toEqual([`incidents/${aRootIncident().incidentId}/account/key-pairs/eu-west-1.json`, `incidents/${aRootIncident().incidentId}/account/key-pairs/us-east-1.json`]);
  });

  it('leaves protected resources alone, and records a region it cannot read (an SCP) or a refused deletion without hiding the others', async () => {
    // Prepare
    ec2.on(DescribeKeyPairsCommand).callsFake(async (_input, getClient) => {
      if ((await regionOf(getClient)) === 'eu-west-1') throw awsError('UnauthorizedOperation', { httpStatusCode: 403, message: 'explicit deny in a service control policy' });
      return { KeyPairs: KEY_PAIRS['us-east-1'] };
    });
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    s3.on(PutObjectCommand).resolves({});
    ec2.on(DeleteKeyPairCommand).rejects(awsError('InvalidKeyPair.InUse', { message: 'in use' }));
    const config = aConfig({ playbook: 'account', mode: 'full', protectedResources: ['arn:aws:ec2:*:*:key-pair/vault-*'] });

    // Act
    const result = await deleteKeyPairs.run(anAccountStepContext({ config }));

    // Assess
    expect(result.data!.regionsNotRead).toEqual([{ region: 'eu-west-1', error: 'UnauthorizedOperation: explicit deny in a service control policy' }]);
    expect(result.data!.keyPairs.map((k) => [k.keyName, k.action, k.reason])).toEqual([
      ['ops-2024', 'failed', 'InvalidKeyPair.InUse: in use'],
      ['vault-recovery', 'protected', 'carries the exemption tag firebreak:exempt'],
    ]);
    expect(result.summary).toContain('1 region(s) could not be read: eu-west-1');
  });

  it('protects a key pair by a protected-resource pattern of its ARN', async () => {
    // Prepare
    ec2.on(DescribeKeyPairsCommand).resolves({ KeyPairs: [{ KeyName: 'vault-recovery', KeyPairId: 'key-0vvv', PublicKey: RSA }] });
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    s3.on(PutObjectCommand).resolves({});
    const config = aConfig({ playbook: 'account', mode: 'full', protectedResources: ['arn:aws:ec2:*:*:key-pair/vault-*'] });

    // Act
    const result = await deleteKeyPairs.run(anAccountStepContext({ config, resource: anAccount({ regions: ['us-east-1'] }) }));

    // Assess
    expect(ec2.commandCalls(DeleteKeyPairCommand)).toHaveLength(0);
    expect(result.data!.keyPairs[0]).toMatchObject({ action: 'protected', reason: 'protected resource (matches arn:aws:ec2:*:*:key-pair/vault-*)' });
  });

  it('deletes at most MAX_KEY_PAIRS in one sweep and lists the rest; a key pair deleted meanwhile counts as deleted', async () => {
    // Prepare
    const pairs = Array.from({ length: MAX_KEY_PAIRS + 2 }, (_, n) => ({ KeyName: `k${n}`, KeyPairId: `key-${n}`, PublicKey: ED25519 }));
    ec2.on(DescribeKeyPairsCommand).resolves({ KeyPairs: pairs });
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    ec2.on(DeleteKeyPairCommand).resolves({});
    ec2.on(DeleteKeyPairCommand, { KeyPairId: 'key-0' }).rejects(awsError('InvalidKeyPair.NotFound'));
    s3.on(PutObjectCommand).resolves({});

    // Act
    const result = await deleteKeyPairs.run(anAccountStepContext({ resource: anAccount({ regions: ['us-east-1'] }) }));

    // Assess
    expect(ec2.commandCalls(DeleteKeyPairCommand)).toHaveLength(MAX_KEY_PAIRS);
    expect(result.data!.keyPairs.filter((k) => k.action === 'left-over-limit').map((k) => k.keyName)).toEqual([`k${MAX_KEY_PAIRS}`, `k${MAX_KEY_PAIRS + 1}`]);
    expect(result.data!.keyPairs[0]).toMatchObject({ keyName: 'k0', action: 'deleted', reason: 'already deleted by someone else' });
    expect(result.summary).toContain(`2 left over the limit of ${MAX_KEY_PAIRS}`);
    expect(result.data!.recommendation).toContain('No running or stopped instance was launched with a deleted key pair');
  });

  it('makes no call at all when the sweep is not enabled', async () => {
    // Act
    const result = await deleteKeyPairs.run(anAccountStepContext({ options: AccountOptionsSchema.parse({}) }));

    // Assess
    expect([...ec2.calls(), ...s3.calls()]).toHaveLength(0);
    expect(result.status).toBe('skipped');
    expect([deleteKeyPairs.minimumMode, deleteKeyPairs.enabledBy]).toEqual(['full', ['credential_sweep.enabled', 'credential_sweep.key_pairs']]);
  });
});

describe('Undo: reimportKeyPairs', () => {
  it('imports each deleted key pair again under its name and tags, in its region, from the public key recorded before deletion', async () => {
    // Prepare: the sweep, as it really ran
    anAccountWithKeyPairs();
    await timeline();
    const swept = await deleteKeyPairs.run(anAccountStepContext());
    ec2.reset();
    const imported: Array<{ region: string; name: string; key: string; tags: unknown }> = [];
    ec2.on(ImportKeyPairCommand).callsFake(async (input, getClient) => {
      imported.push({ region: await regionOf(getClient), name: input.KeyName, key: new TextDecoder().decode(input.PublicKeyMaterial), tags: input.TagSpecifications });
      return { KeyName: input.KeyName, KeyPairId: 'key-0new', KeyFingerprint: 'MD5:imported' };
    });

    // Act
    const released = await deleteKeyPairs.undo!.run(anAccountUndoContext(deleteKeyPairs, swept));

    // Assess: the key pair EC2 returned no public key for cannot come back, and release says so
    expect(imported).toEqual([{ region: 'us-east-1', name: 'ops-2024', key: ED25519, tags: [{ ResourceType: 'key-pair', Tags: [{ Key: 'team', Value: 'ops' }] }] }]);
    expect(released.status).toBe('done');
    expect(released.keptProtections).toEqual(['eu-west-1/legacy: EC2 returned no public key before deletion, so they cannot be imported again (create new key pairs)']);
  });

  it('leaves a key pair of the same name made since as it is', async () => {
    // Prepare
    ec2.on(DescribeKeyPairsCommand).resolves({ KeyPairs: [{ KeyName: 'ops-2024', KeyPairId: 'key-0aaa', PublicKey: ED25519 }] });
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    ec2.on(DeleteKeyPairCommand).resolves({});
    s3.on(PutObjectCommand).resolves({});
    const swept = await deleteKeyPairs.run(anAccountStepContext({ resource: anAccount({ regions: ['us-east-1'] }) }));
    ec2.on(ImportKeyPairCommand).rejects(awsError('InvalidKeyPair.Duplicate'));

    // Act
    const released = await deleteKeyPairs.undo!.run(anAccountUndoContext(deleteKeyPairs, swept));

    // Assess
    expect(released.status).toBe('skipped');
    expect(released.keptProtections).toEqual(['us-east-1/ops-2024: a key pair of that name exists again, left as it is']);
  });
});
