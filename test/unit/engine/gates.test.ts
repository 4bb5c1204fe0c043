import { describe, expect, it } from 'vitest';
import { evaluateAccountGate, evaluateFindingGates, evaluateResourceGates, matchesPattern, type GateResult, type GateSubject } from '../../../shared/engine/index.ts';
import { aConfig, anIncident, INSTANCE_ID } from '../helpers/factories.ts';

const subject = (overrides: Partial<GateSubject> = {}): GateSubject => ({
  tags: { Name: 'web-frontend-01' },
  identifiers: [INSTANCE_ID, `arn:aws:ec2:us-east-1:111122223333:instance/${INSTANCE_ID}`],
  principals: [],
  ...overrides,
});

const gateNamed = (results: GateResult[], gate: string) => {
  const found = results.find((r) => r.gate === gate);
  if (!found) throw new Error(`no gate ${gate} in ${results.map((r) => r.gate).join(', ')}`);
  return found;
};

describe('Function: matchesPattern', () => {
  it.each([
    ['Backdoor:EC2/C&CActivity.B', 'Backdoor:EC2/C&CActivity.B', true],
    ['Backdoor:*', 'Backdoor:EC2/C&CActivity.B', true],
    ['*:EC2/*', 'Recon:EC2/PortProbeUnprotectedPort', true],
    ['*', 'anything at all', true],
    ['Backdoor:*', 'Recon:EC2/Backdoor:x', false],
    ['a.b', 'axb', false],
    ['a.b', 'a.b', true],
    ['C&CActivity.B!DNS', 'C&CActivity.B!DNS', true],
    ['(a|b)+', 'a', false],
    ['(a|b)+', '(a|b)+', true],
    ['i-0a1b?', 'i-0a1bc', false],
    ['[abc]', 'a', false],
    ['^x$', 'x', false],
    ['prefix', 'prefix-and-more', false],
  ])('matches %j against %j: %s', (pattern, value, expected) => {
    // Act
    const matched = matchesPattern(pattern, value);

    // Assess
    expect(matched).toBe(expected);
  });
});

describe('Function: evaluateFindingGates', () => {
  it('passes every gate of an active, severe finding, and evaluates them all', () => {
    // Act
    const results = evaluateFindingGates(aConfig(), anIncident());

    // Assess
    expect(results).toEqual([
      { gate: 'not-archived', passed: true, reason: 'the finding is active' },
      { gate: 'not-sample', passed: true, reason: 'the finding is not a sample' },
      { gate: 'minimum-severity', passed: true, reason: 'severity 8 >= minimum 4' },
      { gate: 'finding-type-not-denied', passed: true, reason: 'finding type is not on the deny list' },
    ]);
  });

  it('refuses an archived finding', () => {
    // Act
    const results = evaluateFindingGates(aConfig(), anIncident({ archived: true }));

    // Assess
    expect(gateNamed(results, 'not-archived')).toEqual({ gate: 'not-archived', passed: false, reason: 'the finding is archived' });
  });

  it('refuses a sample finding', () => {
    // Act
    const results = evaluateFindingGates(aConfig(), anIncident({ sample: true }));

    // Assess
    expect(gateNamed(results, 'not-sample')).toEqual({ gate: 'not-sample', passed: false, reason: 'the finding is a GuardDuty sample finding' });
  });

  it('refuses a finding below the minimum severity and accepts one exactly at it', () => {
    // Act
    const below = evaluateFindingGates(aConfig({ minSeverity: 4 }), anIncident({ severity: 3.9 }));
    const at = evaluateFindingGates(aConfig({ minSeverity: 4 }), anIncident({ severity: 4 }));

    // Assess
    expect(gateNamed(below, 'minimum-severity')).toEqual({ gate: 'minimum-severity', passed: false, reason: 'severity 3.9 < minimum 4' });
    expect(gateNamed(at, 'minimum-severity')).toEqual({ gate: 'minimum-severity', passed: true, reason: 'severity 4 >= minimum 4' });
  });

  it('refuses a finding type on the deny list, naming the pattern', () => {
    // Act
    const results = evaluateFindingGates(aConfig({ findingTypesDeny: ['Recon:*', 'Backdoor:EC2/*'] }), anIncident());

    // Assess
    expect(gateNamed(results, 'finding-type-not-denied')).toEqual({
      gate: 'finding-type-not-denied',
      passed: false,
      reason: 'finding type matches deny pattern Backdoor:EC2/*',
    });
  });

  it('treats deny patterns literally apart from *', () => {
    // Act
    const results = evaluateFindingGates(aConfig({ findingTypesDeny: ['Backdoor:EC2/C&CActivity.B.'] }), anIncident());

    // Assess
    expect(gateNamed(results, 'finding-type-not-denied').passed).toBe(true);
  });

  it('allows every finding type when the allow list is empty (no allow gate at all)', () => {
    // Act
    const results = evaluateFindingGates(aConfig({ findingTypesAllow: [] }), anIncident());

    // Assess
    expect(results.map((r) => r.gate)).not.toContain('finding-type-allowed');
    expect(results.every((r) => r.passed)).toBe(true);
  });

  it('accepts a finding type on a non-empty allow list, naming the pattern', () => {
    // Act
    const results = evaluateFindingGates(aConfig({ findingTypesAllow: ['Backdoor:*'] }), anIncident());

    // Assess
    expect(gateNamed(results, 'finding-type-allowed')).toEqual({ gate: 'finding-type-allowed', passed: true, reason: 'finding type matches allow pattern Backdoor:*' });
  });

  it('refuses a finding type missing from a non-empty allow list', () => {
    // Act
    const results = evaluateFindingGates(aConfig({ findingTypesAllow: ['CryptoCurrency:*'] }), anIncident());

    // Assess
    expect(gateNamed(results, 'finding-type-allowed')).toEqual({ gate: 'finding-type-allowed', passed: false, reason: 'finding type is not on the allow list' });
  });

  it('reports every failing gate, not only the first', () => {
    // Act
    const results = evaluateFindingGates(aConfig({ minSeverity: 9, findingTypesDeny: ['*'] }), anIncident({ archived: true, sample: true }));

    // Assess
    expect(results.filter((r) => !r.passed).map((r) => r.gate)).toEqual(['not-archived', 'not-sample', 'minimum-severity', 'finding-type-not-denied']);
  });
});

