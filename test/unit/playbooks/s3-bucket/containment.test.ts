import {
  DeleteBucketOwnershipControlsCommand,
  DeleteBucketPolicyCommand,
  DeletePublicAccessBlockCommand,
  GetBucketOwnershipControlsCommand,
  GetBucketPolicyCommand,
  GetBucketPolicyStatusCommand,
  GetPublicAccessBlockCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutPublicAccessBlockCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  DeletePublicAccessBlockCommand as DeleteAccountBlockCommand,
  GetPublicAccessBlockCommand as GetAccountBlockCommand,
  PutPublicAccessBlockCommand as PutAccountBlockCommand,
  S3ControlClient,
} from '@aws-sdk/client-s3-control';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  blockAccountPublicAccess,
  blockBucketPublicAccess,
  enforceBucketOwnership,
  removePublicPolicyStatements,
} from '../../../../shared/playbooks/s3-bucket/containment.ts';
import { ALL_BLOCKED, captureBucket } from '../../../../shared/playbooks/s3-bucket/describe.ts';
import { ACCOUNT_ID, awsError } from '../../helpers/factories.ts';
import { aBucket, anS3Options, anS3StepContext, anS3UndoContext, BUCKET, MIXED_POLICY, OFFICE_STATEMENT, OWNER_ID, policyOf, PRIVATE_STATEMENT, PUBLIC_STATEMENT } from './helpers.ts';

const s3Mock = mockClient(S3Client);
const controlMock = mockClient(S3ControlClient);
afterEach(() => {
  s3Mock.reset();
  controlMock.reset();
});

const SOME_BLOCKED = { BlockPublicAcls: true, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: false };
const noBlock = () => awsError('NoSuchPublicAccessBlockConfiguration', { httpStatusCode: 404 });
const inputs = <T>(command: new (...args: never[]) => T) => s3Mock.commandCalls(command as never).map((c) => (c.args[0] as { input: unknown }).input);

describe('Step: blockBucketPublicAccess', () => {
  it('turns on every Block Public Access setting of the bucket and records that it had none', async () => {
    // Prepare
    s3Mock.on(PutPublicAccessBlockCommand).resolves({});

    // Act
    const result = await blockBucketPublicAccess.run(anS3StepContext());

    // Assess
    expect(inputs(PutPublicAccessBlockCommand)).toEqual([{ Bucket: BUCKET, PublicAccessBlockConfiguration: ALL_BLOCKED }]);
    expect(result).toMatchObject({ status: 'done', data: { before: null } });
  });

  it('is skipped when the bucket already blocked everything', async () => {
    // Act
    const result = await blockBucketPublicAccess.run(anS3StepContext({ resource: aBucket({ publicAccessBlock: ALL_BLOCKED }) }));

    // Assess
    expect(result.status).toBe('skipped');
    expect(inputs(PutPublicAccessBlockCommand)).toEqual([]);
  });

  it("keeps the first delivery's settings as the before, not Firebreak's own, when an earlier put went unrecorded", async () => {
    // Prepare: captured with some settings; the bucket is already fully blocked now
    const ctx = anS3StepContext({ resource: aBucket({ publicAccessBlock: ALL_BLOCKED }), capture: captureBucket(aBucket({ publicAccessBlock: SOME_BLOCKED })) });

    // Act
    const result = await blockBucketPublicAccess.run(ctx);

    // Assess
    expect(result).toMatchObject({ status: 'done', data: { before: SOME_BLOCKED } });
    expect(inputs(PutPublicAccessBlockCommand)).toEqual([]);
  });

  describe('Undo: restoreBucketPublicAccessBlock', () => {
    it('removes the settings when the bucket had none', async () => {
      // Prepare
      s3Mock.on(PutPublicAccessBlockCommand).resolves({});
      const result = await blockBucketPublicAccess.run(anS3StepContext());
      s3Mock.on(GetPublicAccessBlockCommand).resolves({ PublicAccessBlockConfiguration: ALL_BLOCKED });
      s3Mock.on(DeletePublicAccessBlockCommand).resolves({});

      // Act
      const undone = await blockBucketPublicAccess.undo!.run(anS3UndoContext(blockBucketPublicAccess, result));

      // Assess
      expect(undone.status).toBe('done');
      expect(inputs(DeletePublicAccessBlockCommand)).toEqual([{ Bucket: BUCKET }]);
    });

    it('puts back the settings the bucket had', async () => {
      // Prepare
      s3Mock.on(PutPublicAccessBlockCommand).resolves({});
      const result = await blockBucketPublicAccess.run(anS3StepContext({ resource: aBucket({ publicAccessBlock: SOME_BLOCKED }) }));
      s3Mock.on(GetPublicAccessBlockCommand).resolves({ PublicAccessBlockConfiguration: ALL_BLOCKED });

      // Act
      await blockBucketPublicAccess.undo!.run(anS3UndoContext(blockBucketPublicAccess, result));

      // Assess
      expect(inputs(PutPublicAccessBlockCommand).at(-1)).toEqual({ Bucket: BUCKET, PublicAccessBlockConfiguration: SOME_BLOCKED });
    });

    it('leaves alone settings someone changed since containment', async () => {
      // Prepare
      s3Mock.on(PutPublicAccessBlockCommand).resolves({});
      const result = await blockBucketPublicAccess.run(anS3StepContext());
      s3Mock.on(GetPublicAccessBlockCommand).resolves({ PublicAccessBlockConfiguration: SOME_BLOCKED });

      // Act
      const undone = await blockBucketPublicAccess.undo!.run(anS3UndoContext(blockBucketPublicAccess, result));

      // Assess
      expect(undone).toMatchObject({ status: 'skipped', summary: expect.stringMatching(/changed since containment/) });
      expect(inputs(DeletePublicAccessBlockCommand)).toEqual([]);
      expect(inputs(PutPublicAccessBlockCommand)).toHaveLength(1);
    });
  });
});

