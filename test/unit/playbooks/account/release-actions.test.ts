import { describe, expect, it } from 'vitest';
import { keepWhatCannotBeRestored } from '../../../../shared/playbooks/account/release-actions.ts';
import { aStepOutcome } from '../../helpers/factories.ts';
import { anAccountReleaseContext, aRootIncident } from './helpers.ts';

describe('Release action: keepWhatCannotBeRestored', () => {
  it('says the replaced console passwords cannot come back, root was never touched, and evidence stays', async () => {
    // Prepare
    const outcomes = {
      resetConsolePasswords: aStepOutcome({ data: { users: [{ userName: 'alice', action: 'reset', secretArn: 'arn:s' }, { userName: 'bob', action: 'no-console-access' }], note: 'n' } }),
      recommendRootCredentialLockdown: aStepOutcome({ status: 'skipped' }),
    };

    // Act
    const result = await keepWhatCannotBeRestored.run(anAccountReleaseContext({ outcomes }));

    // Assess
    expect(result.status).toBe('done');
    expect(result.keptProtections).toEqual([
      `console passwords cannot be restored: 1 user(s) keep the random password the sweep set (in Secrets Manager under firebreak/${aRootIncident().incidentId}/console-password/) and must change it at next sign-in: alice`,
      "the root user's credentials were never changed by Firebreak: follow the recorded recommendation",
      `evidence is kept: the evidence bucket's objects for ${aRootIncident().incidentId} (key pair records, inventory, report) are not touched`,
    ]);
  });

  it('says only that evidence stays when the sweep did not run', async () => {
    // Act
    const result = await keepWhatCannotBeRestored.run(anAccountReleaseContext());

    // Assess
    expect(result.keptProtections).toHaveLength(1);
  });
});
