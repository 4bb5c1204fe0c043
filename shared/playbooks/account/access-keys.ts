import { UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import * as z from 'zod';
import { mapLimit } from '../../actions/regions.ts';
import { hasErrorCode } from '../../errors/index.ts';
import { accessKeysOf } from './describe.ts';
import { SWEEP_SWITCHES, sweepOff } from './options.ts';
import { protectionFor } from './protection.ts';
import { accountStep } from './types.ts';

/** Keys changed at once (IAM throttles bursts of writes per account). */
const CONCURRENCY = 5;

const KeyDecisionSchema = z.object({
  userName: z.string(),
  accessKeyId: z.string(),
  /** The key's status before Firebreak touched it (from the first delivery's capture when it had the key). */
  previousStatus: z.string(),
  /** `deactivated`: Firebreak made it Inactive; `already-inactive`; `protected`: left alone, see `reason`. */
  action: z.enum(['deactivated', 'already-inactive', 'protected']),
  reason: z.string().optional(),
});

const SweepKeysSchema = z.object({ keys: z.array(KeyDecisionSchema) });

/**
 * Deactivates every IAM user access key of the account (never deletes one: release reactivates
 * them), except those of protected principals. Runs only in `full` mode with
 * `credential_sweep.enabled` (and `credential_sweep.access_keys`, on by default): without them the
 * function is not even granted iam:UpdateAccessKey. A key's status before the sweep comes from the
 * first delivery's capture, so a sweep that failed half way and runs again still reactivates on
 * release exactly the keys that were active before.
 */
export const deactivateAccessKeys = accountStep({
  name: 'deactivateAccessKeys',
  stage: 'contain',
  description: 'Deactivate every IAM user access key of the account, except protected principals\'',
  iamActions: ['iam:UpdateAccessKey'],
  minimumMode: 'full',
  enabledBy: SWEEP_SWITCHES.accessKeys,
  data: SweepKeysSchema,
  async run({ options, config, incident, clients, resource, capture }) {
    const off = sweepOff(options, 'access_keys');
    if (off) return { status: 'skipped', summary: `no access key was touched: ${off}` };
    const isProtected = await protectionFor(config, incident, clients);
    const before = new Map(capture.accessKeys.map((k) => [k.accessKeyId, k.status]));
    const work = resource.users.flatMap((user) => user.accessKeys.map((key) => ({ user, key, protection: isProtected(user) })));
    const keys = await mapLimit(work, CONCURRENCY, async ({ user, key, protection }) => {
      const previousStatus = before.get(key.accessKeyId) ?? key.status;
      const decided = { userName: user.userName, accessKeyId: key.accessKeyId, previousStatus };
      if (protection) return { ...decided, action: 'protected' as const, reason: protection };
      if (key.status === 'Inactive') return { ...decided, action: previousStatus === 'Active' ? ('deactivated' as const) : ('already-inactive' as const) };
      await clients.iam.send(new UpdateAccessKeyCommand({ UserName: user.userName, AccessKeyId: key.accessKeyId, Status: 'Inactive' }));
      return { ...decided, action: 'deactivated' as const };
    });
    const count = (action: string) => keys.filter((k) => k.action === action).length;
    const protectedUsers = [...new Set(keys.filter((k) => k.action === 'protected').map((k) => k.userName))];
    return {
      status: 'done',
      summary:
        `deactivated ${count('deactivated')} access key(s) of ${new Set(keys.filter((k) => k.action === 'deactivated').map((k) => k.userName)).size} user(s); ` +
        `${count('already-inactive')} already inactive; ${count('protected')} left active for protected principals${protectedUsers.length ? ` (${protectedUsers.slice(0, 10).join(', ')}${protectedUsers.length > 10 ? ', …' : ''})` : ''}`,
      data: { keys },
    };
  },
  undo: {
    name: 'reactivateAccessKeys',
    description: 'Reactivate the access keys the sweep deactivated that are still inactive as Firebreak left them',
    iamActions: ['iam:ListAccessKeys', 'iam:UpdateAccessKey'],
    async run({ clients, recorded }) {
      const deactivated = recorded.keys.filter((k) => k.action === 'deactivated');
      if (!deactivated.length) return { status: 'skipped', summary: 'the sweep deactivated no access key: nothing to reactivate' };
      const byUser = new Map<string, string[]>();
      for (const k of deactivated) byUser.set(k.userName, [...(byUser.get(k.userName) ?? []), k.accessKeyId]);
      const results = await mapLimit([...byUser], CONCURRENCY, async ([userName, keyIds]) => {
        const now = await accessKeysOf(clients.iam, userName).catch((error: unknown) => {
          if (hasErrorCode(error, 'NoSuchEntity', 'NoSuchEntityException')) return undefined;
          throw error;
        });
        return Promise.all(
          keyIds.map(async (accessKeyId) => {
            const key = now?.find((k) => k.accessKeyId === accessKeyId);
            if (!now) return { userName, accessKeyId, outcome: 'user-gone' as const };
            if (!key) return { userName, accessKeyId, outcome: 'key-gone' as const };
            // Someone activated it since (or it is being rotated): not Firebreak's to touch.
            if (key.status !== 'Inactive') return { userName, accessKeyId, outcome: 'already-active' as const };
            await clients.iam.send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId, Status: 'Active' }));
            return { userName, accessKeyId, outcome: 'reactivated' as const };
          }),
        );
      });
      const all = results.flat();
      const of = (o: string) => all.filter((r) => r.outcome === o).map((r) => `${r.userName}/${r.accessKeyId}`);
      const gone = [...of('user-gone'), ...of('key-gone')];
      return {
        status: of('reactivated').length ? 'done' : 'skipped',
        summary:
          `reactivated ${of('reactivated').length} access key(s)` +
          (of('already-active').length ? `; ${of('already-active').length} already active again` : '') +
          (gone.length ? `; ${gone.length} no longer exist (${gone.slice(0, 10).join(', ')})` : ''),
        data: { keys: all },
      };
    },
  },
});
