// The catch-all's complement, as the build derives it: each playbook's resource types (from its
// event-pattern.json, in the generated catalog), the shapes whose complement EventBridge cannot
// express refused with a clear error, and — for every GuardDuty fixture — the generated routing
// agreeing with the parser's. test/e2e/catch-all.test.ts puts every fixture through the real rules.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CatchAllPatternError, catchAllPattern, catchAllRouting, mergeRouting, patternsOf, renderTerraform, root, routingOf, routingTakes } from '../../../scripts/lib/generate.ts';
import { InvalidFindingError } from '../../../shared/errors/index.ts';
import { parseMessage } from '../../../shared/findings/index.ts';
import { PLAYBOOK_REGISTRY } from '../../../shared/playbooks/registry.ts';

const ROUTING = catchAllRouting(await Promise.all(PLAYBOOK_REGISTRY.map(async (e) => ({ name: e.name, ...(await patternsOf(e.name)) }))));

// renderTerraform reads every playbook's manifest, with its later stages: loaded once, here, not within a test's time.
await Promise.all(PLAYBOOK_REGISTRY.map(async (e) => (await e.load()).playbook.load()));

const FIXTURE_ROOT = join(root, 'test/fixtures/guardduty');
const fixtureFiles = (dir: string): string[] =>
  existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? fixtureFiles(join(dir, d.name)) : d.name.endsWith('.json') && d.name !== 'expected.json' ? [join(dir, d.name)] : [])) : [];
const FIXTURES = fixtureFiles(FIXTURE_ROOT).sort();

describe('The catch-all pattern, as the build derives it', () => {
  it('takes the EC2 playbook\'s resource type from its pattern, and writes it in the catalog', async () => {
    // Act
    const rendered = await renderTerraform();

    // Assess
    expect(ROUTING['ec2-instance']).toEqual({ resourceTypes: ['Instance'], accessKeyUserTypes: [] });
    expect(rendered).toContain('      resource_types        = ["Instance"]');
    expect(rendered.match(/resource_types {8}= /g)).toHaveLength(PLAYBOOK_REGISTRY.length);
  });

  it('is every GuardDuty finding whose resource type no enabled playbook takes, or that has none', () => {
    expect(catchAllPattern(['Instance', 'S3Bucket'])).toEqual({
      source: ['aws.guardduty'],
      'detail-type': ['GuardDuty Finding'],
      $or: [{ detail: { resource: { resourceType: [{ 'anything-but': ['Instance', 'S3Bucket'] }] } } }, { detail: { resource: { resourceType: [{ exists: false }] } } }],
    });
  });

  it('leaves a disabled playbook\'s resource types to the catch-all', () => {
    // Prepare: two playbooks, the second disabled in Terraform
    const routing = catchAllRouting([
      { name: 'ec2-instance', pattern: { detail: { resource: { resourceType: ['Instance'] } } } },
      { name: 's3-bucket', pattern: { detail: { resource: { resourceType: ['S3Bucket'] } } } },
    ]);
    const enabled = ['ec2-instance'];

    // Act
    const pattern = catchAllPattern(mergeRouting(enabled.map((n) => routing[n]!)));

    // Assess
    expect(pattern.$or).toEqual([{ detail: { resource: { resourceType: [{ 'anything-but': ['Instance'] }] } } }, { detail: { resource: { resourceType: [{ exists: false }] } } }]);
  });

  it('takes every GuardDuty finding when no playbook is enabled (an empty anything-but is no pattern)', () => {
    expect(catchAllPattern([])).toEqual({ source: ['aws.guardduty'], 'detail-type': ['GuardDuty Finding'] });
  });

  it.each([
    ['a prefix match', { detail: { resource: { resourceType: [{ prefix: 'S3' }] } } }, /exact, non-empty strings only/],
    ['a second field other than an AccessKey\'s userType', { detail: { resource: { resourceType: ['Instance'], instanceDetails: { platform: ['windows'] } } } }, /detail.resource must name "resourceType" and nothing else/],
    ['a userType split of another type than AccessKey', { detail: { resource: { resourceType: ['S3Bucket'], accessKeyDetails: { userType: ['IAMUser'] } } } }, /only \["AccessKey"\] may be split/],
    ['a userType split beside a second type', { detail: { resource: { resourceType: ['AccessKey', 'Instance'], accessKeyDetails: { userType: ['IAMUser'] } } } }, /only \["AccessKey"\] may be split/],
    ['a userType prefix', { detail: { resource: { resourceType: ['AccessKey'], accessKeyDetails: { userType: [{ prefix: 'IAM' }] } } } }, /userType must list exact, non-empty strings only/],
    ['a second field under accessKeyDetails', { detail: { resource: { resourceType: ['AccessKey'], accessKeyDetails: { userType: ['IAMUser'], userName: ['alice'] } } } }, /accessKeyDetails must name "userType" and nothing else/],
    ['a field outside the detail', { region: ['us-east-1'], detail: { resource: { resourceType: ['Instance'] } } }, /matches on "region" besides the detail/],
    ['a field beside the resource', { detail: { severity: [{ numeric: ['>=', 7] }], resource: { resourceType: ['Instance'] } } }, /detail must name "resource" and nothing else/],
    ['an empty list', { detail: { resource: { resourceType: [] } } }, /non-empty list/],
    ['a type listed twice', { detail: { resource: { resourceType: ['Instance', 'Instance'] } } }, /lists a type twice/],
    ['no detail', { source: ['aws.guardduty'] }, /detail must name "resource"/],
  ])('refuses %s, naming the playbook and the shape it needs', (_what, pattern, problem) => {
    // Act
    const derive = () => routingOf('s3-bucket', pattern);

    // Assess
    expect(derive).toThrow(CatchAllPatternError);
    expect(derive).toThrow(problem);
    expect(derive).toThrow(/^shared\/playbooks\/s3-bucket\/event-pattern.json: .*route on detail.resource.resourceType alone/);
  });

  it('splits AccessKey findings by the principal\'s userType, and leaves the other userTypes (and none) to the catch-all', () => {
    // Prepare
    const routing = catchAllRouting([
      { name: 'ec2-instance', pattern: { detail: { resource: { resourceType: ['Instance'] } } } },
      { name: 'iam-user', pattern: { detail: { resource: { resourceType: ['IAMUser'] } } }, guarddutyPattern: { detail: { resource: { resourceType: ['AccessKey'], accessKeyDetails: { userType: ['IAMUser', 'FederatedUser'] } } } } },
      { name: 'iam-role', pattern: { detail: { resource: { resourceType: ['IAMRole'] } } }, guarddutyPattern: { detail: { resource: { resourceType: ['AccessKey'], accessKeyDetails: { userType: ['AssumedRole'] } } } } },
    ]);

    // Act
    const pattern = catchAllPattern(mergeRouting(Object.values(routing)));

    // Assess
    expect(routing['iam-user']).toEqual({ resourceTypes: [], accessKeyUserTypes: ['FederatedUser', 'IAMUser'] });
    expect(pattern.$or).toEqual([
      { detail: { resource: { resourceType: [{ 'anything-but': ['AccessKey', 'Instance'] }] } } },
      { detail: { resource: { resourceType: [{ exists: false }] } } },
      { detail: { resource: { resourceType: ['AccessKey'], accessKeyDetails: { userType: [{ 'anything-but': ['AssumedRole', 'FederatedUser', 'IAMUser'] }] } } } },
      { detail: { resource: { resourceType: ['AccessKey'], accessKeyDetails: { userType: [{ exists: false }] } } } },
    ]);
    expect(routingTakes(routing['iam-role']!, { resourceType: 'AccessKey', accessKeyDetails: { userType: 'AssumedRole' } })).toBe(true);
    expect(routingTakes(routing['iam-role']!, { resourceType: 'AccessKey', accessKeyDetails: { userType: 'Root' } })).toBe(false);
    expect(routingTakes(routing['iam-role']!, { resourceType: 'IAMRole' })).toBe(false);
  });

  it.each([
    ['AccessKey taken whole and by userType', [{ detail: { resource: { resourceType: ['AccessKey'] } } }, { detail: { resource: { resourceType: ['AccessKey'], accessKeyDetails: { userType: ['Root'] } } } }], /userType "Root" is also taken by the first playbook/],
    ['by userType, then whole', [{ detail: { resource: { resourceType: ['AccessKey'], accessKeyDetails: { userType: ['Root'] } } } }, { detail: { resource: { resourceType: ['AccessKey'] } } }], /resource type "AccessKey" is also taken by the first playbook/],
    ['one userType by two playbooks', [{ detail: { resource: { resourceType: ['AccessKey'], accessKeyDetails: { userType: ['IAMUser'] } } } }, { detail: { resource: { resourceType: ['AccessKey'], accessKeyDetails: { userType: ['IAMUser', 'Root'] } } } }], /userType "IAMUser" is also taken by the first playbook/],
  ])('refuses %s: a finding would reach two queues', (_what, [first, second], problem) => {
    // Act
    const derive = () => catchAllRouting([{ name: 'first', pattern: first }, { name: 'second', pattern: second }]);

    // Assess
    expect(derive).toThrow(problem);
  });

  it('refuses two playbooks taking one resource type: a finding would reach two queues', () => {
    // Act
    const derive = () =>
      catchAllRouting([
        { name: 'iam-user', pattern: { detail: { resource: { resourceType: ['AccessKey'] } } } },
        { name: 'iam-role', pattern: { detail: { resource: { resourceType: ['AccessKey'] } } } },
      ]);

    // Assess
    expect(derive).toThrow(/iam-role\/event-pattern.json: resource type "AccessKey" is also taken by the iam-user playbook/);
  });
});

