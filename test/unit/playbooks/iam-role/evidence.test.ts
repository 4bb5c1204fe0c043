import { GetRolePolicyCommand, IAMClient, TagRoleCommand } from '@aws-sdk/client-iam';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { iamTags } from '../../../../shared/actions/iam-tags.ts';
import { preserveRoleConfiguration, tagRole } from '../../../../shared/playbooks/iam-role/evidence.ts';
import { keepEvidence, tagReleased } from '../../../../shared/playbooks/iam-role/release-actions.ts';
import { awsError, EVIDENCE_BUCKET, RESPONDER } from '../../helpers/factories.ts';
import { anIncidentFor, aRoleReleaseContext, aRoleStepContext, described, outcome, ROLES } from './support.ts';

const iamMock = mockClient(IAMClient);
const s3Mock = mockClient(S3Client);
afterEach(() => [iamMock, s3Mock].forEach((m) => m.reset()));

describe('Preserve the role configuration (preserveRoleConfiguration)', () => {
  it('saves the role as captured, with its inline policy documents, to the evidence bucket', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.plain);
    const incident = anIncidentFor(ROLES.plain);
    iamMock.on(GetRolePolicyCommand, { PolicyName: 'app-secrets' }).resolves({ RoleName: role.roleName, PolicyName: 'app-secrets', PolicyDocument: encodeURIComponent('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}') });
    s3Mock.on(PutObjectCommand).resolves({});

    // Act
    const result = await preserveRoleConfiguration.run(aRoleStepContext(role, incident));

    // Assess
    expect(result.status).toBe('done');
    const [put] = s3Mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(put).toMatchObject({ Bucket: EVIDENCE_BUCKET, Key: expect.stringContaining(`${incident.incidentId}/role-configuration.json`) });
    const body = JSON.parse(String(put!.Body));
    expect(body.captureBeforeContainment).toMatchObject({ roleName: 'web-app-instance-role', inlinePolicyNames: ['app-secrets'] });
    expect(body.inlinePolicies['app-secrets'].Statement[0].Action).toBe('secretsmanager:GetSecretValue');
  });

  it('keeps the name of an inline policy deleted since the capture', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.plain);
    iamMock.on(GetRolePolicyCommand).rejects(awsError('NoSuchEntityException', { httpStatusCode: 404 }));
    s3Mock.on(PutObjectCommand).resolves({});

    // Act
    await preserveRoleConfiguration.run(aRoleStepContext(role, anIncidentFor(ROLES.plain)));

    // Assess
    expect(JSON.parse(String(s3Mock.commandCalls(PutObjectCommand)[0]!.args[0].input.Body)).inlinePolicies).toEqual({ 'app-secrets': null });
  });
});

describe('Tag the role (tagRole) and tag it released (tagReleased)', () => {
  it('tags the role with the incident, in characters IAM accepts', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.plain);
    const incident = anIncidentFor(ROLES.plain);
    iamMock.on(TagRoleCommand).resolves({});

    // Act
    const result = await tagRole.run(aRoleStepContext(role, incident));

    // Assess
    expect(result.status).toBe('done');
    expect(iamMock.commandCalls(TagRoleCommand)[0]!.args[0].input).toEqual({
      RoleName: 'web-app-instance-role',
      Tags: [
        { Key: 'firebreak:incident-id', Value: incident.incidentId },
        { Key: 'firebreak:finding-id', Value: incident.findingId },
        { Key: 'firebreak:finding-type', Value: 'UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS' },
        { Key: 'firebreak:status', Value: 'contained' },
        { Key: 'firebreak:contained-at', Value: '2025-06-19T15:00:00.000Z' },
      ],
    });
    expect(iamTags([{ Key: 'firebreak:finding-type', Value: 'Backdoor:EC2/C&CActivity.B' }])).toEqual([{ Key: 'firebreak:finding-type', Value: 'Backdoor:EC2/C_CActivity.B' }]);
  });

  it.each(['breakGlass', 'own', 'serviceLinked', 'sso'] as const)('never tags the %s role', async (which) => {
    // Prepare
    const role = await described(iamMock, ROLES[which]);

    // Act
    const result = await tagRole.run(aRoleStepContext(role, anIncidentFor(ROLES[which])));

    // Assess
    expect(result.status).toBe('skipped');
    expect(iamMock.commandCalls(TagRoleCommand)).toEqual([]);
  });

  it('tags the role released, with when and by whom, once the rest of the release is done', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.plain);
    const incident = anIncidentFor(ROLES.plain);
    iamMock.on(TagRoleCommand).resolves({});
    const tagged = await tagRole.run(aRoleStepContext(role, incident));
    iamMock.resetHistory();

    // Act
    const result = await tagReleased.run(aRoleReleaseContext(role, incident, { outcomes: { tagRole: outcome('done', tagged.data) } }));

    // Assess
    expect(result.status).toBe('done');
    expect(iamMock.commandCalls(TagRoleCommand)[0]!.args[0].input).toEqual({
      RoleName: 'web-app-instance-role',
      Tags: [
        { Key: 'firebreak:status', Value: 'released' },
        { Key: 'firebreak:released-at', Value: '2025-06-19T15:00:00.000Z' },
        { Key: 'firebreak:released-by', Value: RESPONDER },
      ],
    });
  });

  it('does not tag released while another release step failed, a role containment never tagged, or a role that is gone', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.plain);
    const incident = anIncidentFor(ROLES.plain);
    const tagged = { tagRole: outcome('done', { tags: { 'firebreak:status': 'contained' } }) };

    // Act
    const incomplete = await tagReleased.run(aRoleReleaseContext(role, incident, { outcomes: tagged, released: { removeRevocationPolicy: outcome('failed') } }));
    const neverTagged = await tagReleased.run(aRoleReleaseContext(role, incident, { outcomes: { tagRole: outcome('skipped') } }));
    const gone = await tagReleased.run(aRoleReleaseContext(undefined, incident, { outcomes: tagged }));

    // Assess
    expect([incomplete.status, neverTagged.status, gone.status]).toEqual(['skipped', 'skipped', 'skipped']);
    expect(iamMock.commandCalls(TagRoleCommand)).toEqual([]);
  });

  it('says the evidence is kept', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.plain);
    const incident = anIncidentFor(ROLES.plain);

    // Act
    const result = await keepEvidence.run(aRoleReleaseContext(role, incident, { outcomes: { preserveRoleConfiguration: outcome('done') } }));

    // Assess
    expect(result.status).toBe('done');
    expect(result.keptProtections).toContainEqual(expect.stringMatching(/configuration saved in the evidence bucket/));
  });
});
