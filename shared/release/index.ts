export { MAX_REASON_LENGTH, releaseIncident } from './run.ts';
export type { ReleaseDeps, ReleaseLedger } from './run.ts';
export { RELEASE_OUTCOMES, RELEASE_VIA } from './types.ts';
export type { ReleaseOutcome, ReleaseRequest, ReleaseResult, ReleaseStepContext, ReleaseStepDefinition, ReleaseStepResult, ReleaseVia } from './types.ts';
