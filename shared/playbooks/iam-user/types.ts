import { defineReleaseAction, defineStep } from '../../engine/index.ts';
import type { IamUserCapture, IamUserResource } from './describe.ts';
import type { IamUserOptions } from './options.ts';

/** The types the IAM user playbook's steps work with. */
export interface IamUserTypes {
  resource: IamUserResource;
  capture: IamUserCapture;
  options: IamUserOptions;
}

/** Defines a step of the IAM user playbook (its data type inferred from its schema). */
export const iamUserStep = defineStep<IamUserTypes>();

/** Defines a release step of the IAM user playbook that undoes no single containment step. */
export const iamUserReleaseAction = defineReleaseAction<IamUserTypes>();