describe('Step: blockAccountPublicAccess', () => {
  it('is skipped unless configured: only the bucket is blocked by default', async () => {
    // Act
    const result = await blockAccountPublicAccess.run(anS3StepContext());

    // Assess
    expect(result.status).toBe('skipped');
    expect(controlMock.calls()).toHaveLength(0);
  });

  it("turns on the account's Block Public Access through S3 Control when configured, recording what the account had", async () => {
    // Prepare
    controlMock.on(GetAccountBlockCommand).rejects(noBlock());
    controlMock.on(PutAccountBlockCommand).resolves({});

    // Act
    const result = await blockAccountPublicAccess.run(anS3StepContext({ options: anS3Options({ account_block_public_access: true }) }));

    // Assess
    expect(controlMock.commandCalls(PutAccountBlockCommand).map((c) => c.args[0].input)).toEqual([{ AccountId: ACCOUNT_ID, PublicAccessBlockConfiguration: ALL_BLOCKED }]);
    expect(result).toMatchObject({ status: 'done', data: { accountId: ACCOUNT_ID, before: null } });
  });

  it('is skipped when the account already blocks everything', async () => {
    // Prepare
    controlMock.on(GetAccountBlockCommand).resolves({ PublicAccessBlockConfiguration: ALL_BLOCKED });

    // Act
    const result = await blockAccountPublicAccess.run(anS3StepContext({ options: anS3Options({ account_block_public_access: true }) }));

    // Assess
    expect(result.status).toBe('skipped');
    expect(controlMock.commandCalls(PutAccountBlockCommand)).toHaveLength(0);
  });

  it('undo puts back what the account had, or removes the settings when it had none', async () => {
    // Prepare
    controlMock.on(PutAccountBlockCommand).resolves({});
    controlMock.on(GetAccountBlockCommand).resolvesOnce({ PublicAccessBlockConfiguration: SOME_BLOCKED }).rejectsOnce(noBlock());
    const options = anS3Options({ account_block_public_access: true });
    const hadSome = await blockAccountPublicAccess.run(anS3StepContext({ options }));
    const hadNone = await blockAccountPublicAccess.run(anS3StepContext({ options }));
    controlMock.on(GetAccountBlockCommand).resolves({ PublicAccessBlockConfiguration: ALL_BLOCKED });
    controlMock.on(DeleteAccountBlockCommand).resolves({});

    // Act
    await blockAccountPublicAccess.undo!.run(anS3UndoContext(blockAccountPublicAccess, hadSome));
    await blockAccountPublicAccess.undo!.run(anS3UndoContext(blockAccountPublicAccess, hadNone));

    // Assess
    expect(controlMock.commandCalls(PutAccountBlockCommand).at(-1)!.args[0].input).toEqual({ AccountId: ACCOUNT_ID, PublicAccessBlockConfiguration: SOME_BLOCKED });
    expect(controlMock.commandCalls(DeleteAccountBlockCommand).map((c) => c.args[0].input)).toEqual([{ AccountId: ACCOUNT_ID }]);
  });
});

