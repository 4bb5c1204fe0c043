export { parseFindingMessage, parseMessage } from './parse.ts';
export type { ParsedMessage, ReleaseMessage } from './parse.ts';
export { incidentIdFor, PLAYBOOK_NAMES, ORIGINS } from './incident.ts';
export type { Incident, IncidentResource, Origin, PlaybookName } from './incident.ts';
export { GUARDDUTY_DETAIL_TYPE, IncidentIdSchema, MANUAL_DETAIL_TYPE, MANUAL_RELEASE_DETAIL_TYPE, MANUAL_SOURCE, PrincipalSchema } from './schemas.ts';
