import type { IncidentRecord } from '../ledger/index.ts';
import type { StepOutcome } from '../vocabulary/index.ts';

/**
 * An outcome no later delivery changes: the step is done, or it ran and found nothing to do
 * (skipped, with an attempt). A step skipped without running — for the mode (another mode may run
 * it) or because a step it requires failed — is not final.
 */
export const isFinalOutcome = (outcome: StepOutcome | undefined): boolean => outcome?.status === 'done' || (outcome?.status === 'skipped' && outcome.attempts > 0);

/**
 * True when the incident is contained and every step of the playbook has a final outcome: a
 * further delivery (a redrive, GuardDuty re-publishing the finding, a duplicate) has nothing to
 * do, so it reads nothing from AWS, runs no step and changes no step's record — only the delivery
 * is counted. A step that asks for it (`revisitWhenSkipped`) keeps a skipped incident unsettled.
 *
 * @example
 * ```ts
 * settled(playbook.steps, record) // true: contained, every step done or skipped by itself
 * ```
 */
export function settled(steps: ReadonlyArray<{ name: string; revisitWhenSkipped?: boolean }>, record: Pick<IncidentRecord, 'status' | 'steps'> | undefined): boolean {
  return (
    record?.status === 'contained' &&
    // Only all together: a step skipped because a step it comes after had failed would do
    // something once that step is done, so one final-looking outcome alone proves nothing.
    steps.every((s) => {
      const outcome = record.steps?.[s.name];
      return isFinalOutcome(outcome) && !(s.revisitWhenSkipped && outcome?.status === 'skipped');
    })
  );
}

