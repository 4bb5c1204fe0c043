import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { DescribeInstancesCommand, EC2Client, StartInstancesCommand } from '@aws-sdk/client-ec2';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { neutraliseSuspects, resourceReview, trailReview, TrailReviewOptionsSchema, type NeutraliseData } from '../../../../shared/actions/identity-review/index.ts';
import { definePlaybook, releaseIncident, runPlaybook } from '../../../../shared/engine/index.ts';
import type { IncidentRecord } from '../../../../shared/ledger/index.ts';
import { EvidenceStore } from '../../../../shared/evidence/index.ts';
import { aConfig, anS3Client, awsError, EVIDENCE_BUCKET, FIXED_NOW, InMemoryLedger, RESPONDER, silentLogger, someClients } from '../../helpers/factories.ts';
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

describe('Identity review through the engine: other regions', () => {
  it("reads us-east-1 too for an incident elsewhere, through the engine's clients for that region", async () => {
    // Prepare
    cloudTrail.on(LookupEventsCommand).resolves({ Events: [] });
    const regions: string[] = [];
    const ledger = new InMemoryLedger();
    const deps = {
      config: aConfig({ playbook: 'iam-user', region: 'eu-west-1' }),
      options: identOptions(),
      clientsFor: ({ region }: { region: string }) => (regions.push(region), someClients()),
      ledger: ledger.asLedger(),
      evidence: new EvidenceStore(anS3Client(), EVIDENCE_BUCKET),
      logger: silentLogger(),
      now: () => FIXED_NOW,
      pacer: { acquire: async () => true },
    };

    // Act
    const result = await runPlaybook(deps, playbook, { ...anIdentIncident(), region: 'eu-west-1' }, { messageId: 'm-2' });

    // Assess
    expect(result.status).toBe('contained');
    expect(regions).toEqual(['eu-west-1', 'us-east-1', 'us-east-1']);
    expect(result.steps.reviewCloudTrail).toMatchObject({ status: 'done', data: { regions: ['eu-west-1', 'us-east-1'] } });
  });

  it('starts again, on release, an instance it stopped in another region, through the release\'s clients for that region', async () => {
    // Prepare: full-mode neutralisation stopped an instance the attacker launched in ap-southeast-1.
    const ec2 = mockClient(EC2Client);
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-0remote000000000', State: { Name: 'stopped' } }] }] });
    const review = resourceReview(identStep, { trail: reviewCloudTrail });
    const neutralise = neutraliseSuspects(identStep, { review });
    const withNeutralise = definePlaybook<Ident>({ ...playbook, steps: [contain, reviewCloudTrail, review, neutralise], release: [neutralise] });
    const recorded: NeutraliseData = { changed: [{ kind: 'instance', id: 'i-0remote000000000', region: 'ap-southeast-1', action: 'stopped', at: FIXED_NOW.toISOString() }], left: [], failed: [] };
    const incident = anIdentIncident();
    const record = {
      incidentId: incident.incidentId,
      incident,
      playbook: 'iam-user',
      status: 'contained',
      capture: { userName: USER },
      steps: { neutraliseSuspects: { stage: 'investigate', status: 'done', summary: 'stopped', attempts: 1, data: recorded } },
    } as unknown as IncidentRecord;
    const regions: string[] = [];

    // Act
    const summary = await releaseIncident(
      {
        ledger: { get: async () => record, beginRelease: async () => ({ claimed: true, record }), recordReleaseStep: async () => undefined, finishRelease: async () => undefined },
        clientsFor: ({ region }) => (regions.push(region), someClients()),
        logger: silentLogger(),
        now: () => FIXED_NOW,
        playbookFor: () => withNeutralise,
      },
      { incidentId: incident.incidentId, reason: 'false positive', reattach: false, requestedBy: RESPONDER, via: 'cli' },
    );

    // Assess
    expect(summary.outcome).toBe('released');
    expect(regions).toEqual(['us-east-1', 'ap-southeast-1']);
    expect(ec2.commandCalls(StartInstancesCommand)[0]!.args[0].input).toEqual({ InstanceIds: ['i-0remote000000000'] });
    ec2.restore();
  });
});
