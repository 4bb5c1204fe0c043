import { DescribeVpcEndpointsCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  GetBucketOwnershipControlsCommand,
  GetBucketPolicyCommand,
  GetBucketPolicyStatusCommand,
  GetBucketTaggingCommand,
  GetPublicAccessBlockCommand,
  PutBucketTaggingCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { ListAccessPointsCommand, S3ControlClient } from '@aws-sdk/client-s3-control';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { iamManifestOf, releaseNameOf } from '../../../../shared/engine/index.ts';
import { s3BucketPlaybook } from '../../../../shared/playbooks/s3-bucket/index.ts';
import { ALL_BLOCKED } from '../../../../shared/playbooks/s3-bucket/describe.ts';
import { keepEvidence, tagReleased } from '../../../../shared/playbooks/s3-bucket/release-actions.ts';
import { reportBucketRecommendations } from '../../../../shared/playbooks/s3-bucket/report.ts';
import { ACCOUNT_ID, FIXED_NOW, motoNotImplemented, RESPONDER } from '../../helpers/factories.ts';
import { aDoneOutcome, anS3ReleaseContext, anS3StepContext, BUCKET, policyOf, PRIVATE_STATEMENT } from './helpers.ts';

const s3Mock = mockClient(S3Client);
const controlMock = mockClient(S3ControlClient);
const ec2Mock = mockClient(EC2Client);
afterEach(() => {
  s3Mock.reset();
  controlMock.reset();
  ec2Mock.reset();
});

describe('Step: reportBucketRecommendations', () => {
  beforeEach(() => {
    s3Mock.on(GetPublicAccessBlockCommand).resolves({ PublicAccessBlockConfiguration: ALL_BLOCKED });
    s3Mock.on(GetBucketOwnershipControlsCommand).resolves({ OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] } });
    s3Mock.on(GetBucketPolicyCommand).resolves({ Policy: policyOf(PRIVATE_STATEMENT) });
    s3Mock.on(GetBucketPolicyStatusCommand).resolves({ PolicyStatus: { IsPublic: false } });
    s3Mock.on(PutObjectCommand).resolves({});
  });

  it("reports the bucket's state after containment, its access points, open VPC endpoints and presigned URLs, and saves the report as evidence", async () => {
    // Prepare
    controlMock.on(ListAccessPointsCommand).resolves({ AccessPointList: [{ Name: 'partners', NetworkOrigin: 'Internet', Bucket: BUCKET }, { Name: 'etl', NetworkOrigin: 'VPC', VpcConfiguration: { VpcId: 'vpc-0a1b2c3d4e5f60718' }, Bucket: BUCKET }] });
    ec2Mock.on(DescribeVpcEndpointsCommand).resolves({ VpcEndpoints: [{ VpcEndpointId: 'vpce-1', VpcId: 'vpc-0a1b2c3d4e5f60718', PolicyDocument: JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' }] }) }] });
    const outcomes = { enforceBucketOwnership: aDoneOutcome({ before: 'ObjectWriter', aclGrantsBefore: [] }, 'contain') };
    const ctx = anS3StepContext({ outcomes });

    // Act
    const result = await reportBucketRecommendations.run(ctx);

    // Assess
    expect(controlMock.commandCalls(ListAccessPointsCommand)[0]!.args[0].input).toEqual({ AccountId: ACCOUNT_ID, Bucket: BUCKET });
    expect(ec2Mock.commandCalls(DescribeVpcEndpointsCommand)[0]!.args[0].input).toEqual({ Filters: [{ Name: 'service-name', Values: ['com.amazonaws.us-east-1.s3'] }] });
    expect(result).toMatchObject({
      status: 'done',
      data: {
        state: { publicAccessBlock: ALL_BLOCKED, objectOwnership: 'BucketOwnerEnforced', hasPolicy: true, policyIsPublic: false },
        accessPoints: [{ name: 'partners', networkOrigin: 'Internet' }, { name: 'etl', networkOrigin: 'VPC', vpcId: 'vpc-0a1b2c3d4e5f60718' }],
        vpcEndpoints: [{ id: 'vpce-1', fullAccessPolicy: true }],
        unavailable: [],
      },
    });
    const text = result.data!.recommendations.join('\n');
    expect(text).toMatch(/2 access point\(s\).*partners \[Internet\]/);
    expect(text).toMatch(/multi-region access points/);
    expect(text).toMatch(/VPC endpoint policies that allow every bucket \(vpce-1/);
    expect(text).toMatch(/Presigned URLs stay usable.*ASIA4EXAMPLEETLROLE5 .*is a session — revoke the role's older sessions/);
    expect(text).toMatch(/account \(S3 Control PutPublicAccessBlock\)/);
    expect(text).toMatch(/Keep ACLs disabled/);
    expect(s3Mock.commandCalls(PutObjectCommand)[0]!.args[0].input.Key).toBe(`incidents/${ctx.incident.incidentId}/bucket-report.json`);
  });

  it('says what it could not look at (the emulator has no S3 Control access points) and reports the rest', async () => {
    // Prepare
    controlMock.on(ListAccessPointsCommand).rejects(motoNotImplemented('ListAccessPoints'));
    ec2Mock.on(DescribeVpcEndpointsCommand).resolves({ VpcEndpoints: [] });

    // Act
    const result = await reportBucketRecommendations.run(anS3StepContext());

    // Assess
    expect(result.status).toBe('done');
    expect(result.data!.unavailable).toEqual([expect.stringMatching(/^access points \(S3 Control ListAccessPoints\): not supported here/)]);
    expect(result.data!.accessPoints).toBeUndefined();
    expect(result.data!.recommendations.join('\n')).toMatch(/Limit S3 VPC endpoint policies/);
  });
});

describe('Release: keepEvidence and tagReleased', () => {
  it('keeps the data and the evidence, and says so', async () => {
    const result = await keepEvidence.run(anS3ReleaseContext({ outcomes: { preserveBucketConfiguration: aDoneOutcome(undefined, 'evidence') } }));
    expect(result.keptProtections).toEqual([expect.stringMatching(/data of acme-prod-customer-exports was never touched/), expect.stringMatching(/from preserveBucketConfiguration/)]);
  });

  it('tags the bucket released, with when and by whom, keeping its other tags', async () => {
    // Prepare
    s3Mock.on(GetBucketTaggingCommand).resolves({ TagSet: [{ Key: 'DataClassification', Value: 'confidential' }, { Key: 'firebreak:status', Value: 'contained' }] });
    s3Mock.on(PutBucketTaggingCommand).resolves({});

    // Act
    const result = await tagReleased.run(anS3ReleaseContext());

    // Assess
    const tags = Object.fromEntries(s3Mock.commandCalls(PutBucketTaggingCommand)[0]!.args[0].input.Tagging!.TagSet!.map((t) => [t.Key, t.Value]));
    expect(tags).toEqual({ DataClassification: 'confidential', 'firebreak:status': 'released', 'firebreak:released-at': FIXED_NOW.toISOString(), 'firebreak:released-by': RESPONDER });
    expect(result.status).toBe('done');
  });

  it('does not tag released while a restore failed', async () => {
    const result = await tagReleased.run(anS3ReleaseContext({ released: { restoreBucketPolicy: { stage: 'contain', status: 'failed', summary: 'x', attempts: 1 } } }));
    expect(result.status).toBe('skipped');
    expect(s3Mock.calls()).toHaveLength(0);
  });

  it('is skipped when the bucket is gone', async () => {
    expect((await tagReleased.run(anS3ReleaseContext({ resource: undefined }))).status).toBe('skipped');
  });
});

describe('Playbook: compromised S3 bucket', () => {
  it('runs in the order of the seeds: contain, then evidence, then investigate', async () => {
    expect((await s3BucketPlaybook.load()).steps.map((s) => `${s.stage}:${s.name}`)).toEqual([
      'contain:blockBucketPublicAccess',
      'contain:blockAccountPublicAccess',
      'contain:enforceBucketOwnership',
      'contain:removePublicPolicyStatements',
      'evidence:preserveBucketConfiguration',
      'evidence:tagBucket',
      'investigate:reviewBucketManagementEvents',
      'investigate:reviewBucketDataEvents',
      'investigate:assessSourceAuthorisation',
      'investigate:reportBucketRecommendations',
    ]);
  });

  it('releases ACLs first (Block Public Access still ignores public grants), then Block Public Access, then the policy S3 would refuse under BlockPublicPolicy', async () => {
    expect((await s3BucketPlaybook.load()).release.map(releaseNameOf)).toEqual([
      'restoreObjectOwnership',
      'restoreAccountPublicAccessBlock',
      'restoreBucketPublicAccessBlock',
      'restoreBucketPolicy',
      'keepEvidence',
      'tagReleased',
    ]);
  });

  it('never deletes data: no object action but the evidence PutObject, and the account-level block only when configured', async () => {
    // Act
    const manifest = iamManifestOf(await s3BucketPlaybook.load());
    const actions = manifest.flatMap((s) => s.actions);

    // Assess
    expect(actions.filter((a) => /^s3:(Delete|Put|Get)Object/.test(a))).toEqual([]);
    expect(manifest.filter((s) => s.actions.includes('s3:PutAccountPublicAccessBlock')).map((s) => s.enabledBy)).toEqual([['account_block_public_access'], ['account_block_public_access']]);
    expect(manifest.find((s) => s.sid === 'reviewBucketDataEvents')!.enabledBy).toEqual(['data_events_event_data_store']);
  });
});
