import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EMULATOR_ENDPOINT, resolveDeployment, useEmulator } from '../../../scripts/lib/aws-cli.ts';
import { PLAYBOOK_REGISTRY } from '../../../shared/playbooks/registry.ts';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Terraform's type of a string or an object of strings, as state records it. */
const typeOf = (value: unknown): unknown =>
  typeof value === 'string' ? 'string' : ['object', Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, typeOf(v)]))];

/** The DLQs the module names for a prefix: `<prefix>-<playbook>-dlq` for every playbook this version deploys. */
const dlqsFor = (prefix: string) => Object.fromEntries(PLAYBOOK_REGISTRY.map((e) => [e.name, `${prefix}-${e.name}-dlq`]));

/** A directory where `terraform apply` ran, as `terraform output` reads it (local state). */
function appliedDir(outputs: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'fb-tf-'));
  dirs.push(dir);
  const state = {
    version: 4,
    terraform_version: '1.11.0',
    serial: 1,
    lineage: 'test',
    outputs: Object.fromEntries(Object.entries(outputs).map(([k, value]) => [k, { value, type: typeOf(value) }])),
    resources: [],
    check_results: null,
  };
  writeFileSync(join(dir, 'terraform.tfstate'), JSON.stringify(state));
  return dir;
}

describe('Function: resolveDeployment', () => {
  it("uses the module's default names when nothing says otherwise", () => {
    expect(resolveDeployment({}, {})).toEqual({ table: 'firebreak-ledger', bus: 'firebreak-responders', pauseParameter: '/firebreak/paused', dlqs: dlqsFor('firebreak') });
  });

  it('takes the environment over the defaults, and flags over the environment', () => {
    // Prepare
    const env = { FIREBREAK_LEDGER_TABLE: 'env-ledger', FIREBREAK_EVENT_BUS: 'env-bus', FIREBREAK_PAUSE_PARAMETER: '/env/paused', FIREBREAK_NAME_PREFIX: 'env' };

    // Act + Assess
    expect(resolveDeployment({}, env)).toEqual({ table: 'env-ledger', bus: 'env-bus', pauseParameter: '/env/paused', dlqs: dlqsFor('env') });
    expect(resolveDeployment({ table: 'flag-ledger', bus: 'flag-bus', parameter: '/flag/paused', prefix: 'flag' }, env)).toEqual({
      table: 'flag-ledger',
      bus: 'flag-bus',
      pauseParameter: '/flag/paused',
      dlqs: dlqsFor('flag'),
    });
    expect(resolveDeployment({ dlq: 'https://sqs.example/123/my-dlq', playbook: 'ec2-instance' }, env).dlqs).toEqual({ ...dlqsFor('env'), 'ec2-instance': 'https://sqs.example/123/my-dlq' });
  });

  it("reads the table and bus from the outputs of the directory the module was applied in", () => {
    // Prepare
    const dir = appliedDir({
      ledger_table_name: 'fb-prod-ledger',
      responders_bus_name: 'fb-prod-bus',
      pause_parameter_name: '/fb-prod/paused',
      playbooks: { 'ec2-instance': { dlq_url: 'https://sqs.us-east-1.amazonaws.com/123456789012/fb-prod-ec2-instance-dlq' } },
    });

    // Act + Assess
    expect(resolveDeployment({ terraform: dir }, { FIREBREAK_LEDGER_TABLE: 'env-ledger' })).toEqual({
      table: 'fb-prod-ledger',
      bus: 'fb-prod-bus',
      pauseParameter: '/fb-prod/paused',
      dlqs: { 'ec2-instance': 'https://sqs.us-east-1.amazonaws.com/123456789012/fb-prod-ec2-instance-dlq' },
    });
  });

  it('finds them in a module output that wraps Firebreak (module "firebreak" { … } with output "firebreak")', () => {
    // Prepare
    const dir = appliedDir({ firebreak: { ledger_table_name: 'wrapped-ledger', responders_bus_name: 'fb-responders' }, other: 'x' });

    // Act + Assess
    expect(resolveDeployment({ terraform: dir }, {})).toEqual({ table: 'wrapped-ledger', bus: 'fb-responders', pauseParameter: '/firebreak/paused', dlqs: dlqsFor('firebreak') });
  });

  it('names the whole deployment from --prefix (its ledger, bus, parameter and DLQs), over the outputs and the environment; single flags still win', () => {
    // Prepare
    const dir = appliedDir({ ledger_table_name: 'fb-prod-ledger', responders_bus_name: 'fb-prod-bus' });
    const env = { FIREBREAK_LEDGER_TABLE: 'env-ledger', FIREBREAK_NAME_PREFIX: 'env' };

    // Act + Assess
    expect(resolveDeployment({ prefix: 'fb-retry', terraform: dir }, env)).toEqual({
      table: 'fb-retry-ledger',
      bus: 'fb-retry-responders',
      pauseParameter: '/fb-retry/paused',
      dlqs: dlqsFor('fb-retry'),
    });
    expect(resolveDeployment({ prefix: 'fb-retry', table: 'mine' }, env).table).toBe('mine');
    // FIREBREAK_NAME_PREFIX names what nothing else does
    expect(resolveDeployment({}, { FIREBREAK_NAME_PREFIX: 'env' })).toEqual({ table: 'env-ledger', bus: 'env-responders', pauseParameter: '/env/paused', dlqs: dlqsFor('env') });
  });

  it('says which flag to use when the outputs name no ledger table', () => {
    // Prepare
    const dir = appliedDir({ something: 'else' });

    // Act + Assess
    expect(() => resolveDeployment({ terraform: dir }, {})).toThrow(/no ledger_table_name output in .*: name the table with --table/);
  });
});

describe('Function: useEmulator', () => {
  it('points the SDK at the emulator with its test keys, for `firebreak local …` only', () => {
    // Prepare
    const env: NodeJS.ProcessEnv = {};

    // Act
    const where = useEmulator(env);

    // Assess
    expect(where).toEqual({ endpoint: EMULATOR_ENDPOINT, region: 'us-east-1' });
    expect(env).toMatchObject({ AWS_ENDPOINT_URL: EMULATOR_ENDPOINT, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });
  });

  it('keeps an endpoint, region and credentials that are already set', () => {
    // Prepare
    const env: NodeJS.ProcessEnv = { AWS_ENDPOINT_URL: 'http://127.0.0.1:4577', AWS_REGION: 'eu-west-1', AWS_PROFILE: 'dev' };

    // Act
    useEmulator(env);

    // Assess
    expect(env).toEqual({ AWS_ENDPOINT_URL: 'http://127.0.0.1:4577', AWS_REGION: 'eu-west-1', AWS_PROFILE: 'dev' });
  });
});
