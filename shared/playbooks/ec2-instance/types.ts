import { defineReleaseAction, defineStep } from '../../engine/index.ts';
import type { Ec2Capture, Ec2Instance } from './describe.ts';
import type { Ec2Options } from './options.ts';

/** The types the EC2 playbook's steps work with. */
export interface Ec2 {
  resource: Ec2Instance;
  capture: Ec2Capture;
  options: Ec2Options;
}

/** Defines a step of the EC2 playbook (its data type inferred from its schema). */
export const ec2Step = defineStep<Ec2>();

/** Defines a release step of the EC2 playbook that undoes no single containment step. */
export const ec2ReleaseAction = defineReleaseAction<Ec2>();
