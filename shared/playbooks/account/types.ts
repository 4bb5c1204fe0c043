import { defineReleaseAction, defineStep } from '../../engine/index.ts';
import type { AccountCapture, AwsAccount } from './describe.ts';
import type { AccountOptions } from './options.ts';

/** The types the whole-account playbook's steps work with. */
export interface Account {
  resource: AwsAccount;
  capture: AccountCapture;
  options: AccountOptions;
}

/** Defines a step of the whole-account playbook (its data type inferred from its schema). */
export const accountStep = defineStep<Account>();

/** Defines a release step of the whole-account playbook that undoes no single containment step. */
export const accountReleaseAction = defineReleaseAction<Account>();
