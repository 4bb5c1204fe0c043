import {
  CreateBucketCommand,
  GetBucketOwnershipControlsCommand,
  GetBucketPolicyCommand,
  GetBucketTaggingCommand,
  GetObjectCommand,
  GetPublicAccessBlockCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutBucketTaggingCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
} from '@aws-sdk/client-s3';
import { CreateRoleCommand } from '@aws-sdk/client-iam';
import { CreateAccessPointCommand, DeletePublicAccessBlockCommand as DeleteAccountBlockCommand, GetPublicAccessBlockCommand as GetAccountBlockCommand, PutPublicAccessBlockCommand as PutAccountBlockCommand, S3ControlClient } from '@aws-sdk/client-s3-control';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { incidentIdFor } from '../../shared/findings/index.ts';
import { loadFixture, newFindingId, type FindingEvent } from '../../scripts/lib/findings.ts';
import { drainAll, endpoint, outputs, world } from './support.ts';

const main = outputs.firebreak;
const s3Function = main.playbooks['s3-bucket'].function_name as string;
const ledgerTable = main.ledger_table_name as string;

const suffix = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

/** A GuardDuty S3 fixture rewritten to name a bucket (and actor) of the emulator: account, region, ids and times. */
function bucketFinding(fixture: string, target: { accountId: string; bucket: string; userName?: string }): FindingEvent {
  const event = structuredClone(loadFixture(fixture));
  const now = new Date().toISOString();
  const d = event.detail;
  const oldName = d.resource.s3BucketDetails[0].name as string;
  event.id = randomUUID();
  event.account = target.accountId;
  event.time = now.replace(/\.\d{3}Z$/, 'Z');
  d.accountId = target.accountId;
  d.id = newFindingId();
  d.createdAt = now;
  d.updatedAt = now;
  d.resource.s3BucketDetails[0].name = target.bucket;
  d.resource.s3BucketDetails[0].arn = `arn:aws:s3:::${target.bucket}`;
  if (target.userName) d.resource.accessKeyDetails.userName = target.userName;
  d.title = String(d.title).replaceAll(oldName, target.bucket);
  return event;
}

const statement = (sid: string, principal: unknown, condition?: unknown) =>
  `{"Sid": "${sid}", "Effect": "Allow", "Principal": ${JSON.stringify(principal)}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::BUCKET/*"${condition ? `, "Condition": ${JSON.stringify(condition)}` : ''}}`;

async function publicBucket(accountId: string) {
  const bucket = `fb-e2e-s3-${suffix()}`;
  await world.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const policy = `{
  "Version": "2012-10-17",
  "Statement": [
    ${statement('Partners', { AWS: `arn:aws:iam::${accountId}:root` }).replace('BUCKET', bucket)},
    ${statement('PublicRead', '*').replace('BUCKET', bucket)},
    ${statement('OfficeOnly', { AWS: '*' }, { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }).replace('BUCKET', bucket)}
  ]
}`;
  await world.s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: policy }));
  await world.s3.send(new PutBucketOwnershipControlsCommand({ Bucket: bucket, OwnershipControls: { Rules: [{ ObjectOwnership: 'ObjectWriter' }] } }));
  await world.s3.send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet: [{ Key: 'Team', Value: 'data' }] } }));
  await world.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'exports/customers.csv', Body: 'id,name\n1,Ada\n' }));
  return { bucket, policy };
}

async function bucketState(bucket: string) {
  const block = await world.s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket })).then(
    (o) => o.PublicAccessBlockConfiguration,
    (e: { name?: string }) => (e.name === 'NoSuchPublicAccessBlockConfiguration' ? null : Promise.reject(e)),
  );
  const ownership = await world.s3.send(new GetBucketOwnershipControlsCommand({ Bucket: bucket })).then(
    (o) => o.OwnershipControls?.Rules?.[0]?.ObjectOwnership ?? null,
    (e: { name?: string }) => (e.name === 'OwnershipControlsNotFoundError' ? null : Promise.reject(e)),
  );
  const policy = await world.s3.send(new GetBucketPolicyCommand({ Bucket: bucket })).then(
    (o) => o.Policy ?? null,
    (e: { name?: string }) => (e.name === 'NoSuchBucketPolicy' ? null : Promise.reject(e)),
  );
  const tagSet = await world.s3.send(new GetBucketTaggingCommand({ Bucket: bucket })).then(
    (o) => o.TagSet ?? [],
    (e: { name?: string }) => (e.name === 'NoSuchTagSet' ? [] : Promise.reject(e)),
  );
  const tags = Object.fromEntries(tagSet.map((t) => [t.Key!, t.Value!]));
  return { block, ownership, policy, tags };
}

