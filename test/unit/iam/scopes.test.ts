import { describe, expect, it } from 'vitest';
import { ACTION_SCOPES, grantsFor, LIST_PLACEHOLDERS, UnscopedActionError, wildcardActions } from '../../../shared/iam/index.ts';

describe('IAM scopes: how narrowly each action is granted', () => {
  it('merges actions that share resources and conditions into one grant', () => {
    // Act
    const grants = grantsFor(['ec2:RevokeSecurityGroupEgress', 'ec2:RevokeSecurityGroupIngress', 'ec2:RevokeSecurityGroupIngress']);

    // Assess
    expect(grants).toEqual([{ actions: ['ec2:RevokeSecurityGroupEgress', 'ec2:RevokeSecurityGroupIngress'], resources: ['arn:{partition}:ec2:{region}:{account}:security-group/*'] }]);
  });

  it('keeps the grants of one action apart when they differ (the snapshot read and the snapshot created tagged)', () => {
    // Act
    const grants = grantsFor(['ec2:CreateSnapshot']);

    // Assess
    expect(grants).toEqual([
      { actions: ['ec2:CreateSnapshot'], resources: ['arn:{partition}:ec2:{region}:{account}:volume/*'] },
      { actions: ['ec2:CreateSnapshot'], resources: ['arn:{partition}:ec2:{region}::snapshot/*'], conditions: { StringLike: { 'aws:RequestTag/firebreak:incident-id': '*' } } },
    ]);
  });

  it('refuses an action with no scope, naming it', () => {
    // Act + Assess
    expect(() => grantsFor(['ec2:DescribeInstances', 'ec2:TerminateInstances'])).toThrow(UnscopedActionError);
    expect(() => grantsFor(['ec2:TerminateInstances'])).toThrow(/ec2:TerminateInstances/);
  });

  it('gives every wildcard its reason, and grants no write on *: reads and the one scan request only', () => {
    // Act
    const wildcards = wildcardActions();

    // Assess
    expect(wildcards.every((w) => w.reason.length > 20)).toBe(true);
    // The one write on * besides the scan request only narrows access: the account's Block Public Access (no resource type).
    expect(wildcards.map((w) => w.action).filter((a) => !/:(Describe|Get|List|Lookup)/.test(a))).toEqual(['guardduty:StartMalwareScan', 's3:PutAccountPublicAccessBlock']);
  });

  it('uses only placeholders Terraform renders', () => {
    // Prepare
    const known = new Set(['{partition}', '{region}', '{account}', '{forensic_account_id}', ...Object.keys(LIST_PLACEHOLDERS)]);

    // Act
    const used = new Set(JSON.stringify(ACTION_SCOPES).match(/\{[a-z_]+\}/g));

    // Assess
    expect([...used].filter((p) => !known.has(p))).toEqual([]);
  });

  it('never grants Run Command on AWS documents: only Firebreak\'s own and the instances of the account', () => {
    // Act
    const resources = grantsFor(['ssm:SendCommand']).flatMap((g) => g.resources);

    // Assess
    expect(resources).toEqual(['{ssm_document_arns}', 'arn:{partition}:ec2:{region}:{account}:instance/*']);
  });
});
