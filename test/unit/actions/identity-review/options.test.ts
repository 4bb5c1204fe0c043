import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ExpectedAccountInformationSchema, ResourceReviewOptionsSchema, TrailReviewOptionsSchema } from '../../../../shared/actions/identity-review/index.ts';
import { terraformType, terraformValidations } from '../../../../scripts/lib/terraform-schema.ts';

const Options = z.object({ cloudtrail_review: TrailReviewOptionsSchema, resource_review: ResourceReviewOptionsSchema, expected_account_information: ExpectedAccountInformationSchema }).strict();

describe('Identity review options: the fragments a playbook embeds', () => {
  it('default to a 7-day look-back, 10,000 events, 20 s a delivery, tagging and neutralising on, nothing expected', () => {
    expect(Options.parse({})).toEqual({
      cloudtrail_review: { lookback_days: 7, max_events: 10_000, seconds_per_delivery: 20 },
      resource_review: { tag_suspects: true, neutralise: true },
    });
  });

  it('refuse what CloudTrail cannot serve and unknown keys', () => {
    expect(Options.safeParse({ cloudtrail_review: { lookback_days: 91 } }).success).toBe(false);
    expect(Options.safeParse({ cloudtrail_review: { lookback_days: 0 } }).success).toBe(false);
    expect(Options.safeParse({ resource_review: { delete: true } }).success).toBe(false);
    expect(Options.safeParse({ expected_account_information: { primary_contact: { country_code: 'usa' } } }).success).toBe(false);
    expect(Options.safeParse({ expected_account_information: { alternate_contacts: { security: { email_address: 'secops@example.com' } } } }).success).toBe(true);
  });

  it('render as Terraform types and validations (make build renders the playbooks that embed them)', () => {
    const type = terraformType(Options);
    expect(type).toContain('cloudtrail_review');
    expect(type).toContain('lookback_days');
    expect(type).toContain('alternate_contacts');
    expect(terraformValidations(Options, 'OPTIONS').length).toBeGreaterThan(0);
  });
});
