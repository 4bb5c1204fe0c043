import { defineReleaseAction, defineStep } from '../../engine/index.ts';
import type { S3Bucket, S3Capture } from './describe.ts';
import type { S3Options } from './options.ts';

/** The types the S3 bucket playbook's steps work with. */
export interface S3 {
  resource: S3Bucket;
  capture: S3Capture;
  options: S3Options;
}

/** Defines a step of the S3 bucket playbook (its data type inferred from its schema). */
export const s3Step = defineStep<S3>();

/** Defines a release step of the S3 bucket playbook that undoes no single containment step. */
export const s3ReleaseAction = defineReleaseAction<S3>();
