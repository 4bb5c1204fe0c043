/**
 * Account information verification: an attacker who owns an account changes its contacts (the
 * primary contact, the BILLING, OPERATIONS and SECURITY alternate contacts) so that AWS's
 * notices — abuse reports, security notifications — reach them instead of the owner. The step
 * reads them (Account API) and compares them with what the playbook's options expect.
 */
import { GetAlternateContactCommand, GetContactInformationCommand, type AlternateContactType } from '@aws-sdk/client-account';
import * as z from 'zod';
import type { PlaybookTypes, Step } from '../../engine/index.ts';
import { EVIDENCE_IAM_ACTIONS } from '../../evidence/index.ts';
import { hasErrorCode } from '../../errors/index.ts';
import type { ExpectedAccountInformation } from './options.ts';
import type { StepConstructor } from './trail.ts';

export const ALTERNATE_CONTACT_TYPES = ['BILLING', 'OPERATIONS', 'SECURITY'] as const satisfies readonly AlternateContactType[];

const ContactSchema = z.record(z.string(), z.string());
const DriftSchema = z.object({ field: z.string(), expected: z.string().nullable(), actual: z.string().nullable() });

export const AccountInformationDataSchema = z.object({
  primaryContact: ContactSchema.nullable(),
  /** Per type: the contact, or null when the account has none. */
  alternateContacts: z.record(z.string(), ContactSchema.nullable()),
  /** Whether expected values were configured (without them nothing is compared). */
  compared: z.boolean(),
  drift: z.array(DriftSchema),
  evidenceKey: z.string().optional(),
});
export type AccountInformationData = z.infer<typeof AccountInformationDataSchema>;
export type Drift = z.infer<typeof DriftSchema>;

/** Option keys (snake_case) → the Account API's fields. */
const PRIMARY_FIELDS = {
  full_name: 'FullName',
  company_name: 'CompanyName',
  phone_number: 'PhoneNumber',
  address_line_1: 'AddressLine1',
  city: 'City',
  state_or_region: 'StateOrRegion',
  postal_code: 'PostalCode',
  country_code: 'CountryCode',
  website_url: 'WebsiteUrl',
} as const;
const ALTERNATE_FIELDS = { name: 'Name', title: 'Title', email_address: 'EmailAddress', phone_number: 'PhoneNumber' } as const;

