/**
 * Waits for every call, so one failure does not leave the others unmade (every ENI, every
 * registration is attempted); then throws the first failure.
 *
 * @example
 * ```ts
 * await settleAll(enis.map((eni) => isolateInterface(ec2, eni, groups)));
 * ```
 */
export async function settleAll<T>(calls: Array<Promise<T>>): Promise<T[]> {
  const results = await Promise.allSettled(calls);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}
