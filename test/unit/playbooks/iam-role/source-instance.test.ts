import { IAMClient } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handOffSourceInstance, sourceInstanceOf } from '../../../../shared/playbooks/iam-role/source-instance.ts';
import { anIncidentFor, aRoleStepContext, described, handOffs, roleOptions, ROLES, SOURCE_INSTANCE } from './support.ts';

const iamMock = mockClient(IAMClient);
beforeEach(() => handOffs.splice(0));
afterEach(() => iamMock.reset());

describe('InstanceCredentialExfiltration: the source instance (handOffSourceInstance)', () => {
  it('hands the instance the credentials were taken from to the EC2 playbook when configured (the default)', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.plain);
    const incident = anIncidentFor(ROLES.plain);

    // Act
    const result = await handOffSourceInstance.run(aRoleStepContext(role, incident));

    // Assess
    expect(result).toMatchObject({ status: 'done', data: { instanceId: SOURCE_INSTANCE, from: 'instance-details', eventId: 'handoff-1' } });
    expect(handOffs).toEqual([{ target: { resourceType: 'Instance', id: SOURCE_INSTANCE }, reason: expect.stringMatching(/credentials of role web-app-instance-role were taken from this instance/) }]);
  });

  it('names the instance and recommends containing it, without a hand-off, when hand_off_source_instance is off', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.plain);

    // Act
    const result = await handOffSourceInstance.run(aRoleStepContext(role, anIncidentFor(ROLES.plain), { options: roleOptions({ hand_off_source_instance: false }) }));

    // Assess
    expect(result).toMatchObject({ status: 'skipped', data: { instanceId: SOURCE_INSTANCE, recommendation: expect.stringMatching(`firebreak contain Instance ${SOURCE_INSTANCE}`) } });
    expect(handOffs).toEqual([]);
  });

  it('reads the instance from the session name when the finding has no instance details', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.plain);

    // Act
    const result = await handOffSourceInstance.run(aRoleStepContext(role, anIncidentFor(ROLES.plain, { instanceDetails: false })));

    // Assess
    expect(result).toMatchObject({ status: 'done', data: { instanceId: SOURCE_INSTANCE, from: 'session-name' } });
  });

  it('hands nothing over for other finding types', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.saml);

    // Act
    const result = await handOffSourceInstance.run(aRoleStepContext(role, anIncidentFor(ROLES.saml, { sessionName: 'alice@example.com', findingType: 'UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom', instanceDetails: false })));

    // Assess
    expect(result.status).toBe('skipped');
    expect(handOffs).toEqual([]);
  });

  it('hands nothing over when the finding names no instance', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.plain);

    // Act
    const result = await handOffSourceInstance.run(aRoleStepContext(role, anIncidentFor(ROLES.plain, { sessionName: 'some-session', instanceDetails: false })));

    // Assess
    expect(result).toMatchObject({ status: 'skipped', summary: expect.stringMatching(/names no instance/) });
    expect(handOffs).toEqual([]);
  });

  it('hands nothing over for a role Firebreak must not act on', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.own);

    // Act
    const result = await handOffSourceInstance.run(aRoleStepContext(role, anIncidentFor(ROLES.own)));

    // Assess
    expect(result).toMatchObject({ status: 'skipped', summary: expect.stringMatching(/own roles/) });
    expect(handOffs).toEqual([]);
  });

  it('prefers the instance details over the session name, and takes only instance ids', () => {
    expect(sourceInstanceOf({ instanceId: 'i-0123456789abcdef0' }, 'i-0fedcba9876543210')).toEqual({ instanceId: 'i-0123456789abcdef0', from: 'instance-details' });
    expect(sourceInstanceOf({}, 'i-0fedcba9876543210')).toEqual({ instanceId: 'i-0fedcba9876543210', from: 'session-name' });
    expect(sourceInstanceOf({}, 'alice@example.com')).toBeUndefined();
    expect(sourceInstanceOf({ instanceId: ['i-0123456789abcdef0'] }, undefined)).toBeUndefined();
  });
});
