import { describe, expect, it } from 'vitest';
import { accessKeyKey, principalKey, relatedIncidents } from '../../../../shared/actions/identity-review/index.ts';
import { ACCOUNT_ID } from '../../helpers/factories.ts';
import { anIdentContext, identStep, KEY, USER_ARN } from './helpers.ts';

const link = relatedIncidents(identStep, { keys: ({ incident, resource }) => [principalKey(incident.accountId, resource.arn), accessKeyKey(resource.accessKeyId)] });

describe('Identity review: linking incidents that share a principal or a key', () => {
  it('adds the incident under the principal and the key, and records the others found there', async () => {
    // Prepare
    const related: Record<string, string[]> = { [principalKey(ACCOUNT_ID, USER_ARN)]: ['inc-bbbb', 'inc-aaaa'], [accessKeyKey(KEY)]: [] };
    const asked: string[] = [];

    // Act
    const result = await link.run(anIdentContext({ relate: async (key) => (asked.push(key), related[key] ?? []) }));

    // Assess
    expect(asked).toEqual([`principal#${ACCOUNT_ID}#${USER_ARN}`, `access-key#${KEY}`]);
    expect(result.data).toEqual({ links: [{ key: `principal#${ACCOUNT_ID}#${USER_ARN}`, others: ['inc-aaaa', 'inc-bbbb'] }, { key: `access-key#${KEY}`, others: [] }] });
    expect(result.summary).toBe(`linked to 2 other incident(s) sharing principal#${ACCOUNT_ID}#${USER_ARN}: inc-aaaa, inc-bbbb`);
    expect(link.stage).toBe('evidence');
    expect(link.iamActions).toEqual([]);
  });

  it('says when no other incident shares them yet, and skips with no key', async () => {
    expect((await link.run(anIdentContext())).summary).toMatch(/^no other incident shares/);
    const none = relatedIncidents(identStep, { keys: () => [''] });
    expect(await none.run(anIdentContext())).toMatchObject({ status: 'skipped' });
  });
});
