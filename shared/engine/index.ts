export { runPlaybook, iamActionsOf } from './run.ts';
export { executeStep } from './execute.ts';
export type { ExecutedOutcome, Execution } from './execute.ts';
export type { DeliveryResult, EngineDeps } from './run.ts';
export { evaluateGates, matchesPattern } from './gates.ts';
export type { GateResult, GateSubject } from './gates.ts';
export { STAGES, STEP_STATUSES, INCIDENT_STATUSES } from './types.ts';
export type { DescribeContext, IncidentStatus, Mode, Playbook, Stage, StepContext, StepDefinition, StepOutcome, StepResult, StepStatus } from './types.ts';
