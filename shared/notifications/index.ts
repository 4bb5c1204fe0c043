export { isNotifiedChange, MAX_LISTED_STEPS, MAX_SUBJECT_CHARS, NOTIFIED_STATUSES, Notifier, renderNotice } from './notify.ts';
export type { IncidentStatusChange, Notice, NotificationStatus, NotifiedStatus, NotifierOptions, NotifyOutcome, RenderedMessage, UnhandledFindingNotice } from './notify.ts';
