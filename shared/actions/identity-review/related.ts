/**
 * Links incidents that share a principal or an access key in the ledger (one GuardDuty finding per
 * behaviour: the same stolen key raises several), so a responder reading one sees the others.
 */
import * as z from 'zod';
import type { PlaybookTypes, Step, StepContext } from '../../engine/index.ts';
import type { StepConstructor } from './trail.ts';

/** The ledger key of a principal (an IAM user or role ARN) in an account. */
export const principalKey = (accountId: string, arn: string): string => `principal#${accountId}#${arn}`;
/** The ledger key of an access key (AKIA… or ASIA…; ids are unique across AWS). */
export const accessKeyKey = (accessKeyId: string): string => `access-key#${accessKeyId}`;

export const RelatedIncidentsDataSchema = z.object({
  links: z.array(z.object({ key: z.string(), others: z.array(z.string()) })),
});
export type RelatedIncidentsData = z.infer<typeof RelatedIncidentsDataSchema>;

export interface RelatedIncidentsSpec<T extends PlaybookTypes> {
  /** The ledger name (default `linkRelatedIncidents`). */
  name?: string;
  /** The keys this incident is linked under: {@link principalKey}, {@link accessKeyKey}. */
  keys(ctx: StepContext<T, RelatedIncidentsData>): string[];
}

/**
 * Adds the incident to the ledger set of every key and records the other incidents found there
 * (stage `evidence`, cheap: one ledger write per key; a failure never holds containment).
 *
 * @example
 * ```ts
 * export const linkRelated = relatedIncidents(iamUserStep, {
 *   keys: ({ incident, resource }) => [principalKey(incident.accountId, resource.arn), accessKeyKey(resource.accessKeyId)],
 * });
 * ```
 */
export function relatedIncidents<T extends PlaybookTypes>(define: StepConstructor<T>, spec: RelatedIncidentsSpec<T>): Step<T, RelatedIncidentsData> {
  return define<RelatedIncidentsData>({
    name: spec.name ?? 'linkRelatedIncidents',
    stage: 'evidence',
    description: 'Link the incidents that share this principal or access key in the ledger',
    // The ledger is Firebreak's own store, granted by the module.
    iamActions: [],
    data: RelatedIncidentsDataSchema,
    async run(ctx) {
      const keys = [...new Set(spec.keys(ctx).filter(Boolean))];
      if (keys.length === 0) return { status: 'skipped', summary: 'no principal or access key to link incidents by' };
      const links = [];
      for (const key of keys) links.push({ key, others: (await ctx.relate(key)).filter((id) => id !== ctx.incident.incidentId).sort() });
      const others = [...new Set(links.flatMap((l) => l.others))];
      return {
        status: 'done',
        summary: others.length ? `linked to ${others.length} other incident(s) sharing ${links.filter((l) => l.others.length).map((l) => l.key).join(', ')}: ${others.join(', ')}` : `no other incident shares ${keys.join(', ')} yet (linked for later ones)`,
        data: { links },
      };
    },
  });
}
