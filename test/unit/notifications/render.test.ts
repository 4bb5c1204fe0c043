import { describe, expect, it } from 'vitest';
import type { IgnoredFinding } from '../../../shared/findings/index.ts';
import { isNotifiedChange, renderNotice, type IncidentStatusChange, type UnhandledFindingNotice } from '../../../shared/notifications/index.ts';
import type { IncidentStatus, StepOutcome } from '../../../shared/vocabulary/index.ts';
import { ACCOUNT_ID, anIncident, FIXED_NOW, INSTANCE_ID, REGION, RESPONDER } from '../helpers/factories.ts';

const incident = anIncident();
const done = (stage: StepOutcome['stage']): StepOutcome => ({ stage, status: 'done', summary: 'done', attempts: 1 });
const failed = (stage: StepOutcome['stage'], code: string, message: string, retryable = false): StepOutcome => ({
  stage,
  status: 'failed',
  summary: `failed: ${message}`,
  attempts: 1,
  error: { code, message, retryable, unsupported: false },
});

function aStatusChange(overrides: Partial<IncidentStatusChange> = {}): IncidentStatusChange {
  return {
    kind: 'incident',
    incident,
    status: 'contained',
    reason: 'contained; evidence complete',
    steps: { isolateNetworkInterfaces: done('contain'), snapshotVolumes: done('evidence') },
    mode: 'contain',
    at: FIXED_NOW,
    ...overrides,
  };
}

const unhandled: IgnoredFinding = {
  why: 'unhandled',
  reason: 'no playbook handles resource type EKSCluster',
  findingId: 'f-eks-1',
  findingType: 'PrivilegeEscalation:Kubernetes/PrivilegedContainer',
  resourceType: 'EKSCluster',
  accountId: ACCOUNT_ID,
  region: REGION,
  title: 'Privileged container with root level access launched on EKS Cluster.',
};
const anUnhandledNotice = (finding: Partial<IgnoredFinding> = {}): UnhandledFindingNotice => ({ kind: 'unhandled', finding: { ...unhandled, ...finding }, playbook: 'ec2-instance', at: FIXED_NOW });

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

describe('Function: isNotifiedChange', () => {
  it.each<[IncidentStatus, IncidentStatus | undefined, boolean]>([
    ['contained', undefined, true],
    ['held', undefined, true],
    ['failed', 'retrying', true],
    ['contained', 'held', true],
    ['released', 'contained', true],
    ['contained', 'contained', false],
    ['held', 'held', false],
    ['failed', 'failed', false],
    ['released', 'released', false],
    ['skipped', undefined, false],
    ['planned', undefined, false],
    ['retrying', 'received', false],
  ])('tells people about %s after %s: %s', (status, previous, told) => {
    // Act
    const verdict = isNotifiedChange(status, previous);

    // Assess
    expect(verdict).toBe(told);
  });
});

