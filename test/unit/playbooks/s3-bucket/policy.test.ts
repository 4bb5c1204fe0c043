import { describe, expect, it } from 'vitest';
import { policyVerdicts, statementVerdict, withoutStatements } from '../../../../shared/playbooks/s3-bucket/policy.ts';
import { MIXED_POLICY, OFFICE_STATEMENT, policyOf, PRIVATE_STATEMENT, PUBLIC_STATEMENT } from './helpers.ts';

const allow = (extra: Record<string, unknown>) => ({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*', ...extra });
const anyone = (condition?: Record<string, unknown>) => allow({ Principal: '*', ...(condition ? { Condition: condition } : {}) });

describe('Function: statementVerdict (what "public" means to S3)', () => {
  it.each([
    // [name, statement, public]
    ['Principal "*" without a condition', anyone(), true],
    ['Principal {"AWS": "*"} without a condition', allow({ Principal: { AWS: '*' } }), true],
    ['a list of principals with "*" among them', allow({ Principal: { AWS: ['arn:aws:iam::111122223333:root', '*'] } }), true],
    ['a fixed account principal', allow({ Principal: { AWS: 'arn:aws:iam::111122223333:root' } }), false],
    ['a service principal', allow({ Principal: { Service: 'logging.s3.amazonaws.com' } }), false],
    ['a canonical user', allow({ Principal: { CanonicalUser: '79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be' } }), false],
    ['a Deny to everyone', { Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: '*' }, false],
    ['IP-restricted (IpAddress aws:SourceIp /24)', anyone({ IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }), false],
    ['IP-restricted to one address', anyone({ IpAddress: { 'aws:SourceIp': ['203.0.113.10', '198.51.100.0/28'] } }), false],
    ['an IP range broader than /8', anyone({ IpAddress: { 'aws:SourceIp': '0.0.0.0/1' } }), true],
    ['every IPv4 address', anyone({ IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } }), true],
    ['NotIpAddress (every address but some)', anyone({ NotIpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }), true],
    ['VPC-restricted (aws:SourceVpc)', anyone({ StringEquals: { 'aws:SourceVpc': 'vpc-0a1b2c3d4e5f60718' } }), false],
    ['VPC endpoint-restricted (aws:SourceVpce)', anyone({ StringEquals: { 'aws:sourcevpce': 'vpce-1a2b3c4d' } }), false],
    ['organisation-restricted (aws:PrincipalOrgID)', anyone({ StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } }), false],
    ['account-restricted (aws:PrincipalAccount)', anyone({ StringEquals: { 'aws:PrincipalAccount': ['111122223333'] } }), false],
    ['service source (aws:SourceArn with ArnLike, fixed)', allow({ Principal: { Service: 'cloudfront.amazonaws.com' }, Condition: { ArnLike: { 'aws:SourceArn': 'arn:aws:cloudfront::111122223333:distribution/E1' } } }), false],
    ['aws:SourceAccount', anyone({ StringEquals: { 'aws:SourceAccount': '111122223333' } }), false],
    ['aws:SourceOwner', anyone({ StringEquals: { 'aws:SourceOwner': '111122223333' } }), false],
    ['a wildcard in aws:PrincipalOrgID', anyone({ StringLike: { 'aws:PrincipalOrgID': 'o-*' } }), true],
    ['a wildcard in aws:SourceVpce', anyone({ StringLike: { 'aws:SourceVpce': 'vpce-*' } }), true],
    ['a "?" wildcard in aws:SourceAccount', anyone({ StringLike: { 'aws:SourceAccount': '11112222333?' } }), true],
    ['a policy variable in aws:SourceArn', anyone({ ArnEquals: { 'aws:SourceArn': 'arn:aws:s3:::${aws:username}' } }), true],
    ['an IfExists operator (an absent key passes)', anyone({ StringEqualsIfExists: { 'aws:SourceVpc': 'vpc-0a1b2c3d4e5f60718' } }), true],
    ['a negated operator (StringNotEquals aws:SourceVpc)', anyone({ StringNotEquals: { 'aws:SourceVpc': 'vpc-0a1b2c3d4e5f60718' } }), true],
    ['ForAllValues (an absent key passes)', anyone({ 'ForAllValues:StringEquals': { 'aws:SourceVpc': ['vpc-0a1b2c3d4e5f60718'] } }), true],
    ['a condition on a key that does not restrict the caller (aws:SecureTransport)', anyone({ Bool: { 'aws:SecureTransport': 'true' } }), true],
    ['a Referer condition (not a restricting key)', anyone({ StringLike: { 'aws:Referer': 'https://example.com/*' } }), true],
    ['aws:userid outside AROLEID:*', anyone({ StringEquals: { 'aws:userid': 'AIDAEXAMPLEUSERID' } }), false],
    ['aws:userid of every session of a role (AROLEID:*)', anyone({ StringLike: { 'aws:userid': 'AROAEXAMPLEROLEID:*' } }), true],
    ['every access point of one fixed account', anyone({ StringLike: { 's3:DataAccessPointArn': 'arn:aws:s3:us-east-1:111122223333:accesspoint/*' } }), false],
    ['access points of any account', anyone({ StringLike: { 's3:DataAccessPointArn': 'arn:aws:s3:us-east-1:*:accesspoint/*' } }), true],
    ['NotPrincipal with Allow', allow({ NotPrincipal: { AWS: 'arn:aws:iam::111122223333:root' } }), true],
    ['NotPrincipal with Allow, limited to the organisation', allow({ NotPrincipal: { AWS: 'arn:aws:iam::111122223333:root' }, Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } } }), false],
    ['one restricting condition among others', anyone({ Bool: { 'aws:SecureTransport': 'true' }, StringEquals: { 'aws:SourceVpce': 'vpce-1a2b3c4d' } }), false],
  ])('%s → public: %s', (_name, statement, expected) => {
    // Act
    const verdict = statementVerdict(statement as never, 0);

    // Assess
    expect(verdict.public).toBe(expected);
    expect(verdict.reason.length).toBeGreaterThan(5);
  });

  it('names each statement by its Sid and position', () => {
    // Act
    const verdicts = policyVerdicts(MIXED_POLICY);

    // Assess
    expect(verdicts.map((v) => [v.index, v.sid, v.public])).toEqual([
      [0, 'EtlWrites', false],
      [1, 'PublicRead', true],
      [2, 'OfficeOnly', false],
    ]);
  });

  it('reads a policy whose Statement is a single object', () => {
    expect(policyVerdicts(JSON.stringify({ Version: '2012-10-17', Statement: anyone() }))).toMatchObject([{ index: 0, public: true }]);
  });
});

