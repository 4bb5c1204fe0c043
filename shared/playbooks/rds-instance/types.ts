import { defineReleaseAction, defineStep } from '../../engine/index.ts';
import type { RdsCapture, RdsInstance } from './describe.ts';
import type { RdsOptions } from './options.ts';

/** The types the RDS playbook's steps work with. */
export interface Rds {
  resource: RdsInstance;
  capture: RdsCapture;
  options: RdsOptions;
}

/** Defines a step of the RDS playbook (its data type inferred from its schema). */
export const rdsStep = defineStep<Rds>();

/** Defines a release step of the RDS playbook that undoes no single containment step. */
export const rdsReleaseAction = defineReleaseAction<Rds>();
