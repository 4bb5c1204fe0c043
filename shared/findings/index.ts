export { parseFindingMessage } from './parse.ts';
export { incidentIdFor, PLAYBOOK_NAMES, ORIGINS } from './incident.ts';
export type { Incident, IncidentResource, Origin, PlaybookName } from './incident.ts';
export { GUARDDUTY_DETAIL_TYPE, MANUAL_DETAIL_TYPE, MANUAL_SOURCE } from './schemas.ts';
