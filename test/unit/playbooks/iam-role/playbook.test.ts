import { GetRolePolicyCommand, IAMClient, PutRolePolicyCommand, TagRoleCommand } from '@aws-sdk/client-iam';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { revocationPolicy } from '../../../../shared/actions/role-sessions.ts';
import { iamManifestOf, runPlaybook, type HandOffSender } from '../../../../shared/engine/index.ts';
import { EvidenceStore } from '../../../../shared/evidence/index.ts';
import { parseFindingMessage, type Incident } from '../../../../shared/findings/index.ts';
import { OWN_STORE_ACTION, wildcardActions } from '../../../../shared/iam/index.ts';
import { iamRolePlaybook } from '../../../../shared/playbooks/iam-role/index.ts';
import { loadPlaybook, PLAYBOOK_REGISTRY } from '../../../../shared/playbooks/registry.ts';
import { aConfig, anS3Client, awsError, EVIDENCE_BUCKET, FakeLedger, FIXED_NOW, manualEvent, RESPONDER, silentLogger, someClients } from '../../helpers/factories.ts';
import { anIncidentFor, givenRole, roleOptions, ROLES, SOURCE_INSTANCE } from './support.ts';

/** The playbook's IAM manifest, every stage loaded. */
const iamRolePlaybookManifest = iamManifestOf(await iamRolePlaybook.load());

const iamMock = mockClient(IAMClient);
const s3Mock = mockClient(S3Client);
afterEach(() => [iamMock, s3Mock].forEach((m) => m.reset()));

/** One delivery through the engine, with the hand-offs it sent. */
async function deliver(incident: Incident, { ledger = new FakeLedger(), options = roleOptions(), protectedPrincipals = [] as string[], withBus = true } = {}) {
  const sent: Array<{ resourceType: string; id: string }> = [];
  const handOff: HandOffSender = async ({ target }) => {
    sent.push(target);
    return { eventId: `evt-${sent.length}` };
  };
  const deps = {
    config: aConfig({ playbook: 'iam-role', protectedPrincipals }),
    options,
    clientsFor: () => someClients(),
    ledger: ledger.asLedger(),
    evidence: new EvidenceStore(anS3Client(), EVIDENCE_BUCKET),
    logger: silentLogger(),
    now: () => FIXED_NOW,
    ...(withBus ? { handOff } : {}),
  };
  const result = await runPlaybook(deps, iamRolePlaybook, incident, { messageId: 'msg-1' });
  return { result, ledger, sent };
}

const givenAwsForContainment = async () => {
  iamMock.on(GetRolePolicyCommand).rejects(awsError('NoSuchEntityException', { httpStatusCode: 404 }));
  iamMock.on(PutRolePolicyCommand).resolves({});
  iamMock.on(TagRoleCommand).resolves({});
  s3Mock.on(PutObjectCommand).resolves({});
};

