import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { identifyUser } from '../../../../shared/playbooks/iam-user/identify.ts';
import { deactivateExposedKeys, decideOtherKeys } from '../../../../shared/playbooks/iam-user/keys.ts';
import { revokeUserSessions } from '../../../../shared/playbooks/iam-user/sessions.ts';
import { aConfig, ACCOUNT_ID, awsError } from '../../helpers/factories.ts';
import { aResource, aUserIncident, aUserStepContext, FakeAccount, anIamUserOptions, outcomeOf, TEMP_KEY } from './support.ts';

const account = new FakeAccount();
const trail = mockClient(CloudTrailClient);
afterEach(() => {
  account.reset();
  trail.reset();
});

const SESSION = 'deploy-bot';
const ISSUER = 'builder';
const ISSUER_ARN = `arn:aws:iam::${ACCOUNT_ID}:user/ci/${ISSUER}`;
const ISSUER_KEY = 'AKIA4EXAMPLEBUILDER1';
const FEDERATED_ARN = `arn:aws:sts::${ACCOUNT_ID}:federated-user/${SESSION}`;

const federatedIncident = () => aUserIncident({ resource: { type: 'IAMUser', id: SESSION, hints: { userType: 'FederatedUser', accessKeyId: TEMP_KEY, principalId: `${ACCOUNT_ID}:${SESSION}` } } });

/** A CloudTrail event as LookupEvents returns it. */
const trailEvent = (id: string, body: Record<string, unknown>) => ({ EventId: id, EventName: String(body.eventName), EventTime: new Date('2025-06-19T14:30:00Z'), CloudTrailEvent: JSON.stringify({ eventID: id, ...body }) });

const madeWithTheSessionKey = trailEvent('ev-session', {
  eventName: 'ListBuckets',
  eventSource: 's3.amazonaws.com',
  userIdentity: {
    type: 'FederatedUser',
    principalId: `${ACCOUNT_ID}:${SESSION}`,
    arn: FEDERATED_ARN,
    accountId: ACCOUNT_ID,
    accessKeyId: TEMP_KEY,
    sessionContext: { sessionIssuer: { type: 'IAMUser', principalId: 'AIDA4EXAMPLEBUILDER', arn: ISSUER_ARN, accountId: ACCOUNT_ID, userName: ISSUER } },
  },
});

const federationCall = (issuerArn = ISSUER_ARN, key = TEMP_KEY) =>
  trailEvent('ev-gft', {
    eventName: 'GetFederationToken',
    eventSource: 'sts.amazonaws.com',
    userIdentity: { type: issuerArn.endsWith(':root') ? 'Root' : 'IAMUser', principalId: 'AIDA4EXAMPLEBUILDER', arn: issuerArn, accountId: ACCOUNT_ID, accessKeyId: ISSUER_KEY, userName: ISSUER },
    requestParameters: { name: SESSION },
    responseElements: { credentials: { accessKeyId: key, expiration: 'Jun 20, 2025 2:30:00 AM' }, federatedUser: { federatedUserId: `${ACCOUNT_ID}:${SESSION}`, arn: FEDERATED_ARN } },
  });

const byAttribute = (key: string, events: unknown[]) => trail.on(LookupEventsCommand, { LookupAttributes: [{ AttributeKey: key as never, AttributeValue: key === 'AccessKeyId' ? TEMP_KEY : 'GetFederationToken' }] }).resolves({ Events: events as never });

/** Every IAM call that named a user, by name. */
const usersTouched = () => account.iam.calls().map((c) => (c.args[0].input as { UserName?: string }).UserName).filter(Boolean);

