import { resetConsolePasswords } from './passwords.ts';
import { recommendRootCredentialLockdown } from './root.ts';
import { accountReleaseAction } from './types.ts';

/**
 * What release cannot or must not undo, said to the responder: passwords the sweep replaced are
 * gone (nobody can restore a password), the root user's credentials were never Firebreak's to
 * touch, and the evidence stays.
 */
export const keepWhatCannotBeRestored = accountReleaseAction({
  name: 'keepWhatCannotBeRestored',
  description: 'Say what release cannot restore (console passwords, root credentials) and that evidence is kept',
  iamActions: [],
  async run(ctx) {
    const kept: string[] = [];
    const reset = (ctx.outputOf(resetConsolePasswords)?.users ?? []).filter((u) => u.action === 'reset');
    if (reset.length) {
      kept.push(
        `console passwords cannot be restored: ${reset.length} user(s) keep the random password the sweep set (in Secrets Manager under firebreak/${ctx.incident.incidentId}/console-password/) and must change it at next sign-in: ${reset
          .slice(0, 20)
          .map((u) => u.userName)
          .join(', ')}${reset.length > 20 ? ', …' : ''}`,
      );
    }
    if (ctx.outcomeOf(recommendRootCredentialLockdown)) kept.push('the root user\'s credentials were never changed by Firebreak: follow the recorded recommendation');
    kept.push(`evidence is kept: the evidence bucket's objects for ${ctx.incident.incidentId} (key pair records, inventory, report) are not touched`);
    return { status: 'done', summary: `kept: ${kept.join('; ')}`, keptProtections: kept };
  },
});