function firebreakCli(...args: string[]) {
  const out = spawnSync(process.execPath, ['scripts/firebreak.ts', ...args], {
    encoding: 'utf8',
    env: { ...process.env, AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
  });
  return { code: out.status, stdout: out.stdout, stderr: out.stderr };
}

const sids = (policy: string | null) => (JSON.parse(policy ?? '{"Statement":[]}').Statement as Array<{ Sid: string }>).map((s) => s.Sid);

describe('Playbook: compromised S3 bucket, end to end through the Terraform-deployed pipeline', () => {
  it('blocks public access, disables ACLs, removes only the public statement, tags the bucket and keeps the evidence; release restores each', async () => {
    // Prepare: a bucket with a public, a private and an IP-restricted statement; the role GuardDuty names
    const accountId = await world.accountId();
    const { bucket, policy } = await publicBucket(accountId);
    const role = `etl-export-${suffix()}`;
    await world.iam.send(new CreateRoleCommand({ RoleName: role, AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] }) }));
    const event = bucketFinding('s3-exfiltration-anomalousbehavior', { accountId, bucket, userName: role });
    const incidentId = incidentIdFor(accountId, event.detail.id, bucket);

    // Act
    await world.putFinding(event);
    await drainAll(s3Function);

    // Assess: the ledger
    const record = await world.ledger(ledgerTable).get(incidentId);
    expect(record?.status, JSON.stringify(record?.steps, null, 1)).toBe('contained');
    expect(record!.isolatedAt).toBeTruthy();

    // Assess: AWS state — every Block Public Access setting on, ACLs disabled
    const contained = await bucketState(bucket);
    expect(contained.block).toEqual({ BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true });
    expect(contained.ownership).toBe('BucketOwnerEnforced');
    // …the public statement gone; the private and the condition-restricted ones kept, as written
    expect(sids(contained.policy)).toEqual(['Partners', 'OfficeOnly']);
    for (const line of policy.split('\n').filter((l) => l.includes('"Partners"') || l.includes('"OfficeOnly"'))) expect(contained.policy).toContain(line.trim().replace(/,$/, ''));
    // …tagged, the owner's tags kept
    expect(contained.tags).toMatchObject({ Team: 'data', 'firebreak:incident-id': incidentId, 'firebreak:status': 'contained' });
    // …the data left in place
    const object = await world.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'exports/customers.csv' }));
    expect(await object.Body!.transformToString()).toBe('id,name\n1,Ada\n');

    // Assess: the configuration from before is evidence
    const saved = record!.steps.preserveBucketConfiguration!;
    expect(saved.status).toBe('done');
    const ref = saved.evidence![0]!;
    const evidence = JSON.parse(await (await world.s3.send(new GetObjectCommand({ Bucket: ref.bucket, Key: ref.key }))).Body!.transformToString());
    expect(evidence.beforeContainment).toMatchObject({ name: bucket, policy, objectOwnership: 'ObjectWriter', publicAccessBlock: null, tags: { Team: 'data' } });

    // Assess: what the emulator cannot serve is recorded as failed, unsupported, and the rest completed
    expect(record!.steps.reviewBucketManagementEvents).toMatchObject({ status: 'failed', error: { unsupported: true } }); // LookupEvents
    expect(record!.steps.assessSourceAuthorisation).toMatchObject({ status: 'failed', error: { unsupported: true } }); // SimulatePrincipalPolicy
    expect(record!.steps.reviewBucketDataEvents).toMatchObject({ status: 'skipped', data: { visible: false } });
    expect(record!.steps.reportBucketRecommendations).toMatchObject({ status: 'done' });
    expect(record!.steps.blockAccountPublicAccess).toMatchObject({ status: 'skipped' });

    // Act: GuardDuty publishes the finding again — nothing is done twice
    await world.putFinding({ ...event, id: randomUUID(), detail: { ...event.detail, service: { ...event.detail.service, count: 3 } } });
    await drainAll(s3Function);
    expect(sids((await bucketState(bucket)).policy)).toEqual(['Partners', 'OfficeOnly']);

    // Act: a responder releases the incident
    const released = firebreakCli('release', incidentId, '--reason', 'False positive: partner share SEC-77', '--table', ledgerTable);

    // Assess: each setting as it was before containment; tagged released; evidence kept
    expect(released.code, released.stderr + released.stdout).toBe(0);
    const after = await bucketState(bucket);
    expect(after.block).toBeNull();
    expect(after.ownership).toBe('ObjectWriter');
    expect(after.policy).toBe(policy);
    expect(after.tags).toMatchObject({ Team: 'data', 'firebreak:status': 'released', 'firebreak:released-by': expect.any(String) });
    expect((await world.ledger(ledgerTable).get(incidentId))?.status).toBe('released');
    await expect(world.s3.send(new GetObjectCommand({ Bucket: ref.bucket, Key: ref.key }))).resolves.toBeTruthy();
  });

  it('restores the Block Public Access a bucket had and removes the ownership controls it did not have', async () => {
    // Prepare: a bucket whose Block Public Access someone partly disabled (the finding), no policy
    const accountId = await world.accountId();
    const bucket = `fb-e2e-s3-${suffix()}`;
    await world.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const partial = { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: false, RestrictPublicBuckets: false };
    await world.s3.send(new PutPublicAccessBlockCommand({ Bucket: bucket, PublicAccessBlockConfiguration: partial }));
    // moto creates buckets without ownership controls (AWS creates them BucketOwnerEnforced since April 2023)
    expect((await bucketState(bucket)).ownership).toBeNull();
    const event = bucketFinding('s3-bucketblockpublicaccessdisabled', { accountId, bucket });
    // GuardDuty rates it 2, below the pipeline's min_severity (4): raised so this finding is acted on.
    event.detail.severity = 5;
    const incidentId = incidentIdFor(accountId, event.detail.id, bucket);

    // Act
    await world.putFinding(event);
    await drainAll(s3Function);

    // Assess
    const record = await world.ledger(ledgerTable).get(incidentId);
    expect(record?.status, JSON.stringify(record?.steps, null, 1)).toBe('contained');
    expect(record!.steps.removePublicPolicyStatements).toMatchObject({ status: 'skipped' });
    expect((await bucketState(bucket)).block).toEqual({ BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true });
    expect((await bucketState(bucket)).ownership).toBe('BucketOwnerEnforced');

    // Act
    const released = firebreakCli('release', incidentId, '--reason', 'change was approved: CHG-12', '--table', ledgerTable);

    // Assess
    expect(released.code, released.stderr + released.stdout).toBe(0);
    const after = await bucketState(bucket);
    expect(after.block).toEqual(partial);
    expect(after.ownership).toBeNull();
  });

  it('with account_block_public_access, also blocks public access for the whole account through S3 Control, and release restores what the account had; the report names the access points', async () => {
    // Prepare: the fb-full pipeline (account_block_public_access = true); the account partly blocked; a bucket with an access point
    const full = outputs.full;
    const accountId = await world.accountId();
    const control = new S3ControlClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, endpointProvider: () => ({ url: new URL(endpoint) }) });
    const accountBefore = { BlockPublicAcls: true, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: false };
    await control.send(new PutAccountBlockCommand({ AccountId: accountId, PublicAccessBlockConfiguration: accountBefore }));
    const { bucket, policy } = await publicBucket(accountId);
    await control.send(new CreateAccessPointCommand({ AccountId: accountId, Name: `partners-${suffix()}`, Bucket: bucket }));
    const event = bucketFinding('s3-exfiltration-anomalousbehavior', { accountId, bucket });
    const incidentId = incidentIdFor(accountId, event.detail.id, bucket);
    try {
      // Act
      await world.putFinding(event, full.event_bus_name);
      await drainAll(full.playbooks['s3-bucket'].function_name);

      // Assess
      const record = await world.ledger(full.ledger_table_name).get(incidentId);
      expect(record?.status, JSON.stringify(record?.steps, null, 1)).toBe('contained');
      expect(record!.steps.blockAccountPublicAccess).toMatchObject({ status: 'done', data: { accountId, before: accountBefore } });
      expect((await control.send(new GetAccountBlockCommand({ AccountId: accountId }))).PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true });
      expect(record!.steps.reportBucketRecommendations!.data).toMatchObject({ accessPoints: [{ name: expect.stringMatching(/^partners-/), networkOrigin: 'Internet' }] });

      // Act
      const released = firebreakCli('release', incidentId, '--reason', 'pen test over: SEC-91', '--table', full.ledger_table_name);

      // Assess
      expect(released.code, released.stderr + released.stdout).toBe(0);
      expect((await control.send(new GetAccountBlockCommand({ AccountId: accountId }))).PublicAccessBlockConfiguration).toEqual(accountBefore);
      expect((await bucketState(bucket)).policy).toBe(policy);
    } finally {
      await control.send(new DeleteAccountBlockCommand({ AccountId: accountId }));
    }
  });
});
