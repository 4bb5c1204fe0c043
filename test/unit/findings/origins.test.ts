import { describe, expect, it } from 'vitest';
import { InvalidFindingError } from '../../../shared/errors/index.ts';
import { budgetOrigin, generationId, generationOf, IncidentIdSchema, incidentIdFor, parseFindingMessage, parseMessage, type ParsedMessage } from '../../../shared/findings/index.ts';
import { ACCOUNT_ID, INSTANCE_ID, fixtureEvent, manualEvent } from '../helpers/factories.ts';

const SOURCE_INCIDENT = 'inc-0123456789abcdef';
const ANALYST = 'arn:aws:iam::111122223333:user/analyst';

const handoffEvent = (detail: Record<string, unknown> = {}, overrides: Record<string, unknown> = {}) =>
  manualEvent(
    {
      resource: { resourceType: 'Instance', id: INSTANCE_ID },
      sourceIncident: { incidentId: SOURCE_INCIDENT, playbook: 'container' },
      reason: 'host of compromised container c-1',
      requestedBy: 'firebreak-container',
      ...detail,
    },
    { source: 'firebreak.handoff', 'detail-type': 'Firebreak Hand-off', ...overrides },
  );

const redriveOf = (inner: Record<string, unknown>, overrides: Record<string, unknown> = {}) =>
  manualEvent(
    { resource: { resourceType: String((inner.detail as { resource?: { resourceType?: string } })?.resource?.resourceType ?? 'Instance') }, event: inner, requestedBy: ANALYST },
    { source: 'firebreak.redrive', 'detail-type': 'Firebreak Redrive', ...overrides },
  );

