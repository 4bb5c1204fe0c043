import { describe, expect, it } from 'vitest';
import { trailEventOf } from '../../../../shared/actions/cloudtrail.ts';
import { ACTIVITY_LIMITS, addEvents, emptyActivity } from '../../../../shared/actions/identity-review/index.ts';
import { trailEvent } from './helpers.ts';

describe('Identity review: what the ledger keeps stays small', () => {
  it('keeps the activity of the worst review (every tally full, long hostile values) well under a DynamoDB item', () => {
    // Prepare: long values everywhere, more distinct values than any tally keeps.
    const long = (i: number, n: number) => `${'x'.repeat(n)}-${i}`;
    const raw = Array.from({ length: 400 }, (_, i) =>
      trailEvent({
        eventName: `CreateThing${i}`,
        eventSource: `${long(i, 60)}.amazonaws.com`,
        userAgent: long(i, 1000),
        sourceIPAddress: `2001:db8::${i.toString(16)}`,
        awsRegion: `region-${i}`,
        errorCode: i % 2 ? long(i, 300) : undefined,
        userIdentity: { type: 'AssumedRole', arn: `arn:aws:sts::111122223333:assumed-role/${long(i, 200)}/s`, accessKeyId: `ASIA${String(i).padStart(16, '0')}` },
        accessKeyId: `ASIA${String(i).padStart(16, '0')}`,
        requestParameters: { userName: long(i, 500) },
        responseElements: null,
        resources: [{ ResourceName: long(i, 3000) }],
      }),
    );

    // Act
    const activity = addEvents(emptyActivity(), raw.map(trailEventOf));

    // Assess
    expect(activity.changes).toHaveLength(ACTIVITY_LIMITS.changes);
    // Half the calls failed (no change): 200 writes, the rest past the limit.
    expect(activity.changesDropped).toBe(200 - ACTIVITY_LIMITS.changes);
    // The incident's ledger item holds every step: the review's share stays under a third of DynamoDB's 400 KB.
    expect(JSON.stringify(activity).length).toBeLessThan(130_000);
  });
});
