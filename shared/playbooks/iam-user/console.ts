import { randomInt } from 'node:crypto';
import { CreateLoginProfileCommand, DeleteLoginProfileCommand, GetLoginProfileCommand, GetUserCommand } from '@aws-sdk/client-iam';
import { CreateSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import { incidentTags } from '../../actions/tagging.ts';
import { hasErrorCode } from '../../errors/index.ts';
import { identifyUser, userToActOn } from './identify.ts';
import { iamUserStep } from './types.ts';

const NO_SUCH_ENTITY = ['NoSuchEntity', 'NoSuchEntityException'];

/** Where a console password set by release is kept for the user's owner. */
export const consolePasswordSecretName = (userName: string, incidentId: string): string => `firebreak/iam-user/${userName}/${incidentId}/console-password`;

const CLASSES = ['ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz', '23456789', '!@#$%^&*()_+-=[]{}|'] as const;

/**
 * A random console password (crypto.randomInt): 32 characters with every character class, which
 * any account password policy of at most 128 characters accepts.
 */
export function randomPassword(length = 32): string {
  const all = CLASSES.join('');
  const chars = CLASSES.map((c) => c[randomInt(c.length)]!);
  while (chars.length < length) chars.push(all[randomInt(all.length)]!);
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j]!, chars[i]!];
  }
  return chars.join('');
}

const ConsoleSchema = z.object({ userName: z.string(), createDate: z.string().optional(), passwordResetRequired: z.boolean() });

export const removeConsoleAccess = iamUserStep({
  name: 'removeConsoleAccess',
  stage: 'contain',
  description: "Console findings: delete the user's login profile (console password), after recording that it existed",
  iamActions: ['iam:DeleteLoginProfile'],
  requires: [identifyUser],
  data: ConsoleSchema,
  async run(ctx) {
    const { exposure } = ctx.resource;
    const { identified, now } = await userToActOn(ctx);
    const userName = identified.userName;
    if (!exposure.console && !exposure.everyCredential) return { status: 'skipped', summary: `an access-key finding: the console password of ${userName} is left as it is` };
    if (!now) return { status: 'skipped', summary: `user ${userName} no longer exists: no console password to remove` };
    const before = identified.before.loginProfile;
    if (!before) return { status: 'skipped', summary: `${userName} had no console password (login profile) to remove` };
    const recorded = { userName, ...(before.createDate ? { createDate: before.createDate } : {}), passwordResetRequired: before.passwordResetRequired };
    if (!now.loginProfile) return { status: 'done', summary: `the console password of ${userName} is already removed`, data: recorded };
    try {
      await ctx.clients.iam.send(new DeleteLoginProfileCommand({ UserName: userName }));
    } catch (error) {
      if (!hasErrorCode(error, ...NO_SUCH_ENTITY)) throw error;
    }
    return {
      status: 'done',
      summary: `deleted the console password (login profile, created ${before.createDate ?? '?'}) of ${userName}: nobody can sign in to the console as ${userName}; release sets a new random password (the old one cannot be recovered)`,
      data: recorded,
    };
  },
  undo: {
    name: 'restoreConsoleAccess',
    description: 'Give the user a console password again: a new random one, kept in Secrets Manager, to be changed at first sign-in (the old password cannot be recovered)',
    iamActions: ['iam:GetUser', 'iam:GetLoginProfile', 'iam:CreateLoginProfile', 'secretsmanager:CreateSecret', 'secretsmanager:PutSecretValue', 'secretsmanager:TagResource'],
    async run({ recorded, clients, incident }) {
      const { userName } = recorded;
      try {
        await clients.iam.send(new GetUserCommand({ UserName: userName }));
      } catch (error) {
        if (hasErrorCode(error, ...NO_SUCH_ENTITY)) return { status: 'skipped', summary: `user ${userName} no longer exists: no console password to restore`, data: { userName, result: 'user-gone' } };
        throw error;
      }
      try {
        await clients.iam.send(new GetLoginProfileCommand({ UserName: userName }));
        return { status: 'skipped', summary: `${userName} has a console password again (set since containment): left alone`, data: { userName, result: 'changed-since' } };
      } catch (error) {
        if (!hasErrorCode(error, ...NO_SUCH_ENTITY)) throw error;
      }
      const password = randomPassword();
      const secretName = consolePasswordSecretName(userName, incident.incidentId);
      const secret = JSON.stringify({ UserName: userName, Password: password, PasswordResetRequired: true });
      // The secret first: a password nobody can read would lock the owner out.
      try {
        await clients.secretsManager.send(
          new CreateSecretCommand({
            Name: secretName,
            Description: `Console password for IAM user ${userName}, set by Firebreak when incident ${incident.incidentId} was released: hand it to the owner (it must be changed at first sign-in), then delete this secret`,
            SecretString: secret,
            Tags: incidentTags(incident, { 'firebreak:user': userName }),
          }),
        );
      } catch (error) {
        if (!hasErrorCode(error, 'ResourceExistsException')) throw error;
        await clients.secretsManager.send(new PutSecretValueCommand({ SecretId: secretName, SecretString: secret }));
      }
      try {
        await clients.iam.send(new CreateLoginProfileCommand({ UserName: userName, Password: password, PasswordResetRequired: true }));
      } catch (error) {
        if (hasErrorCode(error, 'EntityAlreadyExists', 'EntityAlreadyExistsException')) {
          return { status: 'skipped', summary: `${userName} got a console password meanwhile: left alone (${secretName} holds an unused one)`, data: { userName, result: 'changed-since', secretName } };
        }
        throw error;
      }
      return {
        status: 'done',
        summary: `${userName} has a console password again: a new random one in Secrets Manager ${secretName}, to be changed at first sign-in (the password it had cannot be recovered: IAM keeps none)`,
        data: { userName, result: 'restored', secretName, passwordResetRequired: true },
      };
    },
  },
});
