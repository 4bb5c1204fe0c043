import { randomInt } from 'node:crypto';
import { GetLoginProfileCommand, UpdateLoginProfileCommand } from '@aws-sdk/client-iam';
import { CreateSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import type { Clients } from '../../aws/index.ts';
import { mapLimit } from '../../actions/regions.ts';
import { INCIDENT_ID_TAG } from '../../actions/tagging.ts';
import { hasErrorCode } from '../../errors/index.ts';
import { SWEEP_SWITCHES, sweepOff } from './options.ts';
import { protectionFor } from './protection.ts';
import { accountStep } from './types.ts';

const CONCURRENCY = 5;

/** 64 characters of every class: above any password policy IAM accepts but its 128-character maximum. */
const PASSWORD_LENGTH = 64;
const CLASSES = ['ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz', '23456789', '!@#$%^&*()_+-=[]{}|'] as const;

/** A random password with at least one character of every class IAM password policies may require. */
export function randomPassword(length = PASSWORD_LENGTH): string {
  const all = CLASSES.join('');
  const chars = [...CLASSES.map((c) => c[randomInt(c.length)]!), ...Array.from({ length: length - CLASSES.length }, () => all[randomInt(all.length)]!)];
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}

/** Where a user's new password is kept for the account owners (Secrets Manager names take no comma; IAM user names may). */
export const passwordSecretName = (incidentId: string, userName: string): string => `firebreak/${incidentId}/console-password/${userName.replace(/,/g, '_')}`;

const PasswordResetSchema = z.object({
  users: z.array(
    z.object({
      userName: z.string(),
      action: z.enum(['reset', 'no-console-access', 'protected', 'refused']),
      /** The secret holding the new password (reset only). */
      secretArn: z.string().optional(),
      reason: z.string().optional(),
    }),
  ),
  note: z.string(),
});

/**
 * Forces a new password on every console user of the account, except protected principals.
 * `UpdateLoginProfile` with `PasswordResetRequired` alone would let whoever knows the current
 * password — the attacker — sign in and choose the next one; so each user gets a new random
 * password, stored first in Secrets Manager (one secret per user, tagged with the incident) for the
 * account owners to hand over, and must change it at the next sign-in. Old passwords cannot be
 * restored by anyone: release says so. Runs only in `full` mode with the sweep enabled.
 */
export const resetConsolePasswords = accountStep({
  name: 'resetConsolePasswords',
  stage: 'contain',
  description: 'Give every console user a new random password kept in Secrets Manager, with a reset required at next sign-in, except protected principals',
  iamActions: ['iam:GetLoginProfile', 'iam:UpdateLoginProfile', 'secretsmanager:CreateSecret', 'secretsmanager:TagResource', 'secretsmanager:PutSecretValue'],
  minimumMode: 'full',
  enabledBy: SWEEP_SWITCHES.consolePasswords,
  data: PasswordResetSchema,
  async run({ options, config, incident, clients, resource }) {
    const off = sweepOff(options, 'console_passwords');
    if (off) return { status: 'skipped', summary: `no password was changed: ${off}` };
    const isProtected = await protectionFor(config, incident, clients);
    const users = await mapLimit(resource.users, CONCURRENCY, async (user) => {
      const protection = isProtected(user);
      if (protection) return { userName: user.userName, action: 'protected' as const, reason: protection };
      const hasConsole = await clients.iam.send(new GetLoginProfileCommand({ UserName: user.userName })).then(
        () => true,
        (error: unknown) => {
          if (hasErrorCode(error, 'NoSuchEntity', 'NoSuchEntityException')) return false;
          throw error;
        },
      );
      if (!hasConsole) return { userName: user.userName, action: 'no-console-access' as const };
      const password = randomPassword();
      const secretArn = await keepPassword(clients, incident.incidentId, user.userName, password);
      try {
        await clients.iam.send(new UpdateLoginProfileCommand({ UserName: user.userName, Password: password, PasswordResetRequired: true }));
      } catch (error) {
        // The account's password policy refused it (e.g. a minimum above 64 characters): say so, go on with the others.
        if (hasErrorCode(error, 'PasswordPolicyViolation', 'PasswordPolicyViolationException')) {
          return { userName: user.userName, action: 'refused' as const, reason: `the account's password policy refused the new password: ${(error as Error).message.slice(0, 200)}` };
        }
        throw error;
      }
      return { userName: user.userName, action: 'reset' as const, secretArn };
    });
    const of = (a: string) => users.filter((u) => u.action === a);
    const refused = of('refused').map((u) => u.userName);
    return {
      status: 'done',
      summary:
        `gave ${of('reset').length} console user(s) a new random password (kept in Secrets Manager under firebreak/${incident.incidentId}/console-password/, reset required at next sign-in); ` +
        `${of('no-console-access').length} user(s) have no console password; ${of('protected').length} protected principal(s) left alone` +
        (refused.length ? `; the password policy refused ${refused.length}: ${refused.slice(0, 10).join(', ')} (reset them by hand)` : ''),
      data: {
        users,
        note: 'the old passwords are gone: release cannot restore them; the account owners hand each user the password kept in Secrets Manager (or set another), and the user must change it at the next sign-in',
      },
    };
  },
});

/** Stores the new password before IAM gets it, so that it is never lost; a redelivery replaces the value. */
async function keepPassword(clients: Pick<Clients, 'secretsManager'>, incidentId: string, userName: string, password: string): Promise<string> {
  const name = passwordSecretName(incidentId, userName);
  const value = JSON.stringify({ userName, password, passwordResetRequired: true, incidentId });
  try {
    const out = await clients.secretsManager.send(
      new CreateSecretCommand({
        Name: name,
        Description: `Firebreak ${incidentId}: the new console password of IAM user ${userName} (the credential sweep replaced the old one; a reset is required at next sign-in)`,
        SecretString: value,
        Tags: [
          { Key: INCIDENT_ID_TAG, Value: incidentId },
          { Key: 'firebreak:iam-user', Value: userName },
        ],
      }),
    );
    return out.ARN ?? name;
  } catch (error) {
    if (!hasErrorCode(error, 'ResourceExistsException')) throw error;
    const out = await clients.secretsManager.send(new PutSecretValueCommand({ SecretId: name, SecretString: value }));
    return out.ARN ?? name;
  }
}
