import { describe, expect, it } from 'vitest';
import { hclString, renderedPolicies, renderTerraform, type TerraformShow } from '../../../scripts/lib/rendered-policies.ts';

const rolePolicy = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Sid: 'PlaybookSteps', Effect: 'Allow', Action: ['ec2:DescribeInstances'], Resource: '*' }],
});
const queuePolicy = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Deny', Principal: '*', Action: 'sqs:SendMessage', Resource: 'arn:aws:sqs:us-east-1:123456789012:fb' }],
});

/** A deployment as `terraform show -json` prints it: a root module calling the module, which calls the playbook. */
const show: TerraformShow = {
  values: {
    root_module: {
      resources: [
        { address: 'aws_kms_key.forensics', mode: 'managed', type: 'aws_kms_key', name: 'forensics', values: { description: 'local', enable_key_rotation: true, deletion_window_in_days: 7, key_usage: 'ENCRYPT_DECRYPT', customer_master_key_spec: 'SYMMETRIC_DEFAULT', policy: queuePolicy } },
        { address: 'data.aws_iam_policy_document.x', mode: 'data', type: 'aws_iam_policy_document', name: 'x', values: { json: rolePolicy } },
        { address: 'aws_vpc.forensics', mode: 'managed', type: 'aws_vpc', name: 'forensics', values: { cidr_block: '10.99.0.0/16' } },
      ],
      child_modules: [
        {
          address: 'module.firebreak',
          resources: [
            { address: 'module.firebreak.aws_s3_bucket_policy.evidence[0]', mode: 'managed', type: 'aws_s3_bucket_policy', name: 'evidence', values: { bucket: 'fb-evidence', policy: queuePolicy } },
            { address: 'module.firebreak.aws_cloudwatch_event_bus_policy.responders', mode: 'managed', type: 'aws_cloudwatch_event_bus_policy', name: 'responders', values: { event_bus_name: 'fb-responders', policy: queuePolicy } },
          ],
          child_modules: [
            {
              address: 'module.firebreak.module.playbook["ec2-instance"]',
              resources: [
                { address: 'module.firebreak.module.playbook["ec2-instance"].aws_iam_role_policy.this', mode: 'managed', type: 'aws_iam_role_policy', name: 'this', values: { name: 'firebreak-playbook', role: 'firebreak-ec2-instance', policy: rolePolicy } },
                { address: 'module.firebreak.module.playbook["ec2-instance"].aws_iam_role.this', mode: 'managed', type: 'aws_iam_role', name: 'this', values: { name: 'firebreak-ec2-instance', assume_role_policy: queuePolicy, permissions_boundary: '' } },
                { address: 'module.firebreak.module.playbook["ec2-instance"].aws_sqs_queue.this', mode: 'managed', type: 'aws_sqs_queue', name: 'this', values: { url: 'http://q/fb', policy: queuePolicy } },
                // A queue without a policy has nothing to check.
                { address: 'module.firebreak.module.playbook["ec2-instance"].aws_sqs_queue.dlq', mode: 'managed', type: 'aws_sqs_queue', name: 'dlq', values: { url: 'http://q/fb-dlq', policy: '' } },
              ],
            },
          ],
        },
      ],
    },
  },
};

