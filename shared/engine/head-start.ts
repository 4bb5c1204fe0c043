/**
 * Isolation first. The contain stage's steps run concurrently, but on a cold function they share
 * one thread: every other step's claim, client loading and response parsing used to come before
 * the isolation request (ten ledger claims, the Auto Scaling and load balancer look-ups). The
 * isolation step, and the same-stage steps it requires or comes after, start at once; the other
 * containment steps start when it has finished, or after a head start, whichever comes first, so a
 * slow or throttled isolation never holds them for long (an Auto Scaling group replaces an
 * unhealthy instance only after its health checks fail, tens of seconds after isolation).
 */
import type { AnyStep, PlaybookTypes } from './step.ts';

/** How long the other containment steps wait for the isolation step at most (docs/decisions.md, "Isolation first"). */
export const ISOLATION_HEAD_START_MS = 1000;

/** The isolation step and the steps of `steps` it requires or comes after, transitively. */
export function isolationPath<T extends PlaybookTypes>(isolation: AnyStep<T>, steps: readonly AnyStep<T>[]): Set<AnyStep<T>> {
  const path = new Set<AnyStep<T>>();
  const visit = (step: AnyStep<T>) => {
    if (path.has(step) || !steps.includes(step)) return;
    path.add(step);
    [...step.requires, ...step.after].forEach(visit);
  };
  visit(isolation);
  return path;
}

/** Resolves when `isolated` settles or after `ms`, whichever comes first; never rejects, and leaves no timer behind. */
export function headStart(isolated: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    isolated.then(done, done);
  });
}