describe('Step: enforceBucketOwnership', () => {
  it('disables ACLs with BucketOwnerEnforced and records the ownership and ACL grants from before', async () => {
    // Prepare
    s3Mock.on(PutBucketOwnershipControlsCommand).resolves({});

    // Act
    const result = await enforceBucketOwnership.run(anS3StepContext());

    // Assess
    expect(inputs(PutBucketOwnershipControlsCommand)).toEqual([{ Bucket: BUCKET, OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] } }]);
    expect(result).toMatchObject({ status: 'done', data: { before: 'ObjectWriter', aclGrantsBefore: [{ grantee: `CanonicalUser:${OWNER_ID}`, permission: 'FULL_CONTROL' }] } });
  });

  it('is skipped when ACLs were already disabled', async () => {
    const result = await enforceBucketOwnership.run(anS3StepContext({ resource: aBucket({ objectOwnership: 'BucketOwnerEnforced' }) }));
    expect(result.status).toBe('skipped');
  });

  it("records S3's refusal while the bucket ACL grants others, with the recommendation, and changes nothing", async () => {
    // Prepare
    const grants = [
      { grantee: `CanonicalUser:${OWNER_ID}`, permission: 'FULL_CONTROL' },
      { grantee: 'Group:http://acs.amazonaws.com/groups/s3/LogDelivery', permission: 'WRITE' },
    ];
    s3Mock.on(PutBucketOwnershipControlsCommand).rejects(awsError('InvalidBucketAclWithObjectOwnership', { httpStatusCode: 400 }));

    // Act
    const result = await enforceBucketOwnership.run(anS3StepContext({ resource: aBucket({ acl: { ownerId: OWNER_ID, grants } }) }));

    // Assess
    expect(result.status).toBe('skipped');
    expect(result.summary).toMatch(/LogDelivery WRITE/);
    expect(result.summary).toMatch(/move those grants to the bucket policy/);
  });

  describe('Undo: restoreObjectOwnership', () => {
    it('puts back the ownership from before and says the ACL grants apply again', async () => {
      // Prepare
      s3Mock.on(PutBucketOwnershipControlsCommand).resolves({});
      const result = await enforceBucketOwnership.run(anS3StepContext());
      s3Mock.on(GetBucketOwnershipControlsCommand).resolves({ OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] } });

      // Act
      const undone = await enforceBucketOwnership.undo!.run(anS3UndoContext(enforceBucketOwnership, result));

      // Assess
      expect(inputs(PutBucketOwnershipControlsCommand).at(-1)).toEqual({ Bucket: BUCKET, OwnershipControls: { Rules: [{ ObjectOwnership: 'ObjectWriter' }] } });
      expect(undone.summary).toMatch(/grants made before containment apply again/);
    });

    it('removes the ownership controls when the bucket had none', async () => {
      // Prepare
      s3Mock.on(PutBucketOwnershipControlsCommand).resolves({});
      const result = await enforceBucketOwnership.run(anS3StepContext({ resource: aBucket({ objectOwnership: null }) }));
      s3Mock.on(GetBucketOwnershipControlsCommand).resolves({ OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] } });
      s3Mock.on(DeleteBucketOwnershipControlsCommand).resolves({});

      // Act
      await enforceBucketOwnership.undo!.run(anS3UndoContext(enforceBucketOwnership, result));

      // Assess
      expect(inputs(DeleteBucketOwnershipControlsCommand)).toEqual([{ Bucket: BUCKET }]);
    });

    it('leaves an ownership someone changed since containment', async () => {
      // Prepare
      s3Mock.on(PutBucketOwnershipControlsCommand).resolves({});
      const result = await enforceBucketOwnership.run(anS3StepContext());
      s3Mock.on(GetBucketOwnershipControlsCommand).resolves({ OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerPreferred' }] } });

      // Act
      const undone = await enforceBucketOwnership.undo!.run(anS3UndoContext(enforceBucketOwnership, result));

      // Assess
      expect(undone.status).toBe('skipped');
      expect(inputs(PutBucketOwnershipControlsCommand)).toHaveLength(1);
    });
  });
});

