import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SendOnly } from '../aws/lazy-client.ts';

import type { EvidenceRef } from '../vocabulary/index.ts';

export type { EvidenceRef };

/** IAM actions the evidence store needs. */
export const EVIDENCE_IAM_ACTIONS = ['s3:PutObject'] as const;

/**
 * Writes evidence to the incident's folder of the evidence bucket and returns its
 * SHA-256 for the ledger. S3 verifies the same checksum on arrival.
 *
 * @example
 * ```ts
 * const store = new EvidenceStore(s3, 'firebreak-evidence-…');
 * const ref = await store.putJson('inc-…', 'instance-metadata.json', described);
 * ```
 */
export class EvidenceStore {
  readonly #s3: SendOnly<S3Client>;
  readonly bucket: string;

  constructor(s3: SendOnly<S3Client>, bucket: string) {
    this.#s3 = s3;
    this.bucket = bucket;
  }

  async putJson(incidentId: string, name: string, value: unknown): Promise<EvidenceRef> {
    return this.putText(incidentId, name, JSON.stringify(value, null, 2), 'application/json');
  }

  async putText(incidentId: string, name: string, text: string, contentType = 'text/plain; charset=utf-8'): Promise<EvidenceRef> {
    return this.putBytes(incidentId, name, Buffer.from(text, 'utf8'), contentType);
  }

  async putBytes(incidentId: string, name: string, body: Buffer, contentType: string): Promise<EvidenceRef> {
    const digest = createHash('sha256').update(body).digest();
    const key = `incidents/${incidentId}/${name}`;
    const out = await this.#s3.send(
      new (await import('../aws/sdk/client-s3.ts')).PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentType: contentType,
        ChecksumSHA256: digest.toString('base64'),
        Metadata: { 'firebreak-incident-id': incidentId, 'firebreak-sha256': digest.toString('hex') },
      }),
    );
    return {
      bucket: this.bucket,
      key,
      sha256: digest.toString('hex'),
      bytes: body.length,
      ...(out.VersionId ? { versionId: out.VersionId } : {}),
    };
  }
}