describe('Playbook: iam-role', () => {
  it('contains a role whose instance credentials were used outside AWS: revokes the older sessions, hands the instance to the EC2 playbook, preserves and tags the role', async () => {
    // Prepare
    givenRole(iamMock, ROLES.plain);
    givenAwsForContainment();
    const incident = anIncidentFor(ROLES.plain);

    // Act
    const { result, ledger, sent } = await deliver(incident);

    // Assess
    expect(result.status).toBe('contained');
    const statuses = Object.fromEntries(ledger.recorded.map((r) => [r.name, r.outcome.status]));
    expect(statuses).toMatchObject({
      revokeOlderRoleSessions: 'done',
      revokeFederatedIdentity: 'skipped',
      handOffSourceInstance: 'done',
      preserveRoleConfiguration: 'done',
      tagRole: 'done',
    });
    // The identity reviews ran after containment (their own tests: test/unit/actions/identity-review).
    expect(Object.keys(statuses)).toEqual(expect.arrayContaining(['linkRelatedIncidents', 'reviewCloudTrail', 'verifyAccountInformation']));
    expect(iamMock.commandCalls(PutRolePolicyCommand).map((c) => c.args[0].input)).toEqual([
      { RoleName: 'web-app-instance-role', PolicyName: `FirebreakRevokeOlderSessions-${incident.incidentId}`, PolicyDocument: revocationPolicy(FIXED_NOW.toISOString()) },
    ]);
    expect(sent).toEqual([{ resourceType: 'Instance', id: SOURCE_INSTANCE }]);
  });

  it('contains a role named by a responder (firebreak contain IAMRole <name>): the older sessions revoked, nothing else to name', async () => {
    // Prepare
    givenRole(iamMock, ROLES.saml);
    givenAwsForContainment();
    const [incident] = parseFindingMessage(JSON.stringify(manualEvent({ resource: { resourceType: 'IAMRole', id: 'okta-engineers' }, ticket: 'SEC-9', requestedBy: RESPONDER })));

    // Act
    const { result, ledger, sent } = await deliver(incident!);

    // Assess
    expect(incident).toMatchObject({ playbook: 'iam-role', resource: { type: 'IAMRole', id: 'okta-engineers', hints: {} } });
    expect(result.status).toBe('contained');
    expect(ledger.outcome('revokeOlderRoleSessions')).toMatchObject({ status: 'done' });
    expect(ledger.outcome('revokeFederatedIdentity')).toMatchObject({ status: 'skipped', data: { recommendation: expect.stringMatching(/saml-provider\/Okta/) } });
    expect(iamMock.commandCalls(PutRolePolicyCommand).map((c) => c.args[0].input.PolicyName)).toEqual([`FirebreakRevokeOlderSessions-${incident!.incidentId}`]);
    expect(sent).toEqual([]);
  });

  it('sends no hand-off when hand_off_source_instance is off', async () => {
    // Prepare
    givenRole(iamMock, ROLES.plain);
    givenAwsForContainment();

    // Act
    const { result, ledger, sent } = await deliver(anIncidentFor(ROLES.plain), { options: roleOptions({ hand_off_source_instance: false }) });

    // Assess
    expect(result.status).toBe('contained');
    expect(ledger.outcome('handOffSourceInstance')).toMatchObject({ status: 'skipped' });
    expect(sent).toEqual([]);
  });

  it('repeats nothing on a redelivery: finished steps stay finished, the policy is not written again, no second hand-off', async () => {
    // Prepare: the first delivery, then the same finding again on its record
    givenRole(iamMock, ROLES.plain);
    givenAwsForContainment();
    const incident = anIncidentFor(ROLES.plain);
    const first = await deliver(incident);
    const steps = Object.fromEntries(first.ledger.recorded.map((r) => [r.name, r.outcome]));
    const capture = first.ledger.begins[0]!.capture;
    iamMock.resetHistory();

    // Act
    const again = await deliver(incident, { ledger: new FakeLedger().withRecord(incident, { status: 'contained', steps, ...(capture ? { capture } : {}) }) });

    // Assess
    expect(again.result.status).toBe('contained');
    expect(iamMock.commandCalls(PutRolePolicyCommand)).toEqual([]);
    expect(iamMock.commandCalls(TagRoleCommand)).toEqual([]);
    expect(again.sent).toEqual([]);
  });

  it('leaves a protected role untouched: no policy, no tag, no hand-off', async () => {
    // Prepare
    givenRole(iamMock, ROLES.breakGlass);
    givenAwsForContainment();

    // Act
    const { result, sent } = await deliver(anIncidentFor(ROLES.breakGlass), { protectedPrincipals: ['arn:aws:iam::*:role/BreakGlass*'] });

    // Assess
    expect(result.status).not.toBe('contained');
    expect(result.reason).toMatch(/protected/);
    expect(iamMock.commandCalls(PutRolePolicyCommand)).toEqual([]);
    expect(iamMock.commandCalls(TagRoleCommand)).toEqual([]);
    expect(sent).toEqual([]);
  });

  it('refuses Firebreak\'s own role with the reason recorded on every step that would change something', async () => {
    // Prepare
    givenRole(iamMock, ROLES.own);
    givenAwsForContainment();

    // Act
    const { ledger, sent } = await deliver(anIncidentFor(ROLES.own));

    // Assess
    for (const step of ['revokeOlderRoleSessions', 'handOffSourceInstance', 'tagRole']) expect(ledger.outcome(step)?.summary, step).toMatch(/Firebreak's own roles/);
    expect(iamMock.commandCalls(PutRolePolicyCommand)).toEqual([]);
    expect(iamMock.commandCalls(TagRoleCommand)).toEqual([]);
    expect(sent).toEqual([]);
  });

  it('is registered under its name, with the identifiers the protected-resource list is matched against', async () => {
    expect(PLAYBOOK_REGISTRY.find((e) => e.name === 'iam-role')?.title).toBe('Compromised IAM role');
    expect(await loadPlaybook('iam-role')).toBe(iamRolePlaybook);
    expect(iamRolePlaybook.identifiers(anIncidentFor(ROLES.plain), { roleName: 'web-app-instance-role', arn: 'arn:aws:iam::111122223333:role/web-app-instance-role' } as never)).toEqual([
      'web-app-instance-role',
      'arn:aws:iam::111122223333:role/web-app-instance-role',
    ]);
  });
});

describe('Playbook: iam-role — what its functions are granted', () => {
  const granted = (mode: 'observe' | 'contain' | 'full', role: 'contain' | 'release' = 'contain') =>
    new Set(iamRolePlaybookManifest.flatMap((s) => (s.roles.includes(role) && s.modes.includes(mode) && s.enabledBy.length === 0 ? s.actions : [])));

  it('grants an observe function only what describe reads', () => {
    expect([...granted('observe')].sort()).toEqual([...iamRolePlaybook.describeIamActions].sort());
  });

  it('keeps containment and release apart: only containment writes policies and only release deletes them', () => {
    // Act
    const contain = granted('contain');
    const release = granted('contain', 'release');

    // Assess
    expect(contain.has('iam:PutRolePolicy') && contain.has('iam:TagRole')).toBe(true);
    expect(contain.has('iam:DeleteRolePolicy')).toBe(false);
    expect(release.has('iam:DeleteRolePolicy') && release.has('iam:TagRole')).toBe(true);
    expect(release.has('iam:PutRolePolicy')).toBe(false);
  });

  it('scopes every action to resources of the account (tags: Firebreak\'s keys only); * only for reads AWS scopes no narrower', async () => {
    // Act
    const grants = iamRolePlaybookManifest.flatMap((s) => s.grants).filter((g) => !g.actions.every((a) => OWN_STORE_ACTION.test(a)));

    // Assess
    const unscopable = new Set(wildcardActions().map((w) => w.action));
    expect(grants.filter((g) => g.resources.includes('*')).flatMap((g) => g.actions).filter((a) => !unscopable.has(a))).toEqual([]);
    expect(grants.filter((g) => g.resources.includes('*')).flatMap((g) => g.actions).every((a) => /:(Describe|Get|List|Lookup)/.test(a))).toBe(true);
    expect(grants.find((g) => g.actions.includes('iam:TagRole'))).toMatchObject({ conditions: { 'ForAllValues:StringLike': { 'aws:TagKeys': ['firebreak:*'] } } });
  });
});
