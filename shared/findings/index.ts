export { ACCESS_KEY_USER_TYPES, databaseNameOf, MANUAL_RESOURCE_TYPES, parseEvent, parseFindingMessage, parseMessage, responderResourceType } from './parse.ts';
export type { IgnoredFinding, ParsedMessage, ReleaseMessage, ResumeMessage } from './parse.ts';
export { budgetOrigin, FINDING_ORIGINS, generationId, generationOf, incidentIdFor, ORIGINS, PLAYBOOK_NAMES } from './incident.ts';
export type { DerivedFrom, FindingOrigin, Incident, IncidentResource, Origin, PlaybookName, Redelivery } from './incident.ts';
export { cleanText } from './text.ts';
export {
  GUARDDUTY_DETAIL_TYPE,
  HANDOFF_DETAIL_TYPE,
  HANDOFF_SOURCE,
  IncidentIdSchema,
  InstanceIdSchema,
  MANUAL_DETAIL_TYPE,
  MANUAL_RELEASE_DETAIL_TYPE,
  MANUAL_SOURCE,
  PrincipalSchema,
  REDRIVE_DETAIL_TYPE,
  REDRIVE_SOURCE,
  RESPONDERS_BUS_EVENTS,
  RESUME_DETAIL_TYPE,
  RESUME_SOURCE,
} from './schemas.ts';
export type { HandoffAccessKeyDetails, HandoffDetail, HandOffTarget } from './schemas.ts';
