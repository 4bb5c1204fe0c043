// `firebreak pause` / `firebreak resume`: the kill switch, without a terraform apply. Every function
// reads the parameter before acting (cached 30 s): paused, it changes nothing and holds new incidents.
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { pauseValue } from '../../shared/pause/index.ts';
import { whoIsCalling } from './aws-cli.ts';

export interface PauseCommandOptions {
  paused: boolean;
  parameter: string;
  reason?: string;
  log?: (line: string) => void;
  now?: () => Date;
}

/** Sets the pause parameter, recording who, when and why. Returns the exit code. */
export async function pauseCommand(opts: PauseCommandOptions): Promise<number> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const caller = await whoIsCalling();
  const at = (opts.now ?? (() => new Date()))().toISOString();
  const value = pauseValue({ paused: opts.paused, by: caller.arn, at, ...(opts.reason ? { reason: opts.reason } : {}) });
  await new SSMClient({}).send(new PutParameterCommand({ Name: opts.parameter, Value: value, Type: 'String', Overwrite: true }));
  log(
    opts.paused
      ? `Paused: ${opts.parameter} says so (by ${caller.arn} at ${at}). Within 30 s every Firebreak function of this deployment changes nothing; new incidents are recorded as held.`
      : `Resumed: ${opts.parameter} cleared (by ${caller.arn} at ${at}). Held incidents are acted on when GuardDuty publishes their findings again, or contain them now with firebreak contain.`,
  );
  return 0;
}
