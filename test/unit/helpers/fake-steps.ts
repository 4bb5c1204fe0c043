import { defineStep } from '../../../shared/engine/index.ts';

/** The types of a minimal fake playbook, for engine tests that only need steps. */
export interface FakeTypes {
  resource: { id: string };
  capture: { id: string };
  options: Record<string, never>;
}

/** Defines a step of the fake playbook. */
export const fakeStep = defineStep<FakeTypes>();

/** A step body that succeeds at once. */
export const succeeds = async () => ({ status: 'done' as const, summary: 'ok' });
