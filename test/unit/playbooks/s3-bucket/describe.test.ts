import {
  GetBucketAclCommand,
  GetBucketLocationCommand,
  GetBucketOwnershipControlsCommand,
  GetBucketPolicyCommand,
  GetBucketPolicyStatusCommand,
  GetBucketTaggingCommand,
  GetPublicAccessBlockCommand,
  PutBucketTaggingCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { ResourceNotFoundError } from '../../../../shared/errors/index.ts';
import { ALL_BLOCKED, captureBucket, describeBucket, regionOfLocation, S3CaptureSchema } from '../../../../shared/playbooks/s3-bucket/describe.ts';
import { preserveBucketConfiguration, S3_MAX_TAGS, tagBucket } from '../../../../shared/playbooks/s3-bucket/evidence.ts';
import { awsError, EVIDENCE_BUCKET, FIXED_NOW, silentLogger, someClients } from '../../helpers/factories.ts';
import { aBucket, anS3Incident, anS3StepContext, BUCKET, MIXED_POLICY, OWNER_ID } from './helpers.ts';

const s3Mock = mockClient(S3Client);
afterEach(() => s3Mock.reset());

const describeIt = () => describeBucket({ incident: anS3Incident(), clients: someClients(), logger: silentLogger() });

describe('Describe: the bucket', () => {
  it('reads its region, policy and S3 verdict, ACL, Block Public Access, ownership and tags', async () => {
    // Prepare
    s3Mock.on(GetBucketLocationCommand).resolves({ LocationConstraint: 'eu-west-1' });
    s3Mock.on(GetBucketPolicyCommand).resolves({ Policy: MIXED_POLICY });
    s3Mock.on(GetBucketPolicyStatusCommand).resolves({ PolicyStatus: { IsPublic: true } });
    s3Mock.on(GetBucketAclCommand).resolves({
      Owner: { ID: OWNER_ID },
      Grants: [
        { Grantee: { Type: 'CanonicalUser', ID: OWNER_ID }, Permission: 'FULL_CONTROL' },
        { Grantee: { Type: 'Group', URI: 'http://acs.amazonaws.com/groups/global/AllUsers' }, Permission: 'READ' },
      ],
    });
    s3Mock.on(GetPublicAccessBlockCommand).resolves({ PublicAccessBlockConfiguration: ALL_BLOCKED });
    s3Mock.on(GetBucketOwnershipControlsCommand).resolves({ OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerPreferred' }] } });
    s3Mock.on(GetBucketTaggingCommand).resolves({ TagSet: [{ Key: 'DataClassification', Value: 'confidential' }] });

    // Act
    const bucket = await describeIt();

    // Assess
    expect(bucket).toEqual({
      name: BUCKET,
      region: 'eu-west-1',
      policy: MIXED_POLICY,
      policyIsPublic: true,
      acl: {
        ownerId: OWNER_ID,
        grants: [
          { grantee: `CanonicalUser:${OWNER_ID}`, permission: 'FULL_CONTROL' },
          { grantee: 'Group:http://acs.amazonaws.com/groups/global/AllUsers', permission: 'READ' },
        ],
      },
      publicAccessBlock: ALL_BLOCKED,
      objectOwnership: 'BucketOwnerPreferred',
      tags: { DataClassification: 'confidential' },
    });
  });

  it('reads what is not configured as absent: no policy, no Block Public Access, no ownership controls, no tags', async () => {
    // Prepare
    s3Mock.on(GetBucketLocationCommand).resolves({});
    s3Mock.on(GetBucketPolicyCommand).rejects(awsError('NoSuchBucketPolicy', { httpStatusCode: 404 }));
    s3Mock.on(GetBucketPolicyStatusCommand).rejects(awsError('NoSuchBucketPolicy', { httpStatusCode: 404 }));
    s3Mock.on(GetBucketAclCommand).resolves({ Owner: { ID: OWNER_ID }, Grants: [] });
    s3Mock.on(GetPublicAccessBlockCommand).rejects(awsError('NoSuchPublicAccessBlockConfiguration', { httpStatusCode: 404 }));
    s3Mock.on(GetBucketOwnershipControlsCommand).rejects(awsError('OwnershipControlsNotFoundError', { httpStatusCode: 404 }));
    s3Mock.on(GetBucketTaggingCommand).rejects(awsError('NoSuchTagSet', { httpStatusCode: 404 }));

    // Act
    const bucket = await describeIt();

    // Assess
    expect(bucket).toEqual({ name: BUCKET, region: 'us-east-1', acl: { ownerId: OWNER_ID, grants: [] }, publicAccessBlock: null, objectOwnership: null, tags: {} });
  });

  it('says a bucket that is gone is not found', async () => {
    // Prepare
    s3Mock.on(GetBucketLocationCommand).rejects(awsError('NoSuchBucket', { httpStatusCode: 404 }));

    // Act + Assess
    await expect(describeIt()).rejects.toBeInstanceOf(ResourceNotFoundError);
  });

  it('lets any other failure through (access denied is not "gone")', async () => {
    s3Mock.on(GetBucketLocationCommand).rejects(awsError('AccessDenied', { httpStatusCode: 403 }));
    await expect(describeIt()).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it.each([
    [undefined, 'us-east-1'],
    ['', 'us-east-1'],
    ['EU', 'eu-west-1'],
    ['ap-southeast-2', 'ap-southeast-2'],
  ])('reads LocationConstraint %j as %s', (constraint, region) => {
    expect(regionOfLocation(constraint)).toBe(region);
  });

  it('keeps the whole "before" in the capture, readable back through its schema', () => {
    const capture = captureBucket(aBucket());
    expect(S3CaptureSchema.parse(JSON.parse(JSON.stringify(capture)))).toEqual(capture);
  });
});

describe('Step: preserveBucketConfiguration', () => {
  it("saves the configuration the first delivery captured (policy, ACL, Block Public Access, ownership, tags) to the evidence bucket", async () => {
    // Prepare
    s3Mock.on(PutObjectCommand).resolves({});
    const ctx = anS3StepContext();

    // Act
    const result = await preserveBucketConfiguration.run(ctx);

    // Assess
    const put = s3Mock.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(put).toMatchObject({ Bucket: EVIDENCE_BUCKET, Key: `incidents/${ctx.incident.incidentId}/bucket-configuration.json` });
    const saved = JSON.parse(put.Body as string);
    expect(saved.beforeContainment).toMatchObject({ name: BUCKET, policy: MIXED_POLICY, objectOwnership: 'ObjectWriter', publicAccessBlock: null, acl: { ownerId: OWNER_ID } });
    expect(result).toMatchObject({ status: 'done', evidence: [{ key: `incidents/${ctx.incident.incidentId}/bucket-configuration.json` }] });
  });
});

describe('Step: tagBucket', () => {
  it("merges Firebreak's tags with the bucket's own, dropping none", async () => {
    // Prepare
    s3Mock.on(GetBucketTaggingCommand).resolves({ TagSet: [{ Key: 'DataClassification', Value: 'confidential' }, { Key: 'firebreak:status', Value: 'old' }] });
    s3Mock.on(PutObjectCommand).resolves({});
    const ctx = anS3StepContext();

    // Act
    const result = await tagBucket.run(ctx);

    // Assess
    const tagSet = s3Mock.commandCalls(PutBucketTaggingCommand)[0]!.args[0].input.Tagging!.TagSet!;
    const tags = Object.fromEntries(tagSet.map((t) => [t.Key, t.Value]));
    expect(tags).toMatchObject({
      DataClassification: 'confidential',
      'firebreak:incident-id': ctx.incident.incidentId,
      'firebreak:finding-type': 'Exfiltration:S3/AnomalousBehavior',
      'firebreak:status': 'contained',
      'firebreak:contained-at': FIXED_NOW.toISOString(),
    });
    expect(result).toMatchObject({ status: 'done', data: { tags: { 'firebreak:status': 'contained' } } });
  });

  it("is skipped rather than drop an owner's tag when the set would pass S3's 50", async () => {
    // Prepare
    s3Mock.on(GetBucketTaggingCommand).resolves({ TagSet: Array.from({ length: S3_MAX_TAGS - 1 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })) });

    // Act
    const result = await tagBucket.run(anS3StepContext());

    // Assess
    expect(result.status).toBe('skipped');
    expect(result.summary).toMatch(/limit of 50/);
    expect(s3Mock.commandCalls(PutBucketTaggingCommand)).toHaveLength(0);
  });
});
