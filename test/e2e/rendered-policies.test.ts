import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localExampleDir, root } from '../../scripts/lib/local.ts';
import { renderTerraform, scanWithCheckov, writeRenderedPolicies } from '../../scripts/lib/rendered-policies.ts';

// checkov cannot see the function roles' policies in terraform/ (they come from
// jsondecode(file("dist/<playbook>.iam.json")) and the mode and options of each deployment): the
// global setup has applied terraform/examples/local, whose state holds every policy as rendered,
// for pipelines in every mode (contain, observe, full) and with the options (forensics, online
// capture). Each document is written as a literal resource and checked.

describe('checkov over the policies Terraform rendered for the deployed pipelines', () => {
  it('fails, naming the check and the resource, when a rendered policy grants a write on every resource', () => {
    // Prepare: what an unscoped grant looks like once rendered.
    const dir = join(root, '.firebreak', 'rendered-policies-canary');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const unscoped = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Sid: 'PlaybookSteps', Effect: 'Allow', Action: ['iam:PutRolePolicy', 'ec2:ModifySnapshotAttribute', 'ec2:StopInstances'], Resource: '*' }],
    });
    writeFileSync(
      join(dir, 'main.tf'),
      renderTerraform([{ address: 'module.canary.aws_iam_role_policy.this', type: 'aws_iam_role_policy', attributes: [['name', 'canary'], ['role', 'canary']], documents: [['policy', unscoped]] }], []),
    );

    // Act
    const { status, output } = scanWithCheckov(dir);

    // Assert
    expect(status, output).toBe(1);
    expect(output).toMatch(/FAILED CKV_AWS_355 .*\n.*module_canary_aws_iam_role_policy_this/);
    expect(output).toContain('FAILED CKV_AWS_290');
    expect(output).toContain('FAILED CKV_AWS_289');
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds no failed check in any policy of any pipeline, in every mode and option', () => {
    // Prepare
    const outDir = join(root, '.firebreak', 'rendered-policies');
    const rendered = writeRenderedPolicies(localExampleDir, outDir);

    // Act
    const { status, output } = scanWithCheckov(outDir);

    // Assert: every pipeline's function role policy was among what checkov read …
    const rolePolicies = rendered.filter((r) => r.type === 'aws_iam_role_policy').map((r) => r.address);
    for (const pipeline of ['firebreak', 'observe', 'limited', 'retry', 'full']) {
      expect(rolePolicies.some((a) => a.startsWith(`module.${pipeline}.module.playbook[`)), `${pipeline}'s role policy`).toBe(true);
    }
    // … and no check failed (the output lists each failed check with its resource and file line).
    expect(status, output).toBe(0);
  });
});