const strings = (value: object | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(value ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string'));

/** Two values are the same contact detail when they differ only in case and surrounding or repeated spaces. */
const same = (a: string, b: string) => a.trim().replace(/\s+/g, ' ').toLowerCase() === b.trim().replace(/\s+/g, ' ').toLowerCase();

/**
 * The differences between what the account says and what is expected (only the fields given).
 *
 * @example
 * ```ts
 * accountDrift({ primary_contact: { full_name: 'Example Corp' } }, { FullName: 'Mallory' }, {})
 * // [{ field: 'primary_contact.full_name', expected: 'Example Corp', actual: 'Mallory' }]
 * ```
 */
export function accountDrift(expected: ExpectedAccountInformation, primary: Record<string, string> | null, alternates: Record<string, Record<string, string> | null>): Drift[] {
  const drift: Drift[] = [];
  for (const [key, api] of Object.entries(PRIMARY_FIELDS)) {
    const want = expected.primary_contact?.[key as keyof typeof PRIMARY_FIELDS];
    if (want === undefined) continue;
    const actual = primary?.[api] ?? null;
    if (actual === null || !same(want, actual)) drift.push({ field: `primary_contact.${key}`, expected: want, actual });
  }
  for (const type of ALTERNATE_CONTACT_TYPES) {
    const want = expected.alternate_contacts?.[type.toLowerCase() as 'billing' | 'operations' | 'security'];
    if (want === undefined) continue;
    const actual = alternates[type] ?? null;
    if (actual === null) {
      drift.push({ field: `alternate_contacts.${type.toLowerCase()}`, expected: 'a contact', actual: null });
      continue;
    }
    for (const [key, api] of Object.entries(ALTERNATE_FIELDS)) {
      const w = want[key as keyof typeof ALTERNATE_FIELDS];
      if (w === undefined) continue;
      const a = actual[api] ?? null;
      if (a === null || !same(w, a)) drift.push({ field: `alternate_contacts.${type.toLowerCase()}.${key}`, expected: w, actual: a });
    }
  }
  return drift;
}

export interface AccountInformationSpec<T extends PlaybookTypes> {
  /** The ledger name (default `verifyAccountInformation`). */
  name?: string;
  /** The playbook's `expected_account_information` option (undefined: record only). */
  expected(options: T['options']): ExpectedAccountInformation | undefined;
}

/**
 * Reads the account's primary contact and its BILLING, OPERATIONS and SECURITY alternate contacts,
 * records them as evidence and reports every difference from the expected values (stage
 * `evidence`; it changes nothing). The emulator has no Account API: there it fails, flagged
 * unsupported, and the rest of the playbook runs.
 *
 * @example
 * ```ts
 * export const verifyAccount = verifyAccountInformation(iamUserStep, { expected: (o) => o.expected_account_information });
 * ```
 */
export function verifyAccountInformation<T extends PlaybookTypes>(define: StepConstructor<T>, spec: AccountInformationSpec<T>): Step<T, AccountInformationData> {
  return define<AccountInformationData>({
    name: spec.name ?? 'verifyAccountInformation',
    stage: 'evidence',
    description: "Verify the account's information (primary and alternate contacts) against the expected values, because an attacker may have changed it",
    iamActions: ['account:GetContactInformation', 'account:GetAlternateContact', ...EVIDENCE_IAM_ACTIONS],
    data: AccountInformationDataSchema,
    async run({ clients, options, incident, evidence, now }) {
      const primary = strings((await clients.account.send(new GetContactInformationCommand({}))).ContactInformation) as Record<string, string>;
      const alternates: Record<string, Record<string, string> | null> = {};
      for (const type of ALTERNATE_CONTACT_TYPES) {
        try {
          const out = await clients.account.send(new GetAlternateContactCommand({ AlternateContactType: type }));
          const { AlternateContactType: _type, ...contact } = strings(out.AlternateContact);
          alternates[type] = contact;
        } catch (error) {
          // The Account API answers an unset alternate contact with ResourceNotFoundException.
          if (!hasErrorCode(error, 'ResourceNotFoundException')) throw error;
          alternates[type] = null;
        }
      }
      const expected = spec.expected(options);
      const drift = expected ? accountDrift(expected, primary, alternates) : [];
      const ref = await evidence.putJson(incident.incidentId, 'account-information.json', {
        accountId: incident.accountId,
        readAt: now().toISOString(),
        primaryContact: primary,
        alternateContacts: alternates,
        expected: expected ?? null,
        drift,
      });
      const data = { primaryContact: primary, alternateContacts: alternates, compared: Boolean(expected), drift, evidenceKey: ref.key };
      const missing = ALTERNATE_CONTACT_TYPES.filter((t) => alternates[t] === null);
      const unset = missing.length ? `; no ${missing.join(', ')} alternate contact` : '';
      if (!expected) {
        return { status: 'done', summary: `recorded the account's contact information (no expected values configured, so nothing was compared)${unset}`, data, evidence: [ref] };
      }
      if (drift.length === 0) return { status: 'done', summary: `the account's contact information matches the expected values${unset}`, data, evidence: [ref] };
      const described = drift.map((d) => `${d.field} is ${d.actual === null ? 'not set' : JSON.stringify(d.actual)}, expected ${JSON.stringify(d.expected)}`);
      return { status: 'done', summary: `ACCOUNT INFORMATION DRIFT (an attacker may have changed it): ${described.join('; ')}`, data, evidence: [ref] };
    },
  });
}