describe('Function: renderNotice', () => {
  it('tells subscribers what was contained, where, and how to find the record', () => {
    // Prepare
    const change = aStatusChange();

    // Act
    const message = renderNotice(change);

    // Assess
    expect(message.subject).toBe(`Firebreak contained: Instance ${INSTANCE_ID} in ${ACCOUNT_ID} ${REGION}`);
    expect(message.body.split('\n')[0]).toBe(`Firebreak contained Instance ${INSTANCE_ID} in account ${ACCOUNT_ID} (${REGION}).`);
    expect(message.body).toContain('Status:       contained (before: new incident)');
    expect(message.body).toContain('Why:          contained; evidence complete');
    expect(message.body).toContain('Type:         Backdoor:EC2/C&CActivity.B');
    expect(message.body).toContain('Severity:     8 (high)');
    expect(message.body).toContain(`Resource:     Instance ${INSTANCE_ID}`);
    expect(message.body).toContain(`Incident:     ${incident.incidentId}`);
    expect(message.body).toContain('`firebreak incidents`');
    expect(message.body).toContain(`firebreak release ${incident.incidentId} --reason "<why>"`);
    expect(message.body).not.toContain('Failed steps');
  });

  it('gives subscription filters the status, playbook, severity as a number, account, resource type and incident', () => {
    // Act
    const { attributes } = renderNotice(aStatusChange({ status: 'failed', previousStatus: 'retrying' }));

    // Assess
    expect(attributes).toEqual({
      status: { DataType: 'String', StringValue: 'failed' },
      playbook: { DataType: 'String', StringValue: 'ec2-instance' },
      severity: { DataType: 'Number', StringValue: '8' },
      accountId: { DataType: 'String', StringValue: ACCOUNT_ID },
      resourceType: { DataType: 'String', StringValue: 'Instance' },
      incidentId: { DataType: 'String', StringValue: incident.incidentId },
    });
  });

  it('tells subscribers when an incident is held by the blast-radius limit, and how to contain it by hand', () => {
    // Prepare
    const reason = 'blast-radius limit reached: 10 containments in 3600s in account 111122223333; nothing was changed (the finding is re-evaluated when it is published again)';

    // Act
    const message = renderNotice(aStatusChange({ status: 'held', reason, steps: {} }));

    // Assess
    expect(message.subject).toBe(`Firebreak HELD, nothing changed: Instance ${INSTANCE_ID} in ${ACCOUNT_ID} ${REGION}`);
    expect(message.body).toMatch(/^Firebreak did NOT contain Instance i-0a1b2c3d4e5f67890 in account 111122223333 \(us-east-1\): the incident is held/);
    expect(message.body).toContain(`Why:          ${reason}`);
    expect(message.body).toContain(`firebreak contain Instance ${INSTANCE_ID} --ticket <ticket>`);
    expect(message.body).not.toContain('firebreak release');
    expect(message.attributes.status!.StringValue).toBe('held');
  });

  it('lists the failed steps with their error codes, containment first, when containment failed', () => {
    // Prepare
    const steps = {
      captureConsoleScreenshot: failed('evidence', 'HTTP500', 'the endpoint answered 500'),
      isolateNetworkInterfaces: failed('contain', 'UnauthorizedOperation', 'You are not authorized to perform this operation.'),
      detachFromAutoScalingGroup: failed('contain', 'Throttling', 'Rate exceeded', true),
      protectInstance: done('contain'),
    };

    // Act
    const message = renderNotice(aStatusChange({ status: 'failed', previousStatus: 'retrying', reason: 'containment steps failed permanently (a responder must act): isolateNetworkInterfaces', steps }));

    // Assess
    expect(message.subject).toBe(`Firebreak FAILED, a responder must act: Instance ${INSTANCE_ID} in ${ACCOUNT_ID} ${REGION}`);
    expect(message.body).toContain('Status:       failed (before: retrying)');
    const listed = message.body.slice(message.body.indexOf('Failed steps (3)')).split('\n').slice(1, 4);
    expect(listed).toEqual([
      '  - detachFromAutoScalingGroup [contain]: Throttling (retryable): Rate exceeded',
      '  - isolateNetworkInterfaces [contain]: UnauthorizedOperation (permanent): You are not authorized to perform this operation.',
      '  - captureConsoleScreenshot [evidence]: HTTP500 (permanent): the endpoint answered 500',
    ]);
  });

  it('says who released an incident, why, through what, and what stays as containment left it', () => {
    // Prepare
    const change = aStatusChange({
      status: 'released',
      previousStatus: 'contained',
      reason: `released by ${RESPONDER} at 2025-06-19T15:00:00.000Z (event): false positive`,
      steps: { restoreGroups: { ...done('release') } },
      release: { by: RESPONDER, reason: 'false positive', via: 'event', keptProtections: ['termination protection', 'evidence snapshots'] },
    });

    // Act
    const message = renderNotice(change);

    // Assess
    expect(message.subject).toBe(`Firebreak released: Instance ${INSTANCE_ID} in ${ACCOUNT_ID} ${REGION}`);
    expect(message.body.split('\n')[0]).toBe(`Instance ${INSTANCE_ID} in account ${ACCOUNT_ID} (${REGION}) was released from containment.`);
    expect(message.body).toContain(`Released by:  ${RESPONDER}`);
    expect(message.body).toContain('Reason:       false positive');
    expect(message.body).toContain('Through:      a Firebreak Manual Release event');
    expect(message.body).toContain('Kept:         termination protection; evidence snapshots');
    expect(message.body).not.toContain('firebreak release');
  });

  it('names the ticket and the requester of a manual finding', () => {
    // Prepare
    const manual = anIncident({ origin: 'manual', ticket: 'SEC-1234', requestedBy: RESPONDER, findingType: 'Firebreak:Manual/Containment' });

    // Act
    const message = renderNotice(aStatusChange({ incident: manual }));

    // Assess
    expect(message.body).toContain(`Origin:       manual, ticket SEC-1234, requested by ${RESPONDER}`);
  });

  it('tells subscribers about a finding no playbook handles, without a severity it does not know', () => {
    // Act
    const message = renderNotice(anUnhandledNotice());

    // Assess
    expect(message.subject).toBe(`Firebreak unhandled finding: EKSCluster in ${ACCOUNT_ID} ${REGION}`);
    expect(message.body).toMatch(/^GuardDuty reported a finding about EKSCluster in account 111122223333 \(us-east-1\) that no Firebreak playbook acts on\./);
    expect(message.body).toContain('Type:         PrivilegeEscalation:Kubernetes/PrivilegedContainer');
    expect(message.body).toContain('Finding id:   f-eks-1');
    expect(message.body).toContain('Why:          no playbook handles resource type EKSCluster');
    expect(message.attributes).toEqual({
      status: { DataType: 'String', StringValue: 'unhandled' },
      playbook: { DataType: 'String', StringValue: 'ec2-instance' },
      accountId: { DataType: 'String', StringValue: ACCOUNT_ID },
      resourceType: { DataType: 'String', StringValue: 'EKSCluster' },
    });
  });

  it('keeps hostile free text on its line and out of the subject: control characters become spaces, the subject stays ASCII', () => {
    // Prepare
    const hostile = anIncident({ title: 'evil\n\nStatus: released\u001b[2J', findingType: 'Backdoor:EC2/\r\nX' });

    // Act
    const message = renderNotice(aStatusChange({ incident: hostile, reason: 'line one\nline two 😀' }));
    const unhandledMessage = renderNotice(anUnhandledNotice({ resourceType: 'Clüster\n😀' }));

    // Assess
    expect(message.body).toContain('Title:        evil  Status: released [2J');
    expect(message.body).toContain('Type:         Backdoor:EC2/  X');
    expect(message.body).toContain('Why:          line one line two 😀');
    expect(message.body.split('\n').filter((l) => l.startsWith('  Status:'))).toHaveLength(1);
    expect(unhandledMessage.subject).toMatch(/^[\x20-\x7e]+$/);
    expect(unhandledMessage.subject).toContain('Cl?ster');
  });

  it('keeps the subject under 100 characters for the longest resource names', () => {
    // Prepare
    const longRole = anIncident({ resource: { type: 'AccessKey', id: `role/${'r'.repeat(200)}`, hints: {} } });

    // Act
    const { subject } = renderNotice(aStatusChange({ incident: longRole }));

    // Assess
    expect(subject.length).toBeLessThan(100);
    expect(subject.startsWith('Firebreak contained: AccessKey role/rrr')).toBe(true);
  });

  it('stays far below SNS 256 KB limit however many steps failed and however long the free text is', () => {
    // Prepare
    const steps = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`step${String(i).padStart(4, '0')}${'x'.repeat(500)}`, failed('contain', 'C'.repeat(1000), '😀'.repeat(100_000))]));
    const release = { by: '😀'.repeat(100_000), reason: '😀'.repeat(100_000), via: 'cli', keptProtections: Array.from({ length: 500 }, () => '😀'.repeat(1000)) };
    const worst = anIncident({ title: '😀'.repeat(1_000_000), findingType: '😀'.repeat(1_000_000), ticket: '😀'.repeat(10_000), requestedBy: '😀'.repeat(10_000), origin: 'manual' });

    // Act
    const message = renderNotice(aStatusChange({ status: 'failed', reason: '😀'.repeat(1_000_000), steps, incident: worst, release }));

    // Assess
    expect(message.body).toContain('Failed steps (5000)');
    expect(message.body).toContain('… and 4980 more (the ledger has them all)');
    const total = bytes(message.subject) + bytes(message.body) + Object.entries(message.attributes).reduce((n, [k, v]) => n + bytes(k) + bytes(v.DataType!) + bytes(v.StringValue ?? ''), 0);
    expect(total).toBeLessThan(40 * 1024);
    // Cut on code points: no half emoji anywhere.
    expect(message.body).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
  });

  it('renders what the ledger leaves out plainly: a failure without an error, no mode, a release from the CLI that kept nothing', () => {
    // Prepare
    const steps = { stopInstance: { stage: 'investigate' as const, status: 'failed' as const, summary: 'gave up', attempts: 3 } };
    const release = { by: RESPONDER, reason: 'pen test', via: 'cli', keptProtections: [] };
    const { mode: _mode, ...withoutMode } = aStatusChange({ steps });

    // Act
    const failedMessage = renderNotice(withoutMode);
    const releasedMessage = renderNotice(aStatusChange({ status: 'released', release, steps: {}, incident: anIncident({ origin: 'manual' }) }));

    // Assess
    expect(failedMessage.body).toContain('  - stopInstance [investigate]: failed: gave up');
    expect(failedMessage.body).not.toContain('Mode:');
    expect(releasedMessage.body).toContain('Through:      the firebreak CLI');
    expect(releasedMessage.body).not.toContain('Kept:');
    expect(releasedMessage.body).toContain('Origin:       manual\n');
  });

  it.each<[number, string]>([
    [9.5, 'critical'],
    [7, 'high'],
    [5.5, 'medium'],
    [2, 'low'],
  ])('labels severity %s as GuardDuty does: %s', (severity, label) => {
    // Act
    const { body, attributes } = renderNotice(aStatusChange({ incident: anIncident({ severity }) }));

    // Assess
    expect(body).toContain(`Severity:     ${severity} (${label})`);
    expect(attributes.severity).toEqual({ DataType: 'Number', StringValue: String(severity) });
  });

  it('renders the same message for the same notice', () => {
    // Act
    const [a, b] = [renderNotice(aStatusChange()), renderNotice(aStatusChange())];

    // Assess
    expect(a).toEqual(b);
  });
});
