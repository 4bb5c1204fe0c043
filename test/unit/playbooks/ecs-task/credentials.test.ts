import { EC2Client } from '@aws-sdk/client-ec2';
import { DescribeTaskDefinitionCommand, ECSClient, ListTaskDefinitionsCommand } from '@aws-sdk/client-ecs';
import { DeleteRolePolicyCommand, GetRoleCommand, GetRolePolicyCommand, IAMClient, ListInstanceProfilesForRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { revokeTaskRoleSessions } from '../../../../shared/playbooks/ecs-task/credentials.ts';
import { FIXED_NOW } from '../../helpers/factories.ts';
import { ACCOUNT, anUndoContext, aTaskStepContext, described, ecsOptions, TASK_DEFINITION_ARN, TASK_ROLE_ARN } from './support.ts';

const ecs = mockClient(ECSClient);
const ec2 = mockClient(EC2Client);
const iam = mockClient(IAMClient);
afterEach(() => {
  ecs.reset();
  ec2.reset();
  iam.reset();
});

const OTHER_DEFINITION = `arn:aws:ecs:us-east-1:${ACCOUNT}:task-definition/billing-worker:7`;
const trust = (...services: string[]) => encodeURIComponent(JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: services }, Action: 'sts:AssumeRole' }] }));

beforeEach(() => {
  iam.on(GetRolePolicyCommand).rejects(Object.assign(new Error('no'), { name: 'NoSuchEntity' }));
  iam.on(ListInstanceProfilesForRoleCommand).resolves({ InstanceProfiles: [] });
  iam.on(GetRoleCommand).resolves({ Role: { RoleName: 'payments-api-task', RoleId: 'AROA', Arn: TASK_ROLE_ARN, Path: '/', CreateDate: new Date(), AssumeRolePolicyDocument: trust('ecs-tasks.amazonaws.com') } });
});

/** The account's ACTIVE task definitions: the task's own, and another family with `otherRole`. */
function givenDefinitions(otherRole: string, more = false) {
  ecs.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: [TASK_DEFINITION_ARN, OTHER_DEFINITION], ...(more ? { nextToken: 'more' } : {}) });
  ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: OTHER_DEFINITION }).resolves({ taskDefinition: { family: 'billing-worker', taskRoleArn: otherRole } });
}

describe("Revoke the task role's older sessions (revokeTaskRoleSessions)", () => {
  it('denies every session of the role issued before now when no other family, instance profile or principal uses it', async () => {
    // Prepare
    const task = await described({ ecs, ec2 });
    givenDefinitions(`arn:aws:iam::${ACCOUNT}:role/billing-worker-task`);

    // Act
    const result = await revokeTaskRoleSessions.run(aTaskStepContext(task));

    // Assess
    expect(result).toMatchObject({ status: 'done', data: { roleName: 'payments-api-task', revokedBefore: FIXED_NOW.toISOString() } });
    const put = iam.commandCalls(PutRolePolicyCommand)[0]!.args[0].input;
    expect(JSON.parse(put.PolicyDocument!).Statement[0].Condition).toEqual({ DateLessThan: { 'aws:TokenIssueTime': FIXED_NOW.toISOString() } });
  });

  it('leaves a role another task definition family uses, with a recommendation', async () => {
    // Prepare
    const task = await described({ ecs, ec2 });
    givenDefinitions(TASK_ROLE_ARN);

    // Act
    const result = await revokeTaskRoleSessions.run(aTaskStepContext(task));

    // Assess
    expect(result).toMatchObject({ status: 'skipped', data: { sharedWith: ['task definition family billing-worker'], recommendation: expect.stringMatching(/role of its own/) } });
    expect(iam.commandCalls(PutRolePolicyCommand)).toHaveLength(0);
  });

  it('leaves a role an instance profile or another principal uses', async () => {
    // Prepare
    const task = await described({ ecs, ec2 });
    givenDefinitions(`arn:aws:iam::${ACCOUNT}:role/other`);
    iam.on(ListInstanceProfilesForRoleCommand).resolves({ InstanceProfiles: [{ InstanceProfileName: 'payments-hosts', Arn: 'x', InstanceProfileId: 'AIPA', Path: '/', CreateDate: new Date(), Roles: [] }] });
    iam.on(GetRoleCommand).resolves({ Role: { RoleName: 'payments-api-task', RoleId: 'AROA', Arn: TASK_ROLE_ARN, Path: '/', CreateDate: new Date(), AssumeRolePolicyDocument: trust('ecs-tasks.amazonaws.com', 'lambda.amazonaws.com') } });

    // Act
    const result = await revokeTaskRoleSessions.run(aTaskStepContext(task));

    // Assess
    expect(result.data!.sharedWith).toEqual(['instance profile payments-hosts', 'trusted principal Service:lambda.amazonaws.com']);
    expect(iam.commandCalls(PutRolePolicyCommand)).toHaveLength(0);
  });

  it('treats the role as shared when the account has more task definitions than it reads (role_share_scan_limit)', async () => {
    // Prepare
    const task = await described({ ecs, ec2 });
    givenDefinitions(`arn:aws:iam::${ACCOUNT}:role/other`, true);

    // Act
    const result = await revokeTaskRoleSessions.run(aTaskStepContext(task, undefined, { options: ecsOptions({ role_share_scan_limit: 1 }) }));

    // Assess
    expect(result).toMatchObject({ status: 'skipped', data: { sharedWith: [expect.stringMatching(/beyond the 1 read/)] } });
  });

  it('never revokes a protected role, and does nothing for a task without a role', async () => {
    // Prepare
    const breakGlass = await described({ ecs, ec2 }, { taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/BreakGlassAdmin` });
    const noRole = await described({ ecs, ec2 }, { taskRoleArn: null });

    // Act
    const protectedResult = await revokeTaskRoleSessions.run(aTaskStepContext(breakGlass));
    const noRoleResult = await revokeTaskRoleSessions.run(aTaskStepContext(noRole));

    // Assess
    expect(protectedResult).toMatchObject({ status: 'skipped', data: { protectedBy: 'arn:aws:iam::*:role/BreakGlass*' } });
    expect(noRoleResult).toMatchObject({ status: 'skipped', summary: expect.stringMatching(/no task role/) });
    expect(iam.commandCalls(PutRolePolicyCommand)).toHaveLength(0);
  });

  it('release removes the revocation policy and says the older sessions are valid again', async () => {
    // Prepare
    const task = await described({ ecs, ec2 });
    givenDefinitions(`arn:aws:iam::${ACCOUNT}:role/other`);
    const result = await revokeTaskRoleSessions.run(aTaskStepContext(task));

    // Act
    const released = await revokeTaskRoleSessions.undo!.run(anUndoContext(revokeTaskRoleSessions, result, task));

    // Assess
    expect(released.summary).toMatch(/valid again/);
    expect(iam.commandCalls(DeleteRolePolicyCommand)[0]!.args[0].input).toMatchObject({ RoleName: 'payments-api-task' });
  });
});