describe('Every GuardDuty fixture: the generated routing agrees with the parser', () => {
  it('finds the fixtures, vendored and published', () => {
    expect(FIXTURES.length).toBeGreaterThanOrEqual(15);
    expect(FIXTURES.some((f) => f.includes('/published/'))).toBe(true);
  });

  it.each(FIXTURES.map((f) => [f.slice(FIXTURE_ROOT.length + 1), f]))('%s: a registered playbook\'s rule takes it exactly when the parser routes it there', (_name, file) => {
    // Prepare
    const body = readFileSync(file, 'utf8');
    const resourceType: unknown = JSON.parse(body)?.detail?.resource?.resourceType;
    const owner = Object.entries(ROUTING).find(([, routing]) => routingTakes(routing, JSON.parse(body)?.detail?.resource))?.[0];

    // Act
    let routedTo: string | undefined;
    let outcome: string;
    try {
      const parsed = parseMessage(body);
      outcome = parsed.kind === 'ignored' ? parsed.finding.why : parsed.kind;
      if (parsed.kind === 'findings') routedTo = parsed.incidents[0]!.playbook;
    } catch (error) {
      if (!(error instanceof InvalidFindingError)) throw error;
      outcome = 'rejected';
    }

    // Assess: a finding the parser routes to a registered playbook is taken by that playbook's
    // rule; one the parser gives no registered playbook is not taken by any rule (the catch-all's).
    if (routedTo !== undefined && ROUTING[routedTo]) expect(owner).toBe(routedTo);
    if (owner !== undefined) expect(routedTo === owner || outcome === 'sample' || outcome === 'rejected').toBe(true);
  });
});
