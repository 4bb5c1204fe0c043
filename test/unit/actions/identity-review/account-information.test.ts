import { AccountClient, GetAlternateContactCommand, GetContactInformationCommand } from '@aws-sdk/client-account';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { accountDrift, verifyAccountInformation, type ExpectedAccountInformation } from '../../../../shared/actions/identity-review/index.ts';
import { executeStep } from '../../../../shared/engine/index.ts';
import { FIXED_NOW, motoNotImplemented, silentLogger } from '../../helpers/factories.ts';
import { anIdentContext, identOptions, identStep } from './helpers.ts';

const account = mockClient(AccountClient);
const s3 = mockClient(S3Client);

const verify = verifyAccountInformation(identStep, { expected: (o) => o.expected_account_information });

const PRIMARY = { FullName: 'Example Corp Security', CompanyName: 'Example Corp', AddressLine1: '1 Main St', City: 'Seattle', PostalCode: '98101', CountryCode: 'US', PhoneNumber: '+1-206-555-0100' };
const SECURITY = { AlternateContactType: 'SECURITY', Name: 'SecOps', Title: 'Security', EmailAddress: 'secops@example.com', PhoneNumber: '+1-206-555-0199' } as const;

const EXPECTED: ExpectedAccountInformation = {
  primary_contact: { full_name: 'Example Corp Security', country_code: 'US', phone_number: '+1-206-555-0100' },
  alternate_contacts: { security: { email_address: 'secops@example.com' }, billing: { email_address: 'billing@example.com' } },
};

beforeEach(() => {
  account.reset();
  s3.reset();
  s3.on(PutObjectCommand).resolves({});
  account.on(GetContactInformationCommand).resolves({ ContactInformation: PRIMARY });
  account.on(GetAlternateContactCommand, { AlternateContactType: 'SECURITY' }).resolves({ AlternateContact: SECURITY });
  account.on(GetAlternateContactCommand, { AlternateContactType: 'BILLING' }).resolves({ AlternateContact: { AlternateContactType: 'BILLING', Name: 'Billing', Title: 'AP', EmailAddress: 'billing@example.com', PhoneNumber: '1' } });
  account.on(GetAlternateContactCommand, { AlternateContactType: 'OPERATIONS' }).rejects(Object.assign(new Error('No contact of the inputted alternate contact type found.'), { name: 'ResourceNotFoundException' }));
});
afterEach(() => {
  account.reset();
  s3.reset();
});

describe("Identity review: verifying the account's information", () => {
  it('reads the primary and the three alternate contacts and finds no drift when they match (case and spaces aside)', async () => {
    const result = await verify.run(anIdentContext({ options: identOptions({ expected_account_information: { ...EXPECTED, primary_contact: { full_name: '  example corp   SECURITY ' } } }) }));
    expect(result.status).toBe('done');
    expect(result.data).toMatchObject({ compared: true, drift: [], alternateContacts: { OPERATIONS: null, SECURITY: { EmailAddress: 'secops@example.com' } } });
    expect(result.summary).toBe("the account's contact information matches the expected values; no OPERATIONS alternate contact");
    const body = JSON.parse(String(s3.commandCalls(PutObjectCommand)[0]!.args[0].input.Body));
    expect(body).toMatchObject({ primaryContact: PRIMARY, drift: [] });
  });

  it('reports drift in the summary and the evidence when an attacker changed a contact', async () => {
    // Prepare: the attacker took over the security contact and the phone number.
    account.on(GetAlternateContactCommand, { AlternateContactType: 'SECURITY' }).resolves({ AlternateContact: { ...SECURITY, EmailAddress: 'mallory@evil.example' } });
    account.on(GetContactInformationCommand).resolves({ ContactInformation: { ...PRIMARY, PhoneNumber: '+44 20 7946 0000' } });

    // Act
    const result = await verify.run(anIdentContext({ options: identOptions({ expected_account_information: { ...EXPECTED, alternate_contacts: { ...EXPECTED.alternate_contacts, operations: { name: 'Ops' } } } }) }));

    // Assess
    expect(result.data!.drift).toEqual([
      { field: 'primary_contact.phone_number', expected: '+1-206-555-0100', actual: '+44 20 7946 0000' },
      { field: 'alternate_contacts.operations', expected: 'a contact', actual: null },
      { field: 'alternate_contacts.security.email_address', expected: 'secops@example.com', actual: 'mallory@evil.example' },
    ]);
    expect(result.summary).toMatch(/^ACCOUNT INFORMATION DRIFT .*alternate_contacts\.security\.email_address is "mallory@evil\.example", expected "secops@example\.com"/);
    const body = JSON.parse(String(s3.commandCalls(PutObjectCommand)[0]!.args[0].input.Body));
    expect(body.drift).toHaveLength(3);
  });

  it('records what is there, comparing nothing, without expected values', async () => {
    const result = await verify.run(anIdentContext());
    expect(result.data).toMatchObject({ compared: false, drift: [] });
    expect(result.summary).toMatch(/no expected values configured/);
  });

  it('names a missing primary field as drift', () => {
    expect(accountDrift({ primary_contact: { website_url: 'https://example.com' } }, {}, {})).toEqual([{ field: 'primary_contact.website_url', expected: 'https://example.com', actual: null }]);
  });

  it('fails as unsupported on the emulator (no Account API), and the rest of the playbook runs', async () => {
    account.on(GetContactInformationCommand).rejects(motoNotImplemented('GetContactInformation'));
    const outcome = await executeStep({ name: verify.name, description: verify.description, stage: verify.stage, now: () => FIXED_NOW, logger: silentLogger() }, () => verify.run(anIdentContext()));
    expect(outcome).toMatchObject({ status: 'failed', error: { unsupported: true, retryable: false } });
    expect(verify.stage).toBe('evidence');
  });

  it('fails on any other error of the alternate contacts (access denied)', async () => {
    account.on(GetAlternateContactCommand, { AlternateContactType: 'BILLING' }).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    await expect(verify.run(anIdentContext())).rejects.toThrow('denied');
  });
});
