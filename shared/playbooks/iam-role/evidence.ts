import { GetRolePolicyCommand, TagRoleCommand } from '@aws-sdk/client-iam';
import * as z from 'zod';
import { iamTags } from '../../actions/iam-tags.ts';
import { parsePolicyDocument } from '../../actions/role-sessions.ts';
import { incidentTags } from '../../actions/tagging.ts';
import { hasErrorCode } from '../../errors/index.ts';
import { EVIDENCE_IAM_ACTIONS } from '../../evidence/index.ts';
import { refusalOf } from './describe.ts';
import { roleStep } from './types.ts';

const NO_SUCH_ENTITY = ['NoSuchEntity', 'NoSuchEntityException'];

export const preserveRoleConfiguration = roleStep({
  name: 'preserveRoleConfiguration',
  stage: 'evidence',
  description: "Identify the IAM role: save its configuration as captured before containment (trust policy, attached and inline policies with their documents, instance profiles, tags, last use) to the evidence bucket",
  iamActions: [...EVIDENCE_IAM_ACTIONS, 'iam:GetRolePolicy'],
  async run({ evidence, incident, capture, resource: role, clients }) {
    // The inline policies the role had before containment (Firebreak's own are added after the capture).
    const inlinePolicies: Record<string, unknown> = {};
    for (const name of capture.inlinePolicyNames) {
      try {
        const out = await clients.iam.send(new GetRolePolicyCommand({ RoleName: role.roleName, PolicyName: name }));
        inlinePolicies[name] = parsePolicyDocument(out.PolicyDocument);
      } catch (error) {
        if (!hasErrorCode(error, ...NO_SUCH_ENTITY)) throw error;
        inlinePolicies[name] = null; // deleted since the capture: the name is what is left
      }
    }
    const ref = await evidence.putJson(incident.incidentId, 'role-configuration.json', {
      incident,
      captureBeforeContainment: capture,
      getRole: role.raw,
      inlinePolicies,
    });
    return { status: 'done', summary: `configuration of role ${role.roleName} saved with ${Object.keys(inlinePolicies).length} inline policy document(s) (sha256 ${ref.sha256.slice(0, 12)}…)`, evidence: [ref] };
  },
});

/** What tagRole records: the tags it wrote, as a map. */
const TagRoleDataSchema = z.object({ tags: z.record(z.string(), z.string()) });

export const tagRole = roleStep({
  name: 'tagRole',
  stage: 'evidence',
  description: 'Tag the role with the incident id, finding, ticket, status and containment time',
  iamActions: ['iam:TagRole'],
  data: TagRoleDataSchema,
  async run({ clients, resource: role, incident, config, now }) {
    const refusal = refusalOf(incident, role, config);
    if (refusal) return { status: 'skipped', summary: `${refusal}; it was not tagged` };
    if (role.federation.identityCenter) return { status: 'skipped', summary: `role ${role.roleName} belongs to IAM Identity Center, which only AWS may change: it was not tagged` };
    const tags = iamTags(incidentTags(incident, { 'firebreak:status': 'contained', 'firebreak:contained-at': now().toISOString() }));
    await clients.iam.send(new TagRoleCommand({ RoleName: role.roleName, Tags: tags }));
    return { status: 'done', summary: `tagged role ${role.roleName} with ${tags.map((t) => t.Key).join(', ')}`, data: { tags: Object.fromEntries(tags.map((t) => [t.Key!, t.Value!])) } };
  },
});