describe('rendered policies: what checkov reads of a deployment', () => {
  it('takes every policy document of every module, and nothing else', () => {
    const found = renderedPolicies(show).map((r) => [r.address, r.type]);
    expect(found).toEqual([
      ['aws_kms_key.forensics', 'aws_kms_key'],
      ['module.firebreak.aws_cloudwatch_event_bus_policy.responders', 'aws_cloudwatch_event_bus_policy'],
      ['module.firebreak.aws_s3_bucket_policy.evidence[0]', 'aws_s3_bucket_policy'],
      ['module.firebreak.module.playbook["ec2-instance"].aws_iam_role.this', 'aws_iam_role'],
      ['module.firebreak.module.playbook["ec2-instance"].aws_iam_role_policy.this', 'aws_iam_role_policy'],
      // The queue's inline policy, as the resource checkov checks queue policies on.
      ['module.firebreak.module.playbook["ec2-instance"].aws_sqs_queue.this', 'aws_sqs_queue_policy'],
    ]);
  });

  it('writes each document as a literal, under a label made from its address', () => {
    const tf = renderTerraform(renderedPolicies(show), []);
    expect(tf).toContain('resource "aws_iam_role_policy" "module_firebreak_module_playbook_ec2_instance_aws_iam_role_policy_this" {');
    expect(tf).toContain('  # module.firebreak.module.playbook["ec2-instance"].aws_iam_role_policy.this');
    expect(tf).toContain('  role = "firebreak-ec2-instance"');
    expect(tf).toContain('  policy = <<POLICY\n{\n  "Version": "2012-10-17",');
    expect(tf).toContain('"Resource": "*"');
    expect(tf).toContain('  queue_url = "http://q/fb"');
    // The key's own attributes that its checks read come along; an empty boundary does not.
    expect(tf).toContain('  enable_key_rotation = true');
    expect(tf).not.toContain('permissions_boundary');
    expect(tf).not.toContain('checkov:skip');
  });

  it('keeps IAM policy variables literal, in documents and in strings', () => {
    const withVariable = JSON.stringify({ Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/${aws:username}/*' }] });
    const tf = renderTerraform([{ address: 'aws_iam_policy.p', type: 'aws_iam_policy', attributes: [['name', 'a"${b}%{c}\\']], documents: [['policy', withVariable]] }], []);
    expect(tf).toContain('"Resource": "arn:aws:s3:::b/$${aws:username}/*"');
    expect(tf).toContain('name = "a\\"$${b}%%{c}\\\\"');
    expect(hclString('line\nnext')).toBe('"line\\nnext"');
  });

  it('gives two resources whose addresses sanitise alike two labels', () => {
    const tf = renderTerraform(
      [
        { address: 'module.a["x"].aws_iam_policy.p', type: 'aws_iam_policy', attributes: [], documents: [['policy', rolePolicy]] },
        { address: 'module.a["x-"].aws_iam_policy.p', type: 'aws_iam_policy', attributes: [], documents: [['policy', rolePolicy]] },
      ],
      [],
    );
    expect(tf).toContain('"module_a_x_aws_iam_policy_p" {');
    expect(tf).toContain('"module_a_x_aws_iam_policy_p_2" {');
  });

  it('writes an accepted finding as a checkov skip with its reason, only on the resources it names', () => {
    const reason = 'A permissions boundary is a ceiling, not a grant: its Resource "*" allows nothing by itself.';
    const tf = renderTerraform(renderedPolicies(show), [{ check: 'CKV_AWS_355', address: /\.aws_iam_role_policy\.this$/, reason }]);
    expect(tf.match(/#checkov:skip=/g)).toHaveLength(1);
    expect(tf).toContain(`  # module.firebreak.module.playbook["ec2-instance"].aws_iam_role_policy.this\n  #checkov:skip=CKV_AWS_355:${reason}`);
  });

  it('refuses an accepted finding without a reason, with a malformed check id, or that matches nothing', () => {
    const resources = renderedPolicies(show);
    expect(() => renderTerraform(resources, [{ check: 'CKV_AWS_355', address: /aws_iam_role_policy/, reason: 'ok' }])).toThrow(/say why/);
    expect(() => renderTerraform(resources, [{ check: 'AWS_355', address: /aws_iam_role_policy/, reason: 'A reason that is long enough to read.' }])).toThrow(/not a checkov AWS check id/);
    expect(() => renderTerraform(resources, [{ check: 'CKV_AWS_355', address: /aws_iam_policy\.boundary/, reason: 'A reason that is long enough to read.' }])).toThrow(/matches no rendered policy/);
  });

  it('refuses a document that is not JSON rather than writing something checkov would skip', () => {
    expect(() => renderTerraform([{ address: 'aws_iam_policy.p', type: 'aws_iam_policy', attributes: [], documents: [['policy', '{not json']] }], [])).toThrow(/not a JSON policy document/);
  });
});
