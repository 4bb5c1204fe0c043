import { defineReleaseAction, defineStep } from '../../engine/index.ts';
import type { ContainerCapture, StandaloneContainer } from './describe.ts';
import type { ContainerOptions } from './options.ts';

/** The types the standalone container playbook's steps work with. */
export interface Container {
  resource: StandaloneContainer;
  capture: ContainerCapture;
  options: ContainerOptions;
}

/** Defines a step of the standalone container playbook (its data type inferred from its schema). */
export const containerStep = defineStep<Container>();

/** Defines a release step of the standalone container playbook that undoes no single containment step. */
export const containerReleaseAction = defineReleaseAction<Container>();
