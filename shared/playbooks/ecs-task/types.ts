import { defineReleaseAction, defineStep } from '../../engine/index.ts';
import type { EcsTask, EcsTaskCapture } from './describe.ts';
import type { EcsTaskOptions } from './options.ts';

/** The types the ECS task playbook's steps work with. */
export interface Ecs {
  resource: EcsTask;
  capture: EcsTaskCapture;
  options: EcsTaskOptions;
}

/** Defines a step of the ECS task playbook (its data type inferred from its schema). */
export const ecsStep = defineStep<Ecs>();

/** Defines a release step of the ECS task playbook that undoes no single containment step. */
export const ecsReleaseAction = defineReleaseAction<Ecs>();
