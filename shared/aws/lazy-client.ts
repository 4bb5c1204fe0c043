/** What Firebreak uses of an SDK client it talks to through one call: `send`. */
export type SendOnly<C extends { send: unknown }> = Pick<C, 'send'>;

/**
 * A client whose SDK package is loaded (by dynamic import, a chunk of the function's bundle) and
 * which is built when it first sends, not when the function starts: the clients of notifications,
 * evidence and follow-ups stay out of a cold start's path to isolation. A load that fails is tried
 * again on the next send. Tests intercept it like any client: `mockClient(S3Client)` mocks the
 * class it builds.
 *
 * @example
 * ```ts
 * const sns = lazyClient(async () => new (await import('./sdk/client-sns.ts')).SNSClient({ region }));
 * await sns.send(new PublishCommand({ … }));
 * ```
 */
export function lazyClient<C extends { send(command: never, ...rest: never[]): Promise<unknown> }>(build: () => Promise<C>): SendOnly<C> {
  let client: Promise<C> | undefined;
  const send = async (...args: unknown[]): Promise<unknown> => {
    client ??= build().catch((error: unknown) => {
      client = undefined;
      throw error;
    });
    return ((await client).send as (...a: unknown[]) => Promise<unknown>)(...args);
  };
  return { send } as unknown as SendOnly<C>;
}
