import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from '../../../scripts/lib/generate.ts';
import { PLAYBOOK_REGISTRY } from '../../../shared/playbooks/registry.ts';

/** Every .ts file under shared/, relative to the repository, with its text. */
const sources = () =>
  readdirSync(join(root, 'shared'), { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith('.ts'))
    .map((d) => ({ file: relative(root, join(d.parentPath, d.name)), text: readFileSync(join(d.parentPath, d.name), 'utf8') }));

const SEND_COMMAND_MODULE = 'shared/actions/ssm-run-command.ts';

// Every playbook's Command documents, loaded once here (module loading is not what a test's time limit is for).
const DOCUMENTS = await Promise.all(PLAYBOOK_REGISTRY.map(async (entry) => ({ entry, documents: (await (await entry.load()).commandDocuments?.()) ?? {} })));

describe('Architecture: Run Command only through Firebreak documents', () => {
  it('only the Run Command module calls SendCommand (its sendCommand refuses documents AWS owns)', () => {
    // Act
    const callers = sources()
      .filter((s) => /\bSendCommandCommand\b/.test(s.text))
      .map((s) => s.file);

    // Assess
    expect(callers).toEqual([SEND_COMMAND_MODULE]);
  });

  it('no step anywhere names AWS-RunShellScript or AWS-RunPowerShellScript as its document', () => {
    // Act: the names as string literals (what a step would send), outside the module that refuses them
    const literals = sources()
      .filter((s) => s.file !== SEND_COMMAND_MODULE)
      .flatMap((s) => [...s.text.matchAll(/(['"`])AWS-Run(?:Power)?ShellScript\1/g)].map((m) => `${s.file}: ${m[0]}`));

    // Assess
    expect(literals).toEqual([]);
  });

  it('every playbook document is a schema 2.2 Command document whose steps each run on one platform, with validated parameters only', async () => {
    for (const { documents: loaded } of DOCUMENTS) {
      // Prepare
      const documents = Object.entries(loaded);

      for (const [name, document] of documents) {
        // Assess
        expect(document.schemaVersion, name).toBe('2.2');
        for (const step of document.mainSteps) expect(step.precondition.StringEquals[0], `${name}/${step.name}`).toBe('platformType');
        for (const [param, spec] of Object.entries(document.parameters ?? {})) {
          expect(spec.allowedPattern, `${name}.${param}`).toMatch(/^\^.*\$$/);
          expect(spec.interpolationType, `${name}.${param}`).toBe('ENV_VAR');
        }
      }
    }
  });
});
