export { MANUAL_RESOURCE_TYPES, parseFindingMessage, parseMessage } from './parse.ts';
export type { IgnoredFinding, ParsedMessage, ReleaseMessage } from './parse.ts';
export { incidentIdFor, PLAYBOOK_NAMES } from './incident.ts';
export type { Incident, IncidentResource, Origin, PlaybookName } from './incident.ts';
export { cleanText } from './text.ts';
export {
  GUARDDUTY_DETAIL_TYPE,
  IncidentIdSchema,
  InstanceIdSchema,
  MANUAL_DETAIL_TYPE,
  MANUAL_RELEASE_DETAIL_TYPE,
  MANUAL_SOURCE,
  PrincipalSchema,
} from './schemas.ts';
