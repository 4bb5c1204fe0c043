// GuardDuty findings other projects published (test/fixtures/guardduty/published/, see its
// README): what arrives in practice, placeholders and all. Every one is either acted on by
// the right playbook, ignored (a sample, or a type no playbook handles), or — only where the
// finding is malformed in something Firebreak acts on — rejected, with the reason below.
// The directory is read when the tests are collected: a finding added there is tested at once.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InvalidFindingError } from '../../../shared/errors/index.ts';
import { parseMessage, responderResourceType, type ParsedMessage, type PlaybookName } from '../../../shared/findings/index.ts';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'guardduty', 'published');
const PRESENT = existsSync(join(DIR, 'expected.json'));

/** One line of expected.json: facts read off `detail` as published (null where absent; `archived` may be a string). */
interface Expected {
  file: string;
  resourceType: string | null;
  type: string | null;
  sample: boolean;
  archived: boolean | string | null;
  accountId: string | null;
  region: string | null;
}

const EXPECTED: Expected[] = PRESENT ? JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) : [];
const FILES: string[] = PRESENT ? readdirSync(DIR).filter((f) => f.endsWith('.json') && f !== 'expected.json').sort() : [];
const bodyOf = (file: string): string => readFileSync(join(DIR, file), 'utf8');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const detailOf = (file: string): any => JSON.parse(bodyOf(file)).detail ?? {};

/**
 * Published findings the parser rightly rejects: each is malformed in what Firebreak acts on
 * or keys its records on (the EventBridge envelope, the account, the finding itself), so a
 * rejection — recorded with the body for a responder — is the right answer, not a parser bug.
 */
const MALFORMED: Record<string, { because: string; reason: RegExp }> = {
  'aws-gd-waf-acl-ec2-sshbruteforce.json': {
    because: 'published as {region, detail} only: no EventBridge envelope (id, source, detail-type, account, time), and the detail has no accountId or region',
    reason: /^event\.id:/,
  },
  'cisco-ec2-c-cactivity-b-dns.json': {
    because: 'accountId redacted to "id": the account is where Firebreak would act, and what its records are keyed on',
    reason: /^detail\.accountId: account id must be 12 digits$/,
  },
  // (Files of the corpus may be left out for their licence; an entry here for an absent file is harmless.)
  'elastic-container-runtime-dockersocketaccessed.json': {
    because: 'accountId anonymised to 9 digits ("123456789")',
    reason: /^detail\.accountId: account id must be 12 digits$/,
  },
  'panther-analysis-adminpermissions-no-resource.json': {
    because: 'no resource at all (the API model requires Finding.Resource): nothing to route, not even to ignore as unhandled',
    reason: /^detail\.resource:/,
  },
  // The four stix-shifter findings were anonymised to 11-digit accounts; their `archived` is also the string "false"
  // (an SDK-shape conversion), which stays strict: archived is a gate that decides whether Firebreak acts.
  'stix-shifter-ec2-rdpbruteforce.json': { because: 'accountId of 11 digits', reason: /^detail\.accountId: account id must be 12 digits$/ },
  'stix-shifter-iam-cloudtrailloggingdisabled.json': { because: 'accountId of 11 digits', reason: /^detail\.accountId: account id must be 12 digits$/ },
  // A sample by the marker inside additionalInfo.value only, but its account is malformed before that matters.
  'stix-shifter-rds-maliciousipcaller-failedlogin.json': { because: 'accountId of 11 digits', reason: /^detail\.accountId: account id must be 12 digits$/ },
  'stix-shifter-s3-toripcaller.json': { because: 'accountId of 11 digits', reason: /^detail\.accountId: account id must be 12 digits$/ },
  'stix-shifter-ecs-fragment.json': {
    because: 'a fragment: resource and schemaVersion only, no finding id, account, region, type, severity or service',
    reason: /^detail\.(accountId|id|type):/,
  },
  'streamalert-empty-detail.json': { because: 'the envelope of a finding with "detail": {}', reason: /^detail\.accountId:/ },
};

/** How GuardDuty findings route (test/fixtures/guardduty/README.md): by resource type, and by userType for access keys. */
const PLAYBOOK_OF_TYPE: Record<string, PlaybookName> = {
  Instance: 'ec2-instance',
  S3Bucket: 's3-bucket',
  ECSCluster: 'ecs-task',
  Container: 'container',
  RDSDBInstance: 'rds-instance',
};
const PLAYBOOK_OF_USER_TYPE: Record<string, PlaybookName> = { IAMUser: 'iam-user', FederatedUser: 'iam-user', AssumedRole: 'iam-role', Root: 'account' };

