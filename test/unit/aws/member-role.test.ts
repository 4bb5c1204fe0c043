import { AssumeRoleCommand, type AssumeRoleCommandOutput } from '@aws-sdk/client-sts';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  AccountNotConfiguredError,
  assumedRoleCredentials,
  CLIENTS_OF_SERVICE,
  createClientFactory,
  loadClientsFor,
  MemberRoleUnavailableError,
  memberRoleArn,
  memberSessionArn,
  roleSessionName,
  type MemberRoleSettings,
} from '../../../shared/aws/index.ts';
import { classifyError } from '../../../shared/errors/index.ts';
import { awsError } from '../helpers/factories.ts';

const HOME = '111122223333';
const MEMBER = '444455556666';
const ROLE_ARN = 'arn:aws:iam::444455556666:role/firebreak-responder';
const MEMBERS: MemberRoleSettings = { homeAccountId: HOME, memberAccountIds: [MEMBER], roleName: 'firebreak-responder', externalId: 'firebreak-ext-1', partition: 'aws' };

/** A fake STS: each AssumeRole answers credentials valid for `validForMs` from `now()`, numbered. */
function fakeSts(now: () => number, validForMs = 3600_000) {
  let n = 0;
  const send = vi.fn(async (command: AssumeRoleCommand): Promise<Partial<AssumeRoleCommandOutput>> => {
    n += 1;
    return {
      Credentials: { AccessKeyId: `ASIA${n}`, SecretAccessKey: `secret-${n}`, SessionToken: `token-${n}`, Expiration: new Date(now() + validForMs) },
      AssumedRoleUser: { Arn: `arn:aws:sts::${MEMBER}:assumed-role/firebreak-responder/${command.input.RoleSessionName}`, AssumedRoleId: 'AROA:x' },
    };
  });
  return { send: send as unknown as (c: unknown) => Promise<never>, calls: send.mock.calls };
}

describe('Function: roleSessionName', () => {
  it('carries the incident id, within what STS accepts (2-64 characters of [\\w+=,.@-])', () => {
    // Act & Assess
    expect(roleSessionName('inc-3f9c2e0a1b2c3d4e')).toBe('firebreak-inc-3f9c2e0a1b2c3d4e');
    expect(roleSessionName(undefined)).toBe('firebreak');
    expect(roleSessionName('inc-abc/g2 x')).toBe('firebreak-inc-abc-g2-x');
    const long = roleSessionName(`inc-${'a'.repeat(100)}`);
    expect(long).toHaveLength(64);
    expect(long).toMatch(/^[\w+=,.@-]{2,64}$/);
  });

  it("builds the member role's ARN and its session's ARN (CloudTrail's userIdentity.arn) in the partition", () => {
    expect(memberRoleArn('aws-cn', MEMBER, 'firebreak-responder')).toBe('arn:aws-cn:iam::444455556666:role/firebreak-responder');
    expect(memberSessionArn('aws', MEMBER, 'firebreak-responder', 'inc-1')).toBe('arn:aws:sts::444455556666:assumed-role/firebreak-responder/firebreak-inc-1');
  });
});

