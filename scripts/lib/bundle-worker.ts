// A warm "Lambda container" for one function: imports the deployed bundle once and
// runs each batch it is sent over IPC, like the Lambda runtime does.
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';

interface Invoke {
  event: unknown;
  functionName: string;
  functionArn: string;
  memoryMb: number;
  timeoutSeconds: number;
}

const bundlePath = process.argv[2];
if (!bundlePath) throw new Error('usage: bundle-worker.ts <index.mjs>');
let handler: ((event: unknown, context: unknown) => Promise<unknown>) | undefined;
let initError: unknown;
try {
  handler = ((await import(pathToFileURL(bundlePath).href)) as { handler: typeof handler }).handler;
} catch (error) {
  initError = error;
}

process.on('message', async (msg: Invoke) => {
  if (!handler) {
    const e = initError as Error;
    process.send!({ ok: false, error: { name: e?.name, message: e?.message, phase: 'init' } });
    return;
  }
  const deadline = Date.now() + msg.timeoutSeconds * 1000;
  const context = {
    functionName: msg.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: msg.functionArn,
    memoryLimitInMB: String(msg.memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${msg.functionName}`,
    logStreamName: 'firebreak-local-drain',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  try {
    const result = await handler(msg.event, context);
    process.send!({ ok: true, result });
  } catch (error) {
    const e = error as Error;
    process.send!({ ok: false, error: { name: e?.name, message: e?.message, phase: 'invoke' } });
  }
});
process.send!({ ready: true });