describe('Step: identifyUser', () => {
  it('takes the user the finding names, as the first delivery saw it, without reading CloudTrail', async () => {
    // Prepare
    account.addUser('alice.nguyen');
    const { describeUser } = await import('../../../../shared/playbooks/iam-user/describe.ts');
    const user = (await describeUser(aUserStepContext({ resource: aResource(aUserIncident(), undefined) }).clients.iam, 'alice.nguyen'))!;

    // Act
    const result = await identifyUser.run(aUserStepContext({ resource: aResource(aUserIncident(), user) }));

    // Assess
    expect(result).toMatchObject({ status: 'done', data: { userName: 'alice.nguyen', foundBy: 'finding' } });
    expect(trail.calls()).toHaveLength(0);
  });

  describe('a federated user: acts on the IAM user who minted the session, never on a user of that name', () => {
    it('finds the issuer as the sessionIssuer of an event made with the session key', async () => {
      // Prepare: a user named like the session exists, and must not be touched
      account.addUser(SESSION, { keys: [{ id: 'AKIA4EXAMPLEBYSTANDR' }] });
      account.addUser(ISSUER, { path: '/ci/', keys: [{ id: ISSUER_KEY }] });
      trail.on(LookupEventsCommand).resolves({ Events: [] });
      byAttribute('AccessKeyId', [madeWithTheSessionKey]);
      const resource = aResource(federatedIncident());
      const ctx = aUserStepContext({ incident: federatedIncident(), resource });

      // Act
      const result = await identifyUser.run(ctx);
      const outcomes = { identifyUser: outcomeOf(result) };
      const revoked = await revokeUserSessions.run(aUserStepContext({ incident: federatedIncident(), resource, outcomes }));
      const keys = await deactivateExposedKeys.run(aUserStepContext({ incident: federatedIncident(), resource, outcomes }));
      const others = await decideOtherKeys.run(aUserStepContext({ incident: federatedIncident(), resource, outcomes }));

      // Assess
      expect(result).toMatchObject({ status: 'done', data: { userName: ISSUER, userArn: ISSUER_ARN, foundBy: 'sessionIssuer', trailEventId: 'ev-session' } });
      expect(result.summary).toContain(`minted by IAM user ${ISSUER}`);
      expect(revoked.status).toBe('done');
      expect([...account.user(ISSUER).inline.keys()]).toEqual([`FirebreakRevokeOlderSessions-${federatedIncident().incidentId}`]);
      // The minting key is unknown from a sessionIssuer alone: the issuer's key is a recommendation, not deactivated.
      expect(keys).toMatchObject({ status: 'skipped', summary: expect.stringContaining('temporary key') });
      expect(others).toMatchObject({ status: 'done', data: { keys: [{ accessKeyId: ISSUER_KEY, result: 'recommended' }] } });
      expect(account.keyStatus(ISSUER, ISSUER_KEY)).toBe('Active');
      expect(usersTouched()).not.toContain(SESSION);
      expect(account.user(SESSION).inline.size).toBe(0);
    });

    it('finds the issuer, and the key it signed with, in the GetFederationToken call that returned the session key', async () => {
      // Prepare
      account.addUser(SESSION, { keys: [{ id: 'AKIA4EXAMPLEBYSTANDR' }] });
      account.addUser(ISSUER, { path: '/ci/', keys: [{ id: ISSUER_KEY }] });
      byAttribute('AccessKeyId', []);
      byAttribute('EventName', [federationCall(ISSUER_ARN, 'ASIA4SOMEOTHERSESSN'), federationCall()]);
      const resource = aResource(federatedIncident());

      // Act
      const result = await identifyUser.run(aUserStepContext({ incident: federatedIncident(), resource }));
      const keys = await deactivateExposedKeys.run(aUserStepContext({ incident: federatedIncident(), resource, outcomes: { identifyUser: outcomeOf(result) } }));

      // Assess
      expect(result).toMatchObject({ status: 'done', data: { userName: ISSUER, foundBy: 'GetFederationToken', mintedWithKey: ISSUER_KEY } });
      expect(keys).toMatchObject({ status: 'done', data: { userName: ISSUER, keys: [{ accessKeyId: ISSUER_KEY, result: 'deactivated' }] } });
      expect(account.keyStatus(ISSUER, ISSUER_KEY)).toBe('Inactive');
      expect(account.keyStatus(SESSION, 'AKIA4EXAMPLEBYSTANDR')).toBe('Active');
      const queries = trail.commandCalls(LookupEventsCommand).map((c) => c.args[0].input.LookupAttributes?.[0]?.AttributeKey);
      expect(queries).toEqual(['AccessKeyId', 'EventName']);
      // The window goes back federation_lookup_hours (36 by default) from now.
      const window = trail.commandCalls(LookupEventsCommand)[1]!.args[0].input;
      expect(window.StartTime).toEqual(new Date('2025-06-18T03:00:00.000Z'));
    });

    it('finds a GetFederationToken call made through the global STS endpoint in us-east-1 when the finding is in another region', async () => {
      // Prepare: the finding's region (eu-west-1) holds nothing; us-east-1 logged the call
      account.addUser(ISSUER, { path: '/ci/', keys: [{ id: ISSUER_KEY }] });
      trail.on(LookupEventsCommand).resolves({ Events: [] });
      const global: Array<{ region: string; attribute: string | undefined }> = [];
      const incident = aUserIncident({ region: 'eu-west-1', resource: federatedIncident().resource });
      const ctx = aUserStepContext({ incident, resource: aResource(incident) });
      const clientsIn = (region: string) => ({
        ...ctx.clients,
        cloudTrail: {
          send: async (command: LookupEventsCommand) => {
            const attribute = command.input.LookupAttributes?.[0]?.AttributeKey;
            global.push({ region, attribute });
            return { Events: attribute === 'EventName' ? [federationCall()] : [] };
          },
        } as unknown as CloudTrailClient,
      });

      // Act
      const result = await identifyUser.run({ ...ctx, clientsIn });

      // Assess
      expect(result).toMatchObject({ status: 'done', data: { userName: ISSUER, foundBy: 'GetFederationToken', mintedWithKey: ISSUER_KEY } });
      expect(trail.commandCalls(LookupEventsCommand).map((c) => c.args[0].input.LookupAttributes?.[0]?.AttributeKey)).toEqual(['AccessKeyId', 'EventName']);
      expect(global).toEqual([
        { region: 'us-east-1', attribute: 'AccessKeyId' },
        { region: 'us-east-1', attribute: 'EventName' },
      ]);
    });

    it('changes nothing, and says what to do, when CloudTrail does not tell who minted it', async () => {
      // Prepare
      account.addUser(SESSION, { keys: [{ id: 'AKIA4EXAMPLEBYSTANDR' }], login: true });
      trail.on(LookupEventsCommand).resolves({ Events: [] });

      // Act + Assess
      await expect(identifyUser.run(aUserStepContext({ incident: federatedIncident(), resource: aResource(federatedIncident()) }))).rejects.toMatchObject({
        code: 'IssuerUnknown',
        retryable: false,
        message: expect.stringMatching(/an IAM user named deploy-bot is not acted on.*Recommendation: .*firebreak contain IAMUser/s),
      });
      expect(account.iam.calls()).toHaveLength(0);
    });

    it('waits for CloudTrail while throttled, then gives up and changes nothing', async () => {
      // Prepare
      trail.on(LookupEventsCommand).rejects(awsError('ThrottlingException', { retryable: true }));
      const resource = aResource(federatedIncident());

      // Act
      const first = await identifyUser.run(aUserStepContext({ incident: federatedIncident(), resource }));
      const last = identifyUser.run(aUserStepContext({ incident: federatedIncident(), resource, options: anIamUserOptions({ federation_lookup_attempts: 3 }), previous: { stage: 'contain', status: 'pending', summary: 'waiting', attempts: 2 } }));

      // Assess
      expect(first).toMatchObject({ status: 'pending', retryAfterSeconds: 30 });
      await expect(last).rejects.toMatchObject({ code: 'IssuerUnknown', message: expect.stringContaining('in 3 deliveries') });
      expect(account.iam.calls()).toHaveLength(0);
    });

    it('looks again when CloudTrail answers with a server error, and gives up at once when it refuses', async () => {
      // Prepare
      const resource = aResource(federatedIncident());
      trail.on(LookupEventsCommand).rejects(awsError('InternalFailure', { httpStatusCode: 500 }));

      // Act
      const serverError = await identifyUser.run(aUserStepContext({ incident: federatedIncident(), resource }));
      trail.on(LookupEventsCommand).rejects(awsError('AccessDeniedException', { httpStatusCode: 400 }));
      const refused = identifyUser.run(aUserStepContext({ incident: federatedIncident(), resource }));

      // Assess
      expect(serverError).toMatchObject({ status: 'pending', summary: expect.stringContaining('LookupEvents failed with InternalFailure') });
      await expect(refused).rejects.toMatchObject({ code: 'IssuerUnknown', retryable: false, message: expect.stringContaining('failed with AccessDeniedException') });
      expect(account.iam.calls()).toHaveLength(0);
    });

    it('acts on no user when the account root minted the session', async () => {
      byAttribute('AccessKeyId', []);
      byAttribute('EventName', [federationCall(`arn:aws:iam::${ACCOUNT_ID}:root`)]);
      await expect(identifyUser.run(aUserStepContext({ incident: federatedIncident(), resource: aResource(federatedIncident()) }))).rejects.toMatchObject({ code: 'IssuerNotAUser', message: expect.stringContaining('compromised-account playbook') });
      expect(account.iam.calls()).toHaveLength(0);
    });

    it('never acts on a protected issuer', async () => {
      // Prepare
      account.addUser(ISSUER, { path: '/ci/', keys: [{ id: ISSUER_KEY }] });
      byAttribute('AccessKeyId', [madeWithTheSessionKey]);

      // Act + Assess
      await expect(
        identifyUser.run(aUserStepContext({ incident: federatedIncident(), resource: aResource(federatedIncident()), config: aConfig({ playbook: 'iam-user', protectedPrincipals: [`arn:aws:iam::*:user/${ISSUER}`] }) })),
      ).rejects.toMatchObject({ code: 'ProtectedPrincipal' });
      expect(account.iam.calls()).toHaveLength(0);
    });
  });
});
