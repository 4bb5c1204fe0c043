// Property tests: whatever arrives on the queue, the parser answers with incidents whose
// identifiers are safe to act on, an ignored finding (a sample, or a resource type no
// playbook handles) named by safe identifiers, a release request, or an InvalidFindingError
// saying why — never anything else (which would fail the message and, in the end, the DLQ).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidFindingError } from '../../../shared/errors/index.ts';
import { MANUAL_RESOURCE_TYPES, parseMessage } from '../../../shared/findings/index.ts';
import { fixtureEvent, fixtureNames, INSTANCE_ID, manualEvent } from '../helpers/factories.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = (string | number)[];
type Outcome = 'incidents' | 'ignored' | 'release' | 'rejected';

/** Every path (list of keys) to a value inside `value`. */
function pathsOf(value: Json, prefix: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return [prefix];
  const entries: [string | number, Json][] = Array.isArray(value) ? value.map((v, n) => [n, v]) : Object.entries(value);
  return [prefix, ...entries.flatMap(([k, v]) => pathsOf(v, [...prefix, k]))];
}

function replaceAt(root: Json, path: Path, replacement: Json): Json {
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
  fc.constantFrom('$(reboot)', '`id`', '; rm -rf /', '../../etc/passwd', '\u0000', '\u202e', 'i-0123456789abcdef0\n', '<script>', '"},{"x":"', 'a'.repeat(5000), '__proto__', 'constructor'),
);

const SAFE_ID = /^[A-Za-z0-9:/._+=,@-]+$/;
const CONTROL = /[\u0000-\u001f\u007f]/;

const expectSafe = (value: string): void => {
  expect(value).toMatch(SAFE_ID);
  expect(value.length).toBeLessThanOrEqual(256);
};

/** Parses `body` and checks the invariant of whatever came out; says which of the four outcomes it was. */
function outcomeOf(body: string): Outcome {
  let parsed;
  try {
    parsed = parseMessage(body);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidFindingError);
    expect((error as InvalidFindingError).reasons.length).toBeGreaterThan(0);
    return 'rejected';
  }
  switch (parsed.kind) {
    case 'findings':
      expect(parsed.incidents.length).toBeGreaterThan(0);
      for (const incident of parsed.incidents) {
        expect(incident.incidentId).toMatch(/^inc-[0-9a-f]{16}$/);
        expectSafe(incident.resource.id);
        for (const hint of Object.values(incident.resource.hints).flat()) expectSafe(hint);
        expect(incident.accountId).toMatch(/^\d{12}$/);
        expect(incident.findingId).toMatch(/^[A-Za-z0-9_-]{1,128}$/);
        expect(incident.title).not.toMatch(CONTROL);
        expect(incident.sample).toBe(false);
      }
      return 'incidents';
    case 'ignored': {
      const f = parsed.finding;
      expect(['sample', 'unhandled']).toContain(f.why);
      expect(f.findingId).toMatch(/^[A-Za-z0-9_-]{1,128}$/);
      expect(f.accountId).toMatch(/^\d{12}$/);
      expect(f.resourceType).toMatch(/^[A-Za-z0-9]{1,64}$/);
      expect(f.title).not.toMatch(CONTROL);
      expect(f.reason).not.toMatch(CONTROL);
      return 'ignored';
    }
    case 'release':
      expect(parsed.release.incidentId).toMatch(/^inc-[0-9a-f]{16}$/);
      expectSafe(parsed.release.resource.id);
      expect(parsed.release.reason).not.toMatch(CONTROL);
      return 'release';
    default:
      throw new Error(`parseMessage answered with an unknown kind: ${JSON.stringify(parsed).slice(0, 200)}`);
  }
}

const PUBLISHED_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'guardduty', 'published');

/** The hand-written fixtures and, when present, the findings other projects published: real shapes to mutate. */
function seedEvents(): Json[] {
  const published = existsSync(PUBLISHED_DIR)
    ? readdirSync(PUBLISHED_DIR)
        .filter((f) => f.endsWith('.json') && f !== 'expected.json')
        .sort()
        .map((f) => JSON.parse(readFileSync(join(PUBLISHED_DIR, f), 'utf8')) as Json)
    : [];
  return [...fixtureNames().map((name) => fixtureEvent(name) as Json), ...published];
}

describe('Property: parseMessage on hostile input', () => {
  it('answers any JSON body, or any string, with incidents, an ignored finding, a release or an InvalidFindingError — nothing else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue().map((v) => JSON.stringify(v)), fc.string()), (body) => {
        outcomeOf(body);
      }),
      { numRuns: 500 },
    );
  });

  it('survives any one field of any real GuardDuty finding replaced by any value, keeping identifiers safe', () => {
    const seeds = seedEvents();
    fc.assert(
      fc.property(fc.nat(seeds.length - 1), fc.nat(), fc.oneof(fc.jsonValue(), hostile), (which, where, replacement) => {
        const event = seeds[which]!;
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
        if (result === 'incidents') expect(id).toMatch(/^i-[0-9a-f]{8,17}$/);
      }),
      { numRuns: 300 },
    );
  });

  it('never turns a sample into an incident, whatever else in it is changed', () => {
    const sample = fixtureEvent('edge-sample.json') as Json;
    const markers: Path[] = [
      ['detail', 'service', 'additionalInfo', 'sample'],
      ['detail', 'title'],
    ];
    // A replacement on a marker, or on an object holding one, may take the marker away: those paths are not this property's.
    const keepsMarkers = (path: Path) => !markers.some((m) => m.slice(0, path.length).every((k, n) => k === path[n]));
    const paths = pathsOf(sample).filter(keepsMarkers);
    fc.assert(
      fc.property(fc.nat(paths.length - 1), fc.oneof(fc.jsonValue(), hostile), (where, replacement) => {
        const mutated = replaceAt(sample, paths[where]!, replacement as Json);
        expect(outcomeOf(JSON.stringify(mutated))).not.toBe('incidents');
      }),
      { numRuns: 500 },
    );
  });

  it('never routes a resource type no playbook handles: it is ignored or rejected', () => {
    const handled = new Set(['Instance', 'S3Bucket', 'AccessKey', 'ECSCluster', 'Container', 'RDSDBInstance']);
    const event = fixtureEvent('ec2-c-cactivity-b.json');
    fc.assert(
      fc.property(fc.oneof(fc.stringMatching(/^[A-Za-z0-9]{1,64}$/), hostile), (resourceType) => {
        fc.pre(!handled.has(resourceType));
        const mutated = structuredClone(event);
        mutated.detail.resource.resourceType = resourceType;
        expect(['ignored', 'rejected']).toContain(outcomeOf(JSON.stringify(mutated)));
      }),
      { numRuns: 300 },
    );
  });

  it('opens a manual incident only for a resource type responders may name, with an id of its grammar', () => {
    const types = fc.oneof(fc.constantFrom(...Object.keys(MANUAL_RESOURCE_TYPES)), hostile);
    const ids = fc.oneof(hostile, fc.constantFrom(INSTANCE_ID, 'acme-prod-customer-exports', 'alice.nguyen', '111122223333', 'orders-aurora-instance-1'));
    fc.assert(
      fc.property(types, ids, (resourceType, id) => {
        const body = JSON.stringify(manualEvent({ resource: { resourceType, id }, ticket: 'SEC-1234', requestedBy: 'alice@example.com' }));
        const result = outcomeOf(body);
        if (result === 'incidents') expect(Object.keys(MANUAL_RESOURCE_TYPES)).toContain(resourceType);
        expect(['incidents', 'rejected']).toContain(result);
      }),
      { numRuns: 500 },
    );
  });
});
