import { describe, expect, it } from 'vitest';
import { actsIn, loadConfig, loadOptions } from '../../../shared/config/index.ts';
import { ConfigurationError } from '../../../shared/errors/index.ts';
import { Ec2OptionsSchema } from '../../../shared/playbooks/ec2-instance/options.ts';
import { validEnv } from '../helpers/factories.ts';

const configurationErrorOf = (load: () => unknown): ConfigurationError => {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  throw new Error('expected a ConfigurationError');
};

/** EC2 options as Terraform's jsonencode writes them: every attribute, unset ones as null. */
const TERRAFORM_EC2_OPTIONS = {
  forensics: { instance_id: 'i-0abcdef1234567890', launch: null, copy: null },
  online_capture: { enabled: false, memory_capture_command: null, wait_seconds: 10 },
  malware_scan: null,
  isolation_instance_profile_arn: null,
  create_isolation_profile: false,
  release_pass_role_arns: [],
  ssm_documents: { volatile_data: null, memory_capture: null },
};

describe('Function: loadConfig', () => {
  it('reads a complete environment', () => {
    // Prepare
    const options = {
      forensics: {
        launch: { ami_id: 'ami-0abcdef1234567890', subnet_id: 'subnet-0abcdef1234567890', instance_type: 'c6i.large' },
        copy: { account_id: '999988887777', kms_key_arn: 'arn:aws:kms:eu-west-1:999988887777:key/1234abcd-12ab-34cd-56ef-1234567890ab' },
      },
      online_capture: { enabled: true, memory_capture_command: '/opt/forensics/capture-memory.sh', wait_seconds: 5 },
      malware_scan: false,
      isolation_instance_profile_arn: 'arn:aws:iam::111122223333:instance-profile/firebreak-isolation',
    };
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
      FIREBREAK_OPTIONS: JSON.stringify(options),
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
      options,
      followUp: { queueUrl: 'https://sqs.eu-west-1.amazonaws.com/111122223333/firebreak-ec2-instance', delaySeconds: 120, maxAttempts: 10 },
      partition: 'aws',
      namePrefix: 'firebreak',
      members: { accountIds: [], roleName: 'firebreak-responder' },
    });
  });

  it("reads the deployment's name prefix, which names its own roles", () => {
    // Act
    const config = loadConfig(validEnv({ FIREBREAK_NAME_PREFIX: 'fb-prod' }));

    // Assess
    expect(config.namePrefix).toBe('fb-prod');
    expect(() => loadConfig(validEnv({ FIREBREAK_NAME_PREFIX: 'FB prod' }))).toThrow(/FIREBREAK_NAME_PREFIX/);
  });

  it('reads the playbooks the deployment runs, which decide whether a hand-off has anyone to take it', () => {
    // Act
    const config = loadConfig(validEnv({ FIREBREAK_DEPLOYED_PLAYBOOKS: '["container","ec2-instance"]' }));

    // Assess
    expect(config.deployedPlaybooks).toEqual(['container', 'ec2-instance']);
    expect(loadConfig(validEnv()).deployedPlaybooks).toBeUndefined();
    expect(() => loadConfig(validEnv({ FIREBREAK_DEPLOYED_PLAYBOOKS: '["EC2 instance"]' }))).toThrow(/FIREBREAK_DEPLOYED_PLAYBOOKS must be a JSON list of playbook names/);
    expect(() => loadConfig(validEnv({ FIREBREAK_DEPLOYED_PLAYBOOKS: 'ec2-instance' }))).toThrow(/FIREBREAK_DEPLOYED_PLAYBOOKS/);
  });

  it("reads the member accounts, their role's name and the external id (organization)", () => {
    // Prepare
    const env = validEnv({
      FIREBREAK_MEMBER_ACCOUNT_IDS: '["222233334444","333344445555","222233334444","111122223333"]',
      FIREBREAK_MEMBER_ROLE_NAME: 'firebreak-responder',
      FIREBREAK_MEMBER_EXTERNAL_ID: 'firebreak-0123456789abcdef',
      FIREBREAK_PARTITION: 'aws-us-gov',
    });

    // Act
    const config = loadConfig(env);

    // Assess: duplicates and the deployment's own account are not members
    expect(config.members).toEqual({ accountIds: ['222233334444', '333344445555'], roleName: 'firebreak-responder', externalId: 'firebreak-0123456789abcdef' });
    expect(config.partition).toBe('aws-us-gov');
    expect(actsIn(config, '333344445555')).toBe(true);
    expect(actsIn(config, '111122223333')).toBe(true);
    expect(actsIn(config, '999988887777')).toBe(false);
  });

  it('refuses member accounts that are not 12-digit ids, a bad role name, and members without an external id', () => {
    // Prepare
    const bad = validEnv({ FIREBREAK_MEMBER_ACCOUNT_IDS: '["2222-3333-4444"]', FIREBREAK_MEMBER_ROLE_NAME: 'role/with/path', FIREBREAK_MEMBER_EXTERNAL_ID: 'x' });
    const withoutExternalId = validEnv({ FIREBREAK_MEMBER_ACCOUNT_IDS: '["222233334444"]' });

    // Act
    const badError = configurationErrorOf(() => loadConfig(bad));
    const missingError = configurationErrorOf(() => loadConfig(withoutExternalId));

    // Assess
    expect(badError.issues).toEqual(
      expect.arrayContaining([
        'FIREBREAK_MEMBER_ACCOUNT_IDS.0: FIREBREAK_MEMBER_ACCOUNT_IDS must hold 12-digit account ids',
        expect.stringContaining('FIREBREAK_MEMBER_ROLE_NAME must be an IAM role name'),
        expect.stringContaining('FIREBREAK_MEMBER_EXTERNAL_ID must be 2-1224 characters'),
      ]),
    );
    expect(missingError.issues).toEqual([
      'FIREBREAK_MEMBER_EXTERNAL_ID: FIREBREAK_MEMBER_EXTERNAL_ID is required with FIREBREAK_MEMBER_ACCOUNT_IDS (the member roles trust only callers that present it)',
    ]);
  });

  it("keeps the playbook's options as Terraform wrote them, unset (null) attributes removed at every depth, without validating them", () => {
    // Prepare
    const env = validEnv({ FIREBREAK_OPTIONS: JSON.stringify({ ...TERRAFORM_EC2_OPTIONS, anything: { the_playbook: 'decides', unset: null } }) });

    // Act
    const config = loadConfig(env);

    // Assess
    expect(config.options).toEqual({
      forensics: { instance_id: 'i-0abcdef1234567890' },
      online_capture: { enabled: false, wait_seconds: 10 },
      create_isolation_profile: false,
      release_pass_role_arns: [],
      ssm_documents: {},
      anything: { the_playbook: 'decides' },
    });
    expect(config).not.toHaveProperty('ec2');
  });

  it.each([
    ['not JSON', 'not json'],
    ['a JSON list', '[{"malware_scan":false}]'],
    ['a JSON string', '"malware_scan=false"'],
    ['JSON null', 'null'],
  ])('refuses FIREBREAK_OPTIONS that is %s', (_what, raw) => {
    // Act
    const error = configurationErrorOf(() => loadConfig(validEnv({ FIREBREAK_OPTIONS: raw })));

    // Assess
    expect(error.issues).toEqual(['FIREBREAK_OPTIONS: FIREBREAK_OPTIONS must be a JSON object']);
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
      options: {},
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
    ['FIREBREAK_OPTIONS', '[]'],
    ['FIREBREAK_FOLLOW_UP_SECONDS', '901'],
    ['FIREBREAK_MAX_FOLLOW_UPS', '0'],
    ['FIREBREAK_QUEUE_URL', 'not a url'],
    ['AWS_REGION', ''],
  ])('names %s when it is %j', (variable, value) => {
    // Prepare
    const env = validEnv({ [variable]: value });

    // Act
    const error = configurationErrorOf(() => loadConfig(env));

    // Assess
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]!.startsWith(`${variable}: `)).toBe(true);
    expect(error.message).toContain(variable);
    expect(error.retryable).toBe(false);
    expect(error.name).toBe('ConfigurationError');
  });

  it('says how to fix a bad mode', () => {
    // Act
    const error = configurationErrorOf(() => loadConfig(validEnv({ FIREBREAK_MODE: 'contained' })));

    // Assess
    expect(error.issues).toEqual(['FIREBREAK_MODE: FIREBREAK_MODE must be one of observe | contain | full']);
  });

  it('says how to write a JSON list', () => {
    // Act
    const error = configurationErrorOf(() => loadConfig(validEnv({ FIREBREAK_FINDING_TYPES_DENY: 'Recon:*' })));

    // Assess
    expect(error.issues).toEqual(['FIREBREAK_FINDING_TYPES_DENY: FIREBREAK_FINDING_TYPES_DENY must be a JSON array of strings, e.g. ["a","b"]']);
  });

  it('lists every problem at once', () => {
    // Act
    const error = configurationErrorOf(() => loadConfig({ FIREBREAK_MODE: 'nope' }));

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

describe('Function: loadOptions (with the EC2 playbook schema)', () => {
  it('applies the defaults to empty options', () => {
    // Act
    const options = loadOptions(Ec2OptionsSchema, loadConfig(validEnv()).options);

    // Assess
    expect(options).toEqual({
      online_capture: { enabled: false, wait_seconds: 10 },
      malware_scan: true,
      create_isolation_profile: false,
      release_pass_role_arns: [],
      ssm_documents: {},
    });
  });

  it('reads the options Terraform writes, a null attribute meaning the same as an absent one', () => {
    // Prepare
    const config = loadConfig(validEnv({ FIREBREAK_OPTIONS: JSON.stringify(TERRAFORM_EC2_OPTIONS) }));

    // Act
    const options = loadOptions(Ec2OptionsSchema, config.options);

    // Assess
    expect(options).toEqual({
      forensics: { instance_id: 'i-0abcdef1234567890' },
      online_capture: { enabled: false, wait_seconds: 10 },
      malware_scan: true,
      create_isolation_profile: false,
      release_pass_role_arns: [],
      ssm_documents: {},
    });
  });

  it('fills the defaults inside a block that is given', () => {
    // Act
    const options = loadOptions(Ec2OptionsSchema, {
      forensics: { launch: { ami_id: 'ami-0abcdef1234567890', subnet_id: 'subnet-0abcdef1234567890' } },
      online_capture: { enabled: true },
    });

    // Assess
    expect(options.forensics?.launch).toEqual({ ami_id: 'ami-0abcdef1234567890', subnet_id: 'subnet-0abcdef1234567890', instance_type: 'm5.large', security_group_ids: [] });
    expect(options.online_capture).toEqual({ enabled: true, wait_seconds: 10 });
  });

  it.each([
    ['a wait longer than 30 s', { online_capture: { wait_seconds: 31 } }, 'FIREBREAK_OPTIONS.online_capture.wait_seconds: Too big: expected number to be <=30'],
    ['a wait that is a string', { online_capture: { wait_seconds: '10' } }, 'FIREBREAK_OPTIONS.online_capture.wait_seconds: Invalid input: expected number, received string'],
    ['an AMI id that is not one', { forensics: { launch: { ami_id: 'ubuntu', subnet_id: 'subnet-0abcdef1234567890' } } }, 'FIREBREAK_OPTIONS.forensics.launch.ami_id: forensics.launch.ami_id must be an AMI id (ami-…)'],
    ['a forensic instance that is not an instance id', { forensics: { instance_id: 'forensics-box' } }, 'FIREBREAK_OPTIONS.forensics.instance_id: forensics.instance_id must be an instance id (i-…)'],
    ['malware_scan as a string', { malware_scan: 'yes' }, 'FIREBREAK_OPTIONS.malware_scan: Invalid input: expected boolean, received string'],
    [
      'a pass-role pattern that is not a role ARN',
      { release_pass_role_arns: ['arn:aws:iam::111122223333:role/app-*', 'app-*'] },
      'FIREBREAK_OPTIONS.release_pass_role_arns.1: release_pass_role_arns must be role ARNs or ARN patterns, e.g. arn:aws:iam::123456789012:role/app-*',
    ],
    ['an unknown key', { forensic: {} }, 'FIREBREAK_OPTIONS: Unrecognized key: "forensic"'],
    ['the camelCase key of earlier versions', { malwareScan: false }, 'FIREBREAK_OPTIONS: Unrecognized key: "malwareScan"'],
    ['an unknown key inside a block', { online_capture: { enabled: true, waitSeconds: 5 } }, 'FIREBREAK_OPTIONS.online_capture: Unrecognized key: "waitSeconds"'],
    [
      'both an existing forensic instance and one to launch',
      { forensics: { instance_id: 'i-0abcdef1234567890', launch: { ami_id: 'ami-0abcdef1234567890', subnet_id: 'subnet-0abcdef1234567890' } } },
      'FIREBREAK_OPTIONS.forensics: forensics: set instance_id (an existing forensic instance) or launch (one per incident), not both',
    ],
    [
      'both an isolation profile and one to create',
      { create_isolation_profile: true, isolation_instance_profile_arn: 'arn:aws:iam::111122223333:instance-profile/firebreak-isolation' },
      'FIREBREAK_OPTIONS: set isolation_instance_profile_arn (your own profile) or create_isolation_profile = true, not both',
    ],
  ])('names the path of %s', (_what, raw, issue) => {
    // Act
    const error = configurationErrorOf(() => loadOptions(Ec2OptionsSchema, raw));

    // Assess
    expect(error.issues).toEqual([issue]);
    expect(error.message).toBe(`Invalid Firebreak configuration: ${issue}`);
    expect(error.retryable).toBe(false);
  });

  it('lists every problem at once', () => {
    // Act
    const error = configurationErrorOf(() =>
      loadOptions(Ec2OptionsSchema, { forensics: { copy: { account_id: '12', kms_key_arn: 'alias/forensics' } }, malware_scan: 'no', online_capture: { wait_seconds: -1 } }),
    );

    // Assess
    expect(error.issues.map((i) => i.split(':')[0])).toEqual([
      'FIREBREAK_OPTIONS.forensics.copy.account_id',
      'FIREBREAK_OPTIONS.forensics.copy.kms_key_arn',
      'FIREBREAK_OPTIONS.online_capture.wait_seconds',
      'FIREBREAK_OPTIONS.malware_scan',
    ]);
  });
});