function playbookFor(e: Expected): PlaybookName | undefined {
  if (e.resourceType === 'AccessKey') return PLAYBOOK_OF_USER_TYPE[detailOf(e.file).resource?.accessKeyDetails?.userType];
  return e.resourceType ? PLAYBOOK_OF_TYPE[e.resourceType] : undefined;
}

const wellFormed = EXPECTED.filter((e) => !(e.file in MALFORMED));
const samples = wellFormed.filter((e) => e.sample);
const handled = wellFormed.filter((e) => !e.sample && playbookFor(e));
const unhandled = wellFormed.filter((e) => !e.sample && !playbookFor(e));
const malformed = EXPECTED.filter((e) => e.file in MALFORMED);

const parsedOf = (file: string): ParsedMessage => parseMessage(bodyOf(file));
const rejectionOf = (file: string): InvalidFindingError => {
  try {
    parsedOf(file);
  } catch (error) {
    if (error instanceof InvalidFindingError) return error;
    throw error;
  }
  throw new Error(`expected ${file} to be rejected, but it parsed`);
};

describe.skipIf(!PRESENT)('Function: parseMessage on published GuardDuty findings', () => {
  it('has an expectation for every published file, and a file for every expectation', () => {
    // Prepare
    const expected = EXPECTED.map((e) => e.file).sort();

    // Act
    const unexpected = FILES.filter((f) => !expected.includes(f));
    const missing = expected.filter((f) => !FILES.includes(f));

    // Assess
    expect(unexpected).toEqual([]);
    expect(missing).toEqual([]);
  });

  it.each(samples.map((e) => [e.file, e] as const))('ignores the sample %s, naming the finding for the record', (file, e) => {
    // Prepare
    const detail = detailOf(file);

    // Act
    const parsed = parsedOf(file);

    // Assess
    expect(parsed).toEqual({
      kind: 'ignored',
      finding: {
        why: 'sample',
        reason: expect.any(String),
        findingId: detail.id,
        findingType: e.type,
        resourceType: e.resourceType,
        accountId: e.accountId,
        region: e.region,
        title: expect.any(String),
      },
    });
  });

  it.each(handled.map((e) => [e.file, playbookFor(e)!, e] as const))('contains %s with the %s playbook, in its account and region', (file, playbook, e) => {
    // Prepare
    const detail = detailOf(file);

    // Act
    const parsed = parsedOf(file);

    // Assess
    expect(parsed.kind).toBe('findings');
    const incidents = parsed.kind === 'findings' ? parsed.incidents : [];
    expect(incidents.length).toBeGreaterThan(0);
    for (const incident of incidents) {
      expect(incident).toMatchObject({
        playbook,
        origin: 'guardduty',
        findingId: detail.id,
        findingType: e.type,
        accountId: e.accountId,
        region: e.region,
        archived: e.archived,
        sample: false,
        resource: { type: responderResourceType(detail.resource) },
      });
    }
  });

  it.each(unhandled.map((e) => [e.file, e] as const))('ignores %s, which no playbook handles, as unhandled', (file, e) => {
    // Act
    const parsed = parsedOf(file);

    // Assess
    expect(parsed).toMatchObject({ kind: 'ignored', finding: { why: 'unhandled', resourceType: e.resourceType, findingType: e.type, accountId: e.accountId, region: e.region } });
  });

  it.each(malformed.map((e) => [e.file, MALFORMED[e.file]!.because, MALFORMED[e.file]!.reason] as const))('rejects %s, which is malformed: %s', (file, _because, reason) => {
    // Act
    const error = rejectionOf(file);

    // Assess
    expect(error.reasons.some((r) => reason.test(r))).toBe(true);
  });

  it('acts on the id each handled finding names, read from the finding itself', () => {
    // Act
    const ids = handled.map((e) => {
      const parsed = parsedOf(e.file);
      return parsed.kind === 'findings' ? parsed.incidents.map((i) => i.resource.id) : [];
    });

    // Assess
    handled.forEach((e, n) => {
      const resource = detailOf(e.file).resource;
      const named = e.resourceType === 'Instance' ? [resource.instanceDetails.instanceId] : e.resourceType === 'AccessKey' ? [resource.accessKeyDetails.userName] : ids[n];
      expect(ids[n]).toEqual(named);
    });
  });

  it.skipIf(!FILES.includes('alertlogic-ec2-maliciousipcaller-custom.json'))('keeps the VPC of a published instance whose network interface names no ENI id', () => {
    // Act
    const parsed = parsedOf('alertlogic-ec2-maliciousipcaller-custom.json');

    // Assess
    expect(parsed).toMatchObject({ kind: 'findings', incidents: [{ resource: { id: 'i-0961e0b3af8b3ec39', hints: { eniIds: [], vpcId: 'vpc-b5a96fcd' } } }] });
  });
});