describe('Step: removePublicPolicyStatements', () => {
  it('removes only the public statement, keeping the private and the IP-restricted ones byte for byte', async () => {
    // Prepare
    s3Mock.on(PutBucketPolicyCommand).resolves({});
    s3Mock.on(GetBucketPolicyStatusCommand).resolves({ PolicyStatus: { IsPublic: false } });

    // Act
    const result = await removePublicPolicyStatements.run(anS3StepContext());

    // Assess
    const [put] = inputs(PutBucketPolicyCommand) as Array<{ Bucket: string; Policy: string }>;
    expect(put).toEqual({ Bucket: BUCKET, Policy: policyOf(PRIVATE_STATEMENT, OFFICE_STATEMENT) });
    expect(result).toMatchObject({
      status: 'done',
      data: { before: MIXED_POLICY, after: policyOf(PRIVATE_STATEMENT, OFFICE_STATEMENT), removed: [{ index: 1, sid: 'PublicRead', public: true }], publicAfter: false },
    });
    expect(result.data!.kept.map((v) => v.sid)).toEqual(['EtlWrites', 'OfficeOnly']);
  });

  it('deletes the policy when every statement is public (S3 refuses a policy without statements)', async () => {
    // Prepare
    s3Mock.on(DeleteBucketPolicyCommand).resolves({});

    // Act
    const result = await removePublicPolicyStatements.run(anS3StepContext({ resource: aBucket({ policy: policyOf(PUBLIC_STATEMENT) }) }));

    // Assess
    expect(inputs(DeleteBucketPolicyCommand)).toEqual([{ Bucket: BUCKET }]);
    expect(inputs(PutBucketPolicyCommand)).toEqual([]);
    expect(result).toMatchObject({ status: 'done', data: { after: null } });
  });

  it('changes nothing when no statement grants public access', async () => {
    // Act
    const result = await removePublicPolicyStatements.run(anS3StepContext({ resource: aBucket({ policy: policyOf(PRIVATE_STATEMENT, OFFICE_STATEMENT) }) }));

    // Assess
    expect(result.status).toBe('skipped');
    expect(s3Mock.calls()).toHaveLength(0);
  });

  it('is skipped for a bucket without a policy', async () => {
    const { policy: _none, ...bucket } = aBucket();
    expect((await removePublicPolicyStatements.run(anS3StepContext({ resource: bucket }))).status).toBe('skipped');
  });

  it('says S3 still calls the policy public when it does', async () => {
    // Prepare
    s3Mock.on(PutBucketPolicyCommand).resolves({});
    s3Mock.on(GetBucketPolicyStatusCommand).resolves({ PolicyStatus: { IsPublic: true } });

    // Act
    const result = await removePublicPolicyStatements.run(anS3StepContext());

    // Assess
    expect(result.summary).toMatch(/S3 still calls the policy public/);
  });

  it('fails, never guessing, on a policy it cannot read', async () => {
    await expect(removePublicPolicyStatements.run(anS3StepContext({ resource: aBucket({ policy: 'not json' }) }))).rejects.toMatchObject({ code: 'UnreadablePolicy', retryable: false });
  });

  describe('Undo: restoreBucketPolicy', () => {
    it('puts the saved policy back when the policy is still the one containment left', async () => {
      // Prepare
      s3Mock.on(PutBucketPolicyCommand).resolves({});
      s3Mock.on(GetBucketPolicyStatusCommand).resolves({ PolicyStatus: { IsPublic: false } });
      const result = await removePublicPolicyStatements.run(anS3StepContext());
      // S3 may hand the policy back re-formatted: the same JSON counts as unchanged.
      s3Mock.on(GetBucketPolicyCommand).resolves({ Policy: JSON.stringify(JSON.parse(policyOf(PRIVATE_STATEMENT, OFFICE_STATEMENT))) });

      // Act
      const undone = await removePublicPolicyStatements.undo!.run(anS3UndoContext(removePublicPolicyStatements, result));

      // Assess
      expect(undone.status).toBe('done');
      expect(inputs(PutBucketPolicyCommand).at(-1)).toEqual({ Bucket: BUCKET, Policy: MIXED_POLICY });
    });

    it('puts the saved policy back after containment deleted it', async () => {
      // Prepare
      s3Mock.on(DeleteBucketPolicyCommand).resolves({});
      const only = policyOf(PUBLIC_STATEMENT);
      const result = await removePublicPolicyStatements.run(anS3StepContext({ resource: aBucket({ policy: only }) }));
      s3Mock.on(GetBucketPolicyCommand).rejects(awsError('NoSuchBucketPolicy', { httpStatusCode: 404 }));
      s3Mock.on(PutBucketPolicyCommand).resolves({});

      // Act
      await removePublicPolicyStatements.undo!.run(anS3UndoContext(removePublicPolicyStatements, result));

      // Assess
      expect(inputs(PutBucketPolicyCommand)).toEqual([{ Bucket: BUCKET, Policy: only }]);
    });

    it('records and leaves a policy someone changed since containment', async () => {
      // Prepare
      s3Mock.on(PutBucketPolicyCommand).resolves({});
      s3Mock.on(GetBucketPolicyStatusCommand).resolves({ PolicyStatus: { IsPublic: false } });
      const result = await removePublicPolicyStatements.run(anS3StepContext());
      s3Mock.on(GetBucketPolicyCommand).resolves({ Policy: policyOf(PRIVATE_STATEMENT) });

      // Act
      const undone = await removePublicPolicyStatements.undo!.run(anS3UndoContext(removePublicPolicyStatements, result));

      // Assess
      expect(undone).toMatchObject({ status: 'skipped', data: { changedSince: true } });
      expect(inputs(PutBucketPolicyCommand)).toHaveLength(1);
    });
  });
});
