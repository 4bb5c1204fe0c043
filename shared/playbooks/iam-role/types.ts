import { defineReleaseAction, defineStep } from '../../engine/index.ts';
import type { IamRole, IamRoleCapture } from './describe.ts';
import type { IamRoleOptions } from './options.ts';

/** The types the IAM role playbook's steps work with. */
export interface Role {
  resource: IamRole;
  capture: IamRoleCapture;
  options: IamRoleOptions;
}

/** Defines a step of the IAM role playbook (its data type inferred from its schema). */
export const roleStep = defineStep<Role>();

/** Defines a release step of the IAM role playbook that undoes no single containment step. */
export const roleReleaseAction = defineReleaseAction<Role>();
