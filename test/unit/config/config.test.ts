import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../shared/config/index.ts';
import { ConfigurationError } from '../../../shared/errors/index.ts';
import { validEnv } from '../helpers/factories.ts';

const configurationErrorOf = (env: Record<string, string | undefined>): ConfigurationError => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  throw new Error('expected a ConfigurationError');
};

describe('Function: loadConfig', () => {
  it('reads a complete environment', () => {
    // Prepare
    const env = validEnv({
      FIREBREAK_MODE: 'full',
      AWS_REGION: 'eu-west-1',
      FIREBREAK_MIN_SEVERITY: '7.5',
      FIREBREAK_FINDING_TYPES_ALLOW: '["Backdoor:*","CryptoCurrency:*"]',
      FIREBREAK_FINDING_TYPES_DENY: '["Recon:*"]',
      FIREBREAK_PROTECTED_PRINCIPALS: '["arn:aws:iam::111122223333:role/break-glass"]',
      FIREBREAK_PROTECTED_RESOURCES: '["i-0bastion*"]',
      FIREBREAK_EXEMPT_TAG: 'security:exempt',
      FIREBREAK_BLAST_RADIUS_LIMIT: '3',
      FIREBREAK_BLAST_RADIUS_WINDOW_SECONDS: '600',
      FIREBREAK_EC2_OPTIONS: JSON.stringify({
        forensics: {
          launch: { amiId: 'ami-0abcdef1234567890', subnetId: 'subnet-0abcdef1234567890', instanceType: 'c6i.large' },
          copy: { accountId: '999988887777', kmsKeyArn: 'arn:aws:kms:eu-west-1:999988887777:key/1234abcd-12ab-34cd-56ef-1234567890ab' },
        },
        onlineCapture: { enabled: true, memoryCaptureCommand: '/opt/forensics/capture-memory.sh', waitSeconds: 5 },
        malwareScan: false,
        isolationInstanceProfileArn: 'arn:aws:iam::111122223333:instance-profile/firebreak-isolation',
      }),
      FIREBREAK_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/111122223333/firebreak-ec2-instance',
      FIREBREAK_FOLLOW_UP_SECONDS: '120',
      FIREBREAK_MAX_FOLLOW_UPS: '10',
    });

    // Act
    const config = loadConfig(env);

    // Assess
    expect(config).toEqual({
      playbook: 'ec2-instance',
      mode: 'full',
      accountId: '111122223333',
      region: 'eu-west-1',
      ledgerTable: 'firebreak-ledger-test',
      evidenceBucket: 'firebreak-evidence-test',
      minSeverity: 7.5,
      findingTypesAllow: ['Backdoor:*', 'CryptoCurrency:*'],
      findingTypesDeny: ['Recon:*'],
      protectedPrincipals: ['arn:aws:iam::111122223333:role/break-glass'],
      protectedResources: ['i-0bastion*'],
      exemptTagKey: 'security:exempt',
      blastRadius: { limit: 3, windowSeconds: 600 },
      ec2: {
        forensics: {
          launch: { amiId: 'ami-0abcdef1234567890', subnetId: 'subnet-0abcdef1234567890', instanceType: 'c6i.large', securityGroupIds: [] },
          copy: { accountId: '999988887777', kmsKeyArn: 'arn:aws:kms:eu-west-1:999988887777:key/1234abcd-12ab-34cd-56ef-1234567890ab' },
        },
        onlineCapture: { enabled: true, memoryCaptureCommand: '/opt/forensics/capture-memory.sh', waitSeconds: 5 },
        malwareScan: false,
        isolationInstanceProfileArn: 'arn:aws:iam::111122223333:instance-profile/firebreak-isolation',
      },
      followUp: { queueUrl: 'https://sqs.eu-west-1.amazonaws.com/111122223333/firebreak-ec2-instance', delaySeconds: 120, maxAttempts: 10 },
    });
  });

  it('reads the EC2 options as Terraform writes them, unset attributes as null', () => {
    // Prepare
    const env = validEnv({
      FIREBREAK_EC2_OPTIONS: JSON.stringify({
        forensics: { instanceId: 'i-0abcdef1234567890', launch: null, copy: null },
        onlineCapture: { enabled: false, memoryCaptureCommand: null, waitSeconds: 10 },
        isolationInstanceProfileArn: null,
      }),
    });

    // Act
    const config = loadConfig(env);

    // Assess
    expect(config.ec2).toEqual({ forensics: { instanceId: 'i-0abcdef1234567890' }, onlineCapture: { enabled: false, waitSeconds: 10 }, malwareScan: true });
  });

  it('refuses EC2 options that are not JSON, unknown, or contradictory, naming each problem', () => {
    // Prepare
    const bad = [
      ['not json', 'FIREBREAK_EC2_OPTIONS must be a JSON object'],
      [JSON.stringify({ forensic: {} }), 'FIREBREAK_EC2_OPTIONS'],
      [JSON.stringify({ forensics: { instanceId: 'i-0abcdef1234567890', launch: { amiId: 'ami-0abcdef1234567890', subnetId: 'subnet-0abcdef1234567890' } } }), 'give instanceId or launch, not both'],
      [JSON.stringify({ forensics: { copy: { accountId: '12', kmsKeyArn: 'x' } } }), 'forensics.copy.accountId must be a 12-digit account id'],
    ] as const;

    for (const [raw, message] of bad) {
      // Act / Assess
      expect(() => loadConfig(validEnv({ FIREBREAK_EC2_OPTIONS: raw }))).toThrow(message);
    }
  });

  it('applies defaults for every optional variable', () => {
    // Prepare
    const { AWS_REGION: _region, ...env } = validEnv();

    // Act
    const config = loadConfig(env);

    // Assess
    expect(config).toMatchObject({
      region: 'us-east-1',
      minSeverity: 4,
      findingTypesAllow: [],
      findingTypesDeny: [],
      protectedPrincipals: [],
      protectedResources: [],
      exemptTagKey: 'firebreak:exempt',
      blastRadius: { limit: 10, windowSeconds: 3600 },
      ec2: { onlineCapture: { enabled: false, waitSeconds: 10 }, malwareScan: true },
      followUp: { delaySeconds: 300, maxAttempts: 72 },
    });
    expect(config.followUp.queueUrl).toBeUndefined();
  });

  it.each([
    ['FIREBREAK_PLAYBOOK', undefined],
    ['FIREBREAK_PLAYBOOK', ''],
    ['FIREBREAK_MODE', undefined],
    ['FIREBREAK_MODE', 'yolo'],
    ['FIREBREAK_ACCOUNT_ID', '1234'],
    ['FIREBREAK_ACCOUNT_ID', '11112222333a'],
    ['FIREBREAK_LEDGER_TABLE', undefined],
    ['FIREBREAK_EVIDENCE_BUCKET', ''],
    ['FIREBREAK_MIN_SEVERITY', 'high'],
    ['FIREBREAK_MIN_SEVERITY', '11'],
    ['FIREBREAK_FINDING_TYPES_ALLOW', 'Backdoor:*'],
    ['FIREBREAK_FINDING_TYPES_DENY', '[1,2]'],
    ['FIREBREAK_PROTECTED_PRINCIPALS', '{"a":"b"}'],
    ['FIREBREAK_PROTECTED_RESOURCES', '[""]'],
    ['FIREBREAK_EXEMPT_TAG', ''],
    ['FIREBREAK_BLAST_RADIUS_LIMIT', '0'],
    ['FIREBREAK_BLAST_RADIUS_LIMIT', '2.5'],
    ['FIREBREAK_BLAST_RADIUS_WINDOW_SECONDS', '59'],
    ['AWS_REGION', ''],
  ])('names %s when it is %j', (variable, value) => {
    // Prepare
    const env = validEnv({ [variable]: value });

    // Act
    const error = configurationErrorOf(env);

    // Assess
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]!.startsWith(`${variable}: `)).toBe(true);
    expect(error.message).toContain(variable);
    expect(error.retryable).toBe(false);
    expect(error.name).toBe('ConfigurationError');
  });

  it('says how to fix a bad mode', () => {
    // Act
    const error = configurationErrorOf(validEnv({ FIREBREAK_MODE: 'contained' }));

    // Assess
    expect(error.issues).toEqual(['FIREBREAK_MODE: FIREBREAK_MODE must be one of observe | contain | full']);
  });

  it('says how to write a JSON list', () => {
    // Act
    const error = configurationErrorOf(validEnv({ FIREBREAK_FINDING_TYPES_DENY: 'Recon:*' }));

    // Assess
    expect(error.issues).toEqual(['FIREBREAK_FINDING_TYPES_DENY: FIREBREAK_FINDING_TYPES_DENY must be a JSON array of strings, e.g. ["a","b"]']);
  });

  it('lists every problem at once', () => {
    // Act
    const error = configurationErrorOf({ FIREBREAK_MODE: 'nope' });

    // Assess
    expect(error.issues.map((i) => i.split(':')[0])).toEqual([
      'FIREBREAK_PLAYBOOK',
      'FIREBREAK_MODE',
      'FIREBREAK_ACCOUNT_ID',
      'FIREBREAK_LEDGER_TABLE',
      'FIREBREAK_EVIDENCE_BUCKET',
    ]);
  });
});

describe('Function: loadConfig (empty values)', () => {
  it('refuses an empty minimum severity instead of reading it as 0', () => {
    // Prepare
    const load = loadConfig;
    const env = {
      FIREBREAK_PLAYBOOK: 'ec2-instance',
      FIREBREAK_MODE: 'contain',
      FIREBREAK_ACCOUNT_ID: '123456789012',
      FIREBREAK_LEDGER_TABLE: 'firebreak-ledger',
      FIREBREAK_EVIDENCE_BUCKET: 'firebreak-evidence',
      FIREBREAK_MIN_SEVERITY: '',
    };

    // Act
    const act = () => load(env);

    // Assess
    expect(act).toThrow(/FIREBREAK_MIN_SEVERITY must not be empty/);
  });

  it('names a missing required variable in the error', () => {
    // Prepare
    const load = loadConfig;

    // Act
    const act = () => load({ FIREBREAK_MODE: 'contain' });

    // Assess
    expect(act).toThrow(/FIREBREAK_LEDGER_TABLE is required/);
  });
});