const rejection = (event: unknown): InvalidFindingError => {
  try {
    parseMessage(JSON.stringify(event));
  } catch (error) {
    if (error instanceof InvalidFindingError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
};

const incidentsOf = (m: ParsedMessage) => {
  if (m.kind !== 'findings') throw new Error(`expected findings, got ${m.kind}`);
  return m.incidents;
};

describe('Origins: hand-offs, redrives and resumes from the responders\' bus', () => {
  it('parses a hand-off into an incident with origin handoff, one per source incident and target, linked to its source', () => {
    // Act
    const [incident] = incidentsOf(parseMessage(JSON.stringify(handoffEvent())));

    // Assess
    expect(incident).toMatchObject({
      incidentId: incidentIdFor(ACCOUNT_ID, `handoff-${SOURCE_INCIDENT}`, INSTANCE_ID),
      playbook: 'ec2-instance',
      origin: 'handoff',
      findingId: `handoff-${SOURCE_INCIDENT}`,
      title: 'host of compromised container c-1',
      severity: 8,
      requestedBy: 'firebreak-container',
      derivedFrom: { kind: 'handoff', incidentId: SOURCE_INCIDENT, playbook: 'container' },
    });
    expect(budgetOrigin(incident!)).toBe('handoff');
  });

  it('rejects a hand-off naming another account, no reason, or a source incident that is not an incident id', () => {
    expect(rejection(handoffEvent({ accountId: '999988887777' })).reasons[0]).toMatch(/detail\.accountId 999988887777 is not the account that put the event/);
    expect(rejection(handoffEvent({ reason: '  ' })).reasons).toEqual(['detail.reason: reason must not be empty']);
    expect(rejection(handoffEvent({ sourceIncident: { incidentId: 'inc-../x', playbook: 'container' } })).reasons[0]).toMatch(/^detail\.sourceIncident\.incidentId/);
  });

  it("routes a principal hand-off (an S3 bucket's authorised source) as the responders' rules do, the finding's accessKeyDetails its hints", () => {
    // Prepare
    const accessKey = (userType: string, userName: string) => ({
      resource: { resourceType: userType === 'AssumedRole' ? 'IAMRole' : 'IAMUser', id: userName, accessKeyDetails: { userType, userName, principalId: 'AROA4EXAMPLEETLJOB01X:etl', accessKeyId: 'ASIA4EXAMPLEETLROLE5' } },
      sourceIncident: { incidentId: SOURCE_INCIDENT, playbook: 's3-bucket' },
    });

    // Act
    const [role] = incidentsOf(parseMessage(JSON.stringify(handoffEvent(accessKey('AssumedRole', 'etl-export-role')))));
    const [user] = incidentsOf(parseMessage(JSON.stringify(handoffEvent(accessKey('IAMUser', 'alice')))));

    // Assess
    expect(role).toMatchObject({
      playbook: 'iam-role',
      origin: 'handoff',
      resource: { type: 'IAMRole', id: 'etl-export-role', hints: { userType: 'AssumedRole', principalId: 'AROA4EXAMPLEETLJOB01X:etl', accessKeyId: 'ASIA4EXAMPLEETLROLE5' } },
      derivedFrom: { kind: 'handoff', incidentId: SOURCE_INCIDENT, playbook: 's3-bucket' },
    });
    expect(user).toMatchObject({ playbook: 'iam-user', resource: { type: 'IAMUser', id: 'alice', hints: { userType: 'IAMUser' } } });
  });

  it('rejects a principal hand-off named as GuardDuty names it (AccessKey), for root, of the other kind, or whose id is not its user name', () => {
    const named = (resource: Record<string, unknown>) => handoffEvent({ resource, sourceIncident: { incidentId: SOURCE_INCIDENT, playbook: 's3-bucket' } });
    expect(rejection(named({ resourceType: 'AccessKey', id: 'alice' })).reasons[0]).toMatch(/^detail\.resource\.resourceType: hand-offs name one of/);
    expect(rejection(named({ resourceType: 'AccessKey', id: 'alice', accessKeyDetails: { userType: 'IAMUser', userName: 'alice' } })).reasons[0]).toMatch(/is not a principal of resource type "AccessKey"/);
    expect(rejection(named({ resourceType: 'IAMUser', id: 'root', accessKeyDetails: { userType: 'Root', userName: 'root' } })).reasons[0]).toMatch(/^detail\.resource\.accessKeyDetails\.userType/);
    expect(rejection(named({ resourceType: 'IAMUser', id: 'etl', accessKeyDetails: { userType: 'AssumedRole', userName: 'etl' } })).reasons[0]).toMatch(/is not a principal of resource type "IAMUser"/);
    expect(rejection(named({ resourceType: 'IAMUser', id: 'bob', accessKeyDetails: { userType: 'IAMUser', userName: 'alice' } })).reasons[0]).toMatch(/id is its accessKeyDetails\.userName \(alice\)/);
  });

  it('rejects a Firebreak source with another origin\'s detail-type', () => {
    expect(rejection(handoffEvent({}, { 'detail-type': 'Firebreak Manual Finding' })).reasons[0]).toMatch(/^source firebreak.handoff with detail-type "Firebreak Manual Finding" is not an event Firebreak takes/);
  });

  it('parses a resume into a request naming the incident (the finding is the ledger\'s)', () => {
    // Act
    const parsed = parseMessage(
      JSON.stringify(manualEvent({ incidentId: `${SOURCE_INCIDENT}-g2`, resource: { resourceType: 'Instance', id: INSTANCE_ID }, requestedBy: ANALYST }, { source: 'firebreak.resume', 'detail-type': 'Firebreak Resume' })),
    );

    // Assess
    expect(parsed).toEqual({
      kind: 'resume',
      resume: { incidentId: `${SOURCE_INCIDENT}-g2`, resource: { type: 'Instance', id: INSTANCE_ID }, requestedBy: ANALYST, eventId: expect.any(String), eventTime: '2025-06-19T14:50:00Z', accountId: ACCOUNT_ID, region: 'us-east-1' },
    });
    expect(() => parseFindingMessage(JSON.stringify(manualEvent({ incidentId: SOURCE_INCIDENT, resource: { resourceType: 'Instance', id: INSTANCE_ID }, requestedBy: ANALYST }, { source: 'firebreak.resume', 'detail-type': 'Firebreak Resume' })))).toThrow(InvalidFindingError);
    expect(rejection(manualEvent({ incidentId: 'nope' }, { source: 'firebreak.resume', 'detail-type': 'Firebreak Resume' })).reasons.length).toBeGreaterThan(0);
  });

  it('parses a redrive of a GuardDuty finding into its incidents with origin redrive, counted against GuardDuty\'s budget', () => {
    // Prepare
    const inner = fixtureEvent('ec2-c-cactivity-b.json');
    const direct = incidentsOf(parseMessage(JSON.stringify(inner)));

    // Act
    const redriven = incidentsOf(parseMessage(JSON.stringify(redriveOf(inner, { account: inner.account }))));

    // Assess: the same incident, re-delivered
    expect(redriven).toEqual(direct.map((i) => ({ ...i, origin: 'redrive', redelivery: { origin: 'redrive', of: 'guardduty', requestedBy: ANALYST } })));
    expect(budgetOrigin(redriven[0]!)).toBe('guardduty');
  });

  it('keeps a redriven hand-off on the hand-off budget, and passes a redriven release or resume through', () => {
    const handoff = incidentsOf(parseMessage(JSON.stringify(redriveOf(handoffEvent()))));
    expect(budgetOrigin(handoff[0]!)).toBe('handoff');

    const release = manualEvent({ incidentId: SOURCE_INCIDENT, resource: { resourceType: 'Instance', id: INSTANCE_ID }, reason: 'fp', requestedBy: ANALYST }, { 'detail-type': 'Firebreak Manual Release' });
    expect(parseMessage(JSON.stringify(redriveOf(release))).kind).toBe('release');

    const resume = manualEvent({ incidentId: SOURCE_INCIDENT, resource: { resourceType: 'Instance', id: INSTANCE_ID }, requestedBy: ANALYST }, { source: 'firebreak.resume', 'detail-type': 'Firebreak Resume' });
    expect(parseMessage(JSON.stringify(redriveOf(resume)))).toMatchObject({ kind: 'resume', resume: { incidentId: SOURCE_INCIDENT, requestedBy: ANALYST, redrivenBy: ANALYST } });
  });

  it('passes a redriven sample through as ignored', () => {
    const sample = fixtureEvent('ec2-c-cactivity-b.json');
    sample.detail.service.additionalInfo = { sample: true };
    expect(parseMessage(JSON.stringify(redriveOf(sample, { account: sample.account }))).kind).toBe('ignored');
  });

  it('refuses a redrive of a redrive, of another account\'s event, or of something that is no event Firebreak takes', () => {
    const inner = handoffEvent();
    expect(rejection(redriveOf(redriveOf(inner))).reasons).toEqual(['detail.event: a redrive cannot carry another redrive (unwrap it)']);
    expect(rejection(redriveOf({ ...inner, account: '999988887777' })).reasons[0]).toMatch(/^detail\.event\.account "999988887777" is not the account/);
    expect(rejection(redriveOf({ ...inner, source: 'evil.source' })).reasons[0]).toMatch(/^detail\.event: event\.source/);
    expect(rejection(manualEvent({ event: inner }, { source: 'firebreak.redrive', 'detail-type': 'Firebreak Redrive' })).reasons.length).toBeGreaterThan(0);
  });

  it('reads when GuardDuty last saw the activity, and ignores a value that is not a time', () => {
    const event = fixtureEvent('ec2-c-cactivity-b.json');
    event.detail.service.eventLastSeen = '2025-06-19T16:05:00.000Z';
    expect(incidentsOf(parseMessage(JSON.stringify(event)))[0]!.activityLastSeenAt).toBe('2025-06-19T16:05:00.000Z');
    event.detail.service.eventLastSeen = 'yesterday';
    expect(incidentsOf(parseMessage(JSON.stringify(event)))[0]!.activityLastSeenAt).toBeUndefined();
  });

  it('reads when GuardDuty first saw the activity, and ignores a value that is not a time', () => {
    const event = fixtureEvent('ec2-c-cactivity-b.json');
    event.detail.service.eventFirstSeen = '2025-06-19T14:20:00.000Z';
    expect(incidentsOf(parseMessage(JSON.stringify(event)))[0]!.activityFirstSeenAt).toBe('2025-06-19T14:20:00.000Z');
    event.detail.service.eventFirstSeen = 'last week';
    expect(incidentsOf(parseMessage(JSON.stringify(event)))[0]!.activityFirstSeenAt).toBeUndefined();
    delete event.detail.service.eventFirstSeen;
    expect(incidentsOf(parseMessage(JSON.stringify(event)))[0]!.activityFirstSeenAt).toBeUndefined();
  });
});

describe('Containment generations: ids', () => {
  it('names the first generation by the incident id and the next ones with -g<n>, safe in tags, session names and keys', () => {
    expect(generationId(SOURCE_INCIDENT, 1)).toBe(SOURCE_INCIDENT);
    expect(generationId(SOURCE_INCIDENT, 2)).toBe(`${SOURCE_INCIDENT}-g2`);
    expect(generationId(`${SOURCE_INCIDENT}-g2`, 3)).toBe(`${SOURCE_INCIDENT}-g3`);
    expect(generationOf(SOURCE_INCIDENT)).toBe(1);
    expect(generationOf(`${SOURCE_INCIDENT}-g12`)).toBe(12);
    expect(generationId(SOURCE_INCIDENT, 42)).toMatch(/^[\w+=,.@-]{1,64}$/);
  });

  it('accepts generation ids from 2 and refuses -g0, -g1 and anything else', () => {
    for (const ok of [SOURCE_INCIDENT, `${SOURCE_INCIDENT}-g2`, `${SOURCE_INCIDENT}-g9999`]) expect(IncidentIdSchema.safeParse(ok).success).toBe(true);
    for (const bad of [`${SOURCE_INCIDENT}-g0`, `${SOURCE_INCIDENT}-g1`, `${SOURCE_INCIDENT}-g01`, `${SOURCE_INCIDENT}-g10000`, `${SOURCE_INCIDENT}#2`]) expect(IncidentIdSchema.safeParse(bad).success).toBe(false);
  });

  it('counts an incident of unknown origin against GuardDuty\'s budget', () => {
    expect(budgetOrigin({ origin: 'resume' })).toBe('guardduty');
    expect(budgetOrigin({ origin: 'manual' })).toBe('manual');
  });
});
