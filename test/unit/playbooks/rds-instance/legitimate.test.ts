import { EC2Client } from '@aws-sdk/client-ec2';
import { RDSClient } from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { assessLogin, checkLegitimateBehaviour, inCidr } from '../../../../shared/playbooks/rds-instance/legitimate.ts';
import { restrictNetworkAccess } from '../../../../shared/playbooks/rds-instance/network.ts';
import { anRdsIncident, anRdsStepContext, aurora, rdsOptions } from './support.ts';

const ec2Mock = mockClient(EC2Client);
const rdsMock = mockClient(RDSClient);
afterEach(() => {
  ec2Mock.reset();
  rdsMock.reset();
});

describe('If it is NOT legitimate behaviour (checkLegitimateBehaviour)', () => {
  it('matches CIDR blocks bit for bit', () => {
    expect(inCidr('203.0.113.88', '203.0.113.0/24')).toBe(true);
    expect(inCidr('203.0.114.1', '203.0.113.0/24')).toBe(false);
    expect(inCidr('10.1.2.3', '0.0.0.0/0')).toBe(true);
    expect(inCidr('203.0.113.88', '203.0.113.88/32')).toBe(true);
  });

  it.each([
    [{}, false, 'no legitimate behaviour is configured'],
    [{ legitimate_users: ['svc_reporting'] }, true, 'is legitimate'],
    [{ legitimate_users: ['etl'] }, false, 'is not one of legitimate_users'],
    [{ legitimate_networks: ['203.0.113.0/24'] }, true, 'within legitimate_networks'],
    [{ legitimate_networks: ['10.0.0.0/8'] }, false, 'lies outside legitimate_networks'],
    [{ legitimate_users: ['svc_reporting'], legitimate_networks: ['10.0.0.0/8'] }, false, 'lies outside'],
    [{ legitimate_users: ['svc_reporting'], legitimate_networks: ['203.0.113.0/24'] }, true, 'within'],
  ])('with options %j the login is legitimate: %s', (options, legitimate, reason) => {
    const a = assessLogin(anRdsIncident(), rdsOptions(options));
    expect(a.legitimate).toBe(legitimate);
    expect(a.reason).toContain(reason);
  });

  it('never takes a finding without a remote address as coming from a legitimate network', () => {
    expect(assessLogin(anRdsIncident({ remoteIp: null }), rdsOptions({ legitimate_networks: ['0.0.0.0/0'] })).legitimate).toBe(false);
  });

  it('records a legitimate login, and then containment does nothing at all', async () => {
    // Prepare
    const options = rdsOptions({ legitimate_users: ['svc_reporting'] });

    // Act
    const decided = await checkLegitimateBehaviour.run(anRdsStepContext(aurora(), anRdsIncident(), { options }));
    const isolated = await restrictNetworkAccess.run(anRdsStepContext(aurora(), anRdsIncident(), { options }));

    // Assess
    expect(decided).toMatchObject({ status: 'done', data: { legitimate: true, user: 'svc_reporting', remoteIps: ['203.0.113.88'] } });
    expect(decided.summary).toContain('nothing else is done');
    expect(isolated.status).toBe('skipped');
    expect(ec2Mock.calls()).toHaveLength(0);
    expect(rdsMock.calls()).toHaveLength(0);
  });
});