describe('Function: assumedRoleCredentials', () => {
  it('assumes the role once with the external id and the session name, and reuses the credentials until shortly before they expire', async () => {
    // Prepare
    let clock = 1_000_000;
    const sts = fakeSts(() => clock);
    const provider = assumedRoleCredentials({ sts, roleArn: ROLE_ARN, accountId: MEMBER, externalId: 'firebreak-ext-1', sessionName: 'firebreak-inc-1', now: () => clock });

    // Act
    const [a, b] = await Promise.all([provider(), provider()]);
    clock += 3600_000 - 301_000; // more than 5 minutes left: still cached
    const c = await provider();
    clock += 2_000; // less than 5 minutes left: renewed
    const d = await provider();

    // Assess
    expect(sts.calls).toHaveLength(2);
    expect(sts.calls[0]![0]).toBeInstanceOf(AssumeRoleCommand);
    expect(sts.calls[0]![0].input).toEqual({ RoleArn: ROLE_ARN, RoleSessionName: 'firebreak-inc-1', DurationSeconds: 3600, ExternalId: 'firebreak-ext-1' });
    expect(a).toBe(b);
    expect(c).toBe(a);
    expect(a).toMatchObject({ accessKeyId: 'ASIA1', secretAccessKey: 'secret-1', sessionToken: 'token-1', accountId: MEMBER });
    expect(d.accessKeyId).toBe('ASIA2');
  });

  it('turns a refusal (missing role, untrusted caller, wrong external id: AccessDenied) into a permanent MemberRoleUnavailableError, and tries again next time', async () => {
    // Prepare
    const send = vi
      .fn()
      .mockRejectedValueOnce(awsError('AccessDenied', { httpStatusCode: 403, message: 'User: arn:aws:sts::111122223333:assumed-role/fn/x is not authorized to perform: sts:AssumeRole' }))
      .mockRejectedValueOnce(awsError('Throttling', { httpStatusCode: 400, message: 'Rate exceeded' }));
    const provider = assumedRoleCredentials({ sts: { send }, roleArn: ROLE_ARN, accountId: MEMBER, externalId: 'e', sessionName: 'firebreak-inc-1' });

    // Act
    const denied = await provider().catch((e: unknown) => e);
    const throttled = await provider().catch((e: unknown) => e);

    // Assess
    expect(denied).toBeInstanceOf(MemberRoleUnavailableError);
    expect(classifyError(denied)).toMatchObject({ code: 'MemberRoleUnavailable', retryable: false });
    expect((denied as Error).message).toContain(`cannot assume ${ROLE_ARN} to act in member account ${MEMBER} (AccessDenied:`);
    expect(classifyError(throttled)).toMatchObject({ code: 'MemberRoleUnavailable', retryable: true });
    expect(send).toHaveBeenCalledTimes(2);
  });
});

describe('Function: createClientFactory (member accounts)', () => {
  // The engine loads a client's package from the IAM actions a step declares.
  beforeAll(() => loadClientsFor(Object.keys(CLIENTS_OF_SERVICE).map((service) => `${service}:*`)));

  it("signs a member account's clients with the member role's credentials, one session per incident; its own account keeps its own credentials", async () => {
    // Prepare
    const sts = fakeSts(() => Date.now());
    const clientsFor = createClientFactory({ members: MEMBERS, sts, credentials: { accessKeyId: 'HOME', secretAccessKey: 'home' } });

    // Act
    const member = clientsFor({ accountId: MEMBER, region: 'eu-west-1', incidentId: 'inc-1' });
    const again = clientsFor({ accountId: MEMBER, region: 'eu-west-1', incidentId: 'inc-1' });
    const other = clientsFor({ accountId: MEMBER, region: 'eu-west-1', incidentId: 'inc-2' });
    const home = clientsFor({ accountId: HOME, region: 'eu-west-1', incidentId: 'inc-3' });
    const memberEc2 = await member.ec2.config.credentials();
    const memberIam = await member.iam.config.credentials();
    const otherEc2 = await other.ec2.config.credentials();
    const homeEc2 = await home.ec2.config.credentials();

    // Assess
    expect(again).toBe(member);
    expect(other).not.toBe(member);
    expect(memberEc2.accessKeyId).toBe('ASIA1');
    expect(memberIam.accessKeyId).toBe('ASIA1');
    expect(otherEc2.accessKeyId).toBe('ASIA2');
    expect(homeEc2.accessKeyId).toBe('HOME');
    expect(sts.calls.map(([c]) => c.input.RoleSessionName)).toEqual(['firebreak-inc-1', 'firebreak-inc-2']);
    expect(sts.calls.every(([c]) => c.input.RoleArn === ROLE_ARN && c.input.ExternalId === 'firebreak-ext-1')).toBe(true);
  });

  it('gives no clients for an account that is neither its own nor a member', () => {
    // Prepare
    const clientsFor = createClientFactory({ members: MEMBERS, sts: fakeSts(() => Date.now()) });

    // Act & Assess
    expect(() => clientsFor({ accountId: '999988887777', region: 'eu-west-1' })).toThrow(AccountNotConfiguredError);
  });

  it("fails a member account's call with the member role's refusal, before anything is sent", async () => {
    // Prepare
    const send = vi.fn().mockRejectedValue(awsError('AccessDenied', { httpStatusCode: 403, message: 'not authorized to perform: sts:AssumeRole' }));
    const clientsFor = createClientFactory({ members: MEMBERS, sts: { send }, endpoint: 'http://127.0.0.1:1', maxAttempts: 1 });

    // Act
    const error = await clientsFor({ accountId: MEMBER, region: 'eu-west-1', incidentId: 'inc-1' })
      .ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0abc'] }))
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(MemberRoleUnavailableError);
    expect(classifyError(error).retryable).toBe(false);
  });
});
