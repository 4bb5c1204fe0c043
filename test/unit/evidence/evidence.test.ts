import { createHash } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { EvidenceStore } from '../../../shared/evidence/index.ts';
import type { EvidenceRef } from '../../../shared/vocabulary/index.ts';
import { anS3Client, awsError, EVIDENCE_BUCKET } from '../helpers/factories.ts';

const s3Mock = mockClient(S3Client);
afterEach(() => s3Mock.reset());

const sha256 = (text: string) => createHash('sha256').update(text).digest();

describe('Class: EvidenceStore', () => {
  it("writes text into the incident's folder with its SHA-256 for S3 to verify", async () => {
    // Prepare
    s3Mock.on(PutObjectCommand).resolves({ VersionId: 'v1' });
    const store = new EvidenceStore(anS3Client(), EVIDENCE_BUCKET);

    // Act (typed as the ledger records it: a step's evidence is the store's ref, unchanged)
    const ref: EvidenceRef = await store.putText('inc-0123456789abcdef', 'console-output.txt', 'login: root');

    // Assess
    const [call] = s3Mock.commandCalls(PutObjectCommand);
    expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(1);
    expect(call!.args[0].input).toMatchObject({
      Bucket: EVIDENCE_BUCKET,
      Key: 'incidents/inc-0123456789abcdef/console-output.txt',
      ContentType: 'text/plain; charset=utf-8',
      ChecksumSHA256: sha256('login: root').toString('base64'),
      Metadata: { 'firebreak-incident-id': 'inc-0123456789abcdef', 'firebreak-sha256': sha256('login: root').toString('hex') },
    });
    expect(Buffer.from(call!.args[0].input.Body as Buffer).toString('utf8')).toBe('login: root');
    expect(ref).toEqual({
      bucket: EVIDENCE_BUCKET,
      key: 'incidents/inc-0123456789abcdef/console-output.txt',
      sha256: sha256('login: root').toString('hex'),
      bytes: 11,
      versionId: 'v1',
    });
  });

  it('writes JSON pretty-printed as application/json', async () => {
    // Prepare
    s3Mock.on(PutObjectCommand).resolves({});
    const store = new EvidenceStore(anS3Client(), EVIDENCE_BUCKET);
    const value = { instanceId: 'i-0a1b2c3d4e5f67890', groups: ['sg-1'] };

    // Act
    const ref = await store.putJson('inc-1', 'instance-metadata.json', value);

    // Assess
    const input = s3Mock.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(input.ContentType).toBe('application/json');
    expect(JSON.parse(Buffer.from(input.Body as Buffer).toString('utf8'))).toEqual(value);
    expect(ref.sha256).toBe(sha256(JSON.stringify(value, null, 2)).toString('hex'));
    expect(ref).not.toHaveProperty('versionId');
  });

  it('writes bytes with the content type it is given', async () => {
    // Prepare
    s3Mock.on(PutObjectCommand).resolves({});
    const store = new EvidenceStore(anS3Client(), EVIDENCE_BUCKET);

    // Act
    const ref = await store.putBytes('inc-1', 'console-screenshot.jpg', Buffer.from([0xff, 0xd8, 0xff]), 'image/jpeg');

    // Assess
    expect(s3Mock.commandCalls(PutObjectCommand)[0]!.args[0].input).toMatchObject({ Key: 'incidents/inc-1/console-screenshot.jpg', ContentType: 'image/jpeg' });
    expect(ref.bytes).toBe(3);
  });

  it('lets an S3 failure through to the step', async () => {
    // Prepare
    s3Mock.on(PutObjectCommand).rejects(awsError('AccessDenied', { httpStatusCode: 403 }));
    const store = new EvidenceStore(anS3Client(), EVIDENCE_BUCKET);

    // Act
    const put = store.putText('inc-1', 'x.txt', 'x');

    // Assess
    await expect(put).rejects.toMatchObject({ name: 'AccessDenied' });
  });
});
