import { describe, expect, it } from 'vitest';
import { incidentTags, tagList } from '../../../shared/actions/tagging.ts';
import { anIncident } from '../helpers/factories.ts';

describe('Function: incidentTags', () => {
  it('leaves the ticket out when there is none and keeps tag values within 256 characters without control characters', () => {
    // Act
    const tags = incidentTags(anIncident({ findingType: `T:EC2/${'x'.repeat(300)}\u0007` }));

    // Assess
    expect(tags.map((t) => t.Key)).toEqual(['firebreak:incident-id', 'firebreak:finding-id', 'firebreak:finding-type']);
    expect(tags[2]!.Value).toHaveLength(256);
    expect(incidentTags(anIncident({ findingType: 'a\u0007b' }))[2]!.Value).toBe('a b');
  });

  it("names the incident, the finding and the ticket, then the extra tags, whose keys win", () => {
    // Prepare
    const incident = anIncident({ ticket: 'SEC-1234' });

    // Act
    const tags = incidentTags(incident, { 'firebreak:instance-id': 'i-0a1b2c3d4e5f67890', 'firebreak:ticket': 'SEC-9' });

    // Assess
    expect(tags).toEqual([
      { Key: 'firebreak:incident-id', Value: incident.incidentId },
      { Key: 'firebreak:finding-id', Value: incident.findingId },
      { Key: 'firebreak:finding-type', Value: 'Backdoor:EC2/C&CActivity.B' },
      { Key: 'firebreak:ticket', Value: 'SEC-9' },
      { Key: 'firebreak:instance-id', Value: 'i-0a1b2c3d4e5f67890' },
    ]);
  });
});

describe('Function: tagList', () => {
  it('keeps the order of the map and cleans every value', () => {
    // Act
    const tags = tagList({ 'firebreak:status': 'released', 'firebreak:released-by': `alice\r\n${'y'.repeat(300)}` });

    // Assess
    expect(tags.map((t) => t.Key)).toEqual(['firebreak:status', 'firebreak:released-by']);
    expect(tags[0]!.Value).toBe('released');
    expect(tags[1]!.Value).toMatch(/^alice {2}y+$/);
    expect(tags[1]!.Value).toHaveLength(256);
  });
});
