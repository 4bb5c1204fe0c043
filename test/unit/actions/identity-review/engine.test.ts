import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { trailReview, TrailReviewOptionsSchema } from '../../../../shared/actions/identity-review/index.ts';
import { definePlaybook, runPlaybook } from '../../../../shared/engine/index.ts';
import { EvidenceStore } from '../../../../shared/evidence/index.ts';
import { aConfig, anS3Client, awsError, EVIDENCE_BUCKET, FIXED_NOW, InMemoryLedger, silentLogger, someClients } from '../../helpers/factories.ts';
import { anIdentIncident, identOptions, identStep, KEY, readCalls, USER, USER_ARN, type Ident } from './helpers.ts';

const cloudTrail = mockClient(CloudTrailClient);
const s3 = mockClient(S3Client);

beforeEach(() => {
  cloudTrail.reset();
  s3.reset();
  s3.on(PutObjectCommand).resolves({});
});
afterEach(() => {
  cloudTrail.reset();
  s3.reset();
});

const contain = identStep({ name: 'deactivateKey', stage: 'contain', description: 'Deactivate the key (stand-in)', iamActions: [], run: async () => ({ status: 'done', summary: 'deactivated' }) });
const reviewCloudTrail = trailReview(identStep, {
  subjects: ({ resource }) => [
    { attribute: 'AccessKeyId', value: resource.accessKeyId, why: "the finding's access key" },
    { attribute: 'Username', value: resource.userName, why: 'the user' },
  ],
  settings: (o) => o.cloudtrail_review,
});

const playbook = definePlaybook<Ident>({
  name: 'iam-user',
  options: z.object({ cloudtrail_review: TrailReviewOptionsSchema }).loose() as unknown as z.ZodType<Ident['options']>,
  describe: async () => ({ userName: USER, arn: USER_ARN, accessKeyId: KEY }),
  capture: { schema: z.object({ userName: z.string() }), of: (r) => ({ userName: r.userName }) },
  tags: () => ({}),
  identifiers: () => [USER_ARN],
  principals: () => [USER_ARN],
  describeIamActions: [],
  isolationStep: contain,
  steps: [contain, reviewCloudTrail],
  release: [],
});

describe('Identity review through the engine: follow-up deliveries', () => {
  it('contains at once, and finishes the CloudTrail review over three deliveries, resuming from what the ledger kept', async () => {
    // Prepare
    cloudTrail
      .on(LookupEventsCommand)
      .resolvesOnce({ Events: readCalls(50), NextToken: 'page-2' })
      .rejectsOnce(awsError('ThrottlingException'))
      .resolvesOnce({ Events: readCalls(10) })
      .rejectsOnce(awsError('ThrottlingException'))
      .resolvesOnce({ Events: [] });
    const ledger = new InMemoryLedger();
    const deps = {
      config: aConfig({ playbook: 'iam-user' }),
      options: identOptions(),
      clientsFor: () => someClients(),
      ledger: ledger.asLedger(),
      evidence: new EvidenceStore(anS3Client(), EVIDENCE_BUCKET),
      logger: silentLogger(),
      now: () => FIXED_NOW,
      pacer: { acquire: async () => true },
    };
    const incident = anIdentIncident();

    // Act
    const first = await runPlaybook(deps, playbook, incident, { messageId: 'm-1' });
    const second = await runPlaybook(deps, playbook, incident, { messageId: 'm-1' });
    const third = await runPlaybook(deps, playbook, incident, { messageId: 'm-1' });

    // Assess
    expect([first.status, second.status, third.status]).toEqual(['contained', 'contained', 'contained']);
    expect(first.followUpSeconds).toBe(30);
    expect(second.followUpSeconds).toBe(30);
    expect(third.followUpSeconds).toBeUndefined();
    expect(first.reason).toMatch(/waiting on: reviewCloudTrail/);
    const step = ledger.record(incident.incidentId).steps.reviewCloudTrail!;
    expect(step).toMatchObject({ status: 'done', attempts: 3, data: { pages: 3, events: 60, deliveries: 3 } });
    expect(cloudTrail.commandCalls(LookupEventsCommand).map((c) => c.args[0].input.NextToken)).toEqual([undefined, 'page-2', 'page-2', undefined, undefined]);
    // The containment step ran once, at the first delivery.
    expect(ledger.writes.filter((w) => w.method === 'recordStep' && w.args[1] === 'deactivateKey')).toHaveLength(1);
  });
});
