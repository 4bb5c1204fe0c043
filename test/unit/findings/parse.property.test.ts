// Property tests: whatever arrives on the queue, the parser either returns incidents
// whose identifiers are safe to act on, or says why not with an InvalidFindingError —
// it never throws anything else (which would fail the message and, in the end, the DLQ).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidFindingError } from '../../../shared/errors/index.ts';
import { parseMessage } from '../../../shared/findings/index.ts';
import { fixtureEvent, fixtureNames } from '../helpers/factories.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every path (list of keys) to a value inside `value`. */
function pathsOf(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [prefix];
  const entries: [string | number, Json][] = Array.isArray(value) ? value.map((v, n) => [n, v]) : Object.entries(value);
  return [prefix, ...entries.flatMap(([k, v]) => pathsOf(v, [...prefix, k]))];
}

function replaceAt(root: Json, path: (string | number)[], replacement: Json): Json {
  if (path.length === 0) return replacement;
  const copy = structuredClone(root) as Record<string | number, Json>;
  let node = copy as Record<string | number, Json>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, Json>;
  node[path.at(-1)!] = replacement;
  return copy as Json;
}

/** Strings an attacker controls in names, tags and titles. */
const hostile = fc.oneof(
  fc.string(),
  fc.constantFrom('$(reboot)', '`id`', '; rm -rf /', '../../etc/passwd', '\u0000', '\u202e', 'i-0123456789abcdef0\n', '<script>', '"},{"x":"', 'a'.repeat(5000)),
);

const SAFE_RESOURCE_ID = /^[A-Za-z0-9:/._+=,@-]+$/;

function outcomeOf(body: string): 'parsed' | 'rejected' {
  try {
    const parsed = parseMessage(body);
    if (parsed.kind === 'findings') {
      for (const incident of parsed.incidents) {
        expect(incident.incidentId).toMatch(/^inc-[0-9a-f]{16}$/);
        expect(incident.resource.id).toMatch(SAFE_RESOURCE_ID);
        expect(incident.resource.id.length).toBeLessThanOrEqual(256);
        expect(incident.accountId).toMatch(/^\d{12}$/);
      }
    } else {
      expect(parsed.release.incidentId).toMatch(/^inc-[0-9a-f]{16}$/);
      expect(parsed.release.reason).not.toMatch(/[\u0000-\u001f\u007f]/);
    }
    return 'parsed';
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidFindingError);
    expect((error as InvalidFindingError).reasons.length).toBeGreaterThan(0);
    return 'rejected';
  }
}

describe('Property: parseMessage on hostile input', () => {
  it('answers any JSON body, or any string, with incidents or an InvalidFindingError — nothing else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue().map((v) => JSON.stringify(v)), fc.string()), (body) => {
        outcomeOf(body);
      }),
      { numRuns: 500 },
    );
  });

  it('survives any one field of any real GuardDuty fixture replaced by any value, keeping identifiers safe', () => {
    const fixtures = fixtureNames().map((name) => fixtureEvent(name) as Json);
    fc.assert(
      fc.property(fc.nat(fixtures.length - 1), fc.nat(), fc.oneof(fc.jsonValue(), hostile), (which, where, replacement) => {
        const event = fixtures[which]!;
        const paths = pathsOf(event);
        const mutated = replaceAt(event, paths[where % paths.length]!, replacement as Json);
        outcomeOf(JSON.stringify(mutated));
      }),
      { numRuns: 1000 },
    );
  });

  it('never lets a hostile instance id through as a resource to act on', () => {
    const event = fixtureEvent('ec2-c-cactivity-b.json');
    fc.assert(
      fc.property(hostile, (id) => {
        const mutated = structuredClone(event);
        mutated.detail.resource.instanceDetails.instanceId = id;
        const result = outcomeOf(JSON.stringify(mutated));
        if (result === 'parsed') expect(id).toMatch(/^i-[0-9a-f]{8,17}$/);
      }),
      { numRuns: 300 },
    );
  });
});
