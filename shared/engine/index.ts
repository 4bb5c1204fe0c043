export { runPlaybook } from './run.ts';
export type { DeliveryResult, EngineDeps, EngineLedger, HandOffSender } from './run.ts';
export { MAX_REASON_LENGTH, releaseIncident } from './release.ts';
export type { ReleaseDeps, ReleaseLedger, ReleaseRequest, ReleaseSummary } from './release.ts';
export { executeStep } from './execute.ts';
export { relianceCounter } from './reliance.ts';
export type { Execution, Reported } from './execute.ts';
export { evaluateAccountGate, evaluateFindingGates, evaluateResourceGates, matchesPattern } from './gates.ts';
export type { GateResult, GateSubject } from './gates.ts';
export { defineReleaseAction, definePlaybook, defineStep, iamActionsOf, iamManifestOf, outputsReader, parseRecorded, releaseNameOf } from './playbook.ts';
export type { AnyLoadedPlaybook, AnyPlaybook, DescribeContext, FunctionRole, LoadedPlaybook, ManifestStatement, Playbook, PlaybookSpec, PlaybookStages, SplitPlaybookSpec, WholePlaybookSpec } from './playbook.ts';
export type {
  AnyStep,
  PlaybookTypes,
  ReleaseAction,
  ReleaseAsk,
  ReleaseContext,
  ReleaseEntry,
  ReleaseResult,
  RelianceCounter,
  Step,
  StepContext,
  StepOutputs,
  StepResult,
  StepSpec,
  Undo,
  UndoContext,
} from './step.ts';
export { EVIDENCE_RETRIES, PATIENCE_DEFAULTS, patienceFor, retryableFailure, retryInPlace, transientFailure, type Patience } from './patience.ts';