describe('Function: evaluateResourceGates', () => {
  it('passes every gate of an unexempted, unprotected resource, and evaluates them all', () => {
    // Act
    const results = evaluateResourceGates(aConfig(), subject());

    // Assess
    expect(results).toEqual([
      { gate: 'not-exempt', passed: true, reason: 'the resource has no exemption tag' },
      { gate: 'not-protected-resource', passed: true, reason: 'the resource is not protected' },
      { gate: 'not-protected-principal', passed: true, reason: 'no protected principal involved' },
    ]);
  });

  it('refuses a resource carrying the exemption tag, even with an empty value', () => {
    // Act
    const results = evaluateResourceGates(aConfig(), subject({ tags: { 'firebreak:exempt': '' } }));

    // Assess
    expect(gateNamed(results, 'not-exempt')).toEqual({ gate: 'not-exempt', passed: false, reason: 'the resource carries the exemption tag firebreak:exempt' });
  });

  it('does not mistake an inherited property for the exemption tag', () => {
    // Act
    const results = evaluateResourceGates(aConfig({ exemptTagKey: 'constructor' }), subject({ tags: {} }));

    // Assess
    expect(gateNamed(results, 'not-exempt').passed).toBe(true);
  });

  it('refuses a protected resource matched by id or ARN pattern', () => {
    // Act
    const byArn = evaluateResourceGates(aConfig({ protectedResources: ['arn:aws:ec2:*:111122223333:instance/i-0a1b*'] }), subject());
    const byLiteralDot = evaluateResourceGates(aConfig({ protectedResources: ['i.0a1b2c3d4e5f67890'] }), subject());

    // Assess
    expect(gateNamed(byArn, 'not-protected-resource')).toEqual({
      gate: 'not-protected-resource',
      passed: false,
      reason: 'the resource matches protected pattern arn:aws:ec2:*:111122223333:instance/i-0a1b*',
    });
    expect(gateNamed(byLiteralDot, 'not-protected-resource').passed).toBe(true);
  });

  it('refuses when a protected principal is involved', () => {
    // Act
    const results = evaluateResourceGates(
      aConfig({ protectedPrincipals: ['arn:aws:iam::111122223333:role/firebreak-*'] }),
      subject({ principals: ['arn:aws:iam::111122223333:role/firebreak-ec2-instance'] }),
    );

    // Assess
    expect(gateNamed(results, 'not-protected-principal')).toEqual({
      gate: 'not-protected-principal',
      passed: false,
      reason: 'the principal matches protected pattern arn:aws:iam::111122223333:role/firebreak-*',
    });
  });

  it('reports every failing gate, not only the first', () => {
    // Act
    const results = evaluateResourceGates(
      aConfig({ protectedResources: [INSTANCE_ID], protectedPrincipals: ['*'] }),
      subject({ tags: { 'firebreak:exempt': 'yes' }, principals: ['arn:aws:iam::111122223333:user/alice'] }),
    );

    // Assess
    expect(results.filter((r) => !r.passed).map((r) => r.gate)).toEqual(['not-exempt', 'not-protected-resource', 'not-protected-principal']);
  });
});

describe('Function: evaluateAccountGate', () => {
  const members = { accountIds: ['444455556666'], roleName: 'firebreak-responder', externalId: 'ext-1' };

  it("passes the deployment's own account, GuardDuty or manual", () => {
    // Act & Assess
    for (const origin of ['guardduty', 'manual'] as const) {
      expect(evaluateAccountGate(aConfig({ members }), anIncident({ origin }))).toEqual({
        gate: 'account-in-scope',
        passed: true,
        reason: "the finding is for this deployment's account 111122223333",
      });
    }
  });

  it('passes a member account for a GuardDuty finding, naming the session that acts there, and refuses it for a manual one', () => {
    // Prepare
    const incident = anIncident({ accountId: '444455556666' });

    // Act
    const guardDuty = evaluateAccountGate(aConfig({ members, partition: 'aws-us-gov' }), incident);
    const manual = evaluateAccountGate(aConfig({ members }), { ...incident, origin: 'manual' });

    // Assess
    expect(guardDuty.passed).toBe(true);
    expect(guardDuty.reason).toBe(
      `the finding is for member account 444455556666 (member_account_ids): acting there as arn:aws-us-gov:sts::444455556666:assumed-role/firebreak-responder/firebreak-${incident.incidentId}`,
    );
    expect(manual).toEqual({ gate: 'account-in-scope', passed: false, reason: "a manual finding acts only in this deployment's account 111122223333, not in 444455556666" });
  });

  it('refuses any other account, listing the members', () => {
    // Act
    const result = evaluateAccountGate(aConfig({ members }), anIncident({ accountId: '999988887777' }));

    // Assess
    expect(result).toEqual({
      gate: 'account-in-scope',
      passed: false,
      reason:
        'the finding is for account 999988887777; this deployment acts only in account 111122223333 and its member accounts 444455556666 (add 999988887777 to member_account_ids, or deploy Firebreak in that account)',
    });
  });
});