describe('Function: withoutStatements (every other statement kept byte for byte)', () => {
  it('cuts the public statement out and keeps the private and condition-restricted ones exactly as written', () => {
    // Act
    const after = withoutStatements(MIXED_POLICY, [1]);

    // Assess
    expect(after).toBe(policyOf(PRIVATE_STATEMENT, OFFICE_STATEMENT));
    expect(after).toContain(PRIVATE_STATEMENT);
    expect(after).toContain(OFFICE_STATEMENT);
    expect(after).not.toContain('PublicRead');
    expect(JSON.parse(after!).Statement).toHaveLength(2);
  });

  it('cuts the first and the last statements too, leaving valid JSON', () => {
    expect(withoutStatements(MIXED_POLICY, [0])).toBe(policyOf(PUBLIC_STATEMENT, OFFICE_STATEMENT));
    expect(withoutStatements(MIXED_POLICY, [2])).toBe(policyOf(PRIVATE_STATEMENT, PUBLIC_STATEMENT));
    expect(withoutStatements(MIXED_POLICY, [0, 2])).toBe(policyOf(PUBLIC_STATEMENT));
  });

  it('keeps compact policies compact, and strings with brackets, quotes and escapes intact', () => {
    // Prepare
    const compact = '{"Version":"2012-10-17","Id":"x]}","Statement":[{"Sid":"A\\"]","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"},{"Sid":"B","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":false}}}]}';

    // Act
    const after = withoutStatements(compact, [0]);

    // Assess
    expect(after).toBe('{"Version":"2012-10-17","Id":"x]}","Statement":[{"Sid":"B","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":false}}}]}');
  });

  it('leaves nothing to put when every statement is public (the policy is deleted instead)', () => {
    expect(withoutStatements(policyOf(PUBLIC_STATEMENT), [0])).toBeUndefined();
    expect(withoutStatements(JSON.stringify({ Version: '2012-10-17', Statement: anyone() }), [0])).toBeUndefined();
  });

  it('returns the text unchanged when nothing is cut', () => {
    expect(withoutStatements(MIXED_POLICY, [])).toBe(MIXED_POLICY);
  });

  it('refuses a text that is not a policy document', () => {
    expect(() => withoutStatements('{"Version":"2012-10-17"}', [0])).toThrow(/no Statement/);
    expect(() => withoutStatements('[1,2]', [0])).toThrow(SyntaxError);
  });
});
