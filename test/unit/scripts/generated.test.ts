import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GENERATED_TF, handlerPath, manifestFixturePath, renderHandler, renderManifest, renderTerraform, root } from '../../../scripts/lib/generate.ts';
import { IAM_DOC, renderIamDoc } from '../../../scripts/lib/iam-doc.ts';
import { PLAYBOOK_REGISTRY } from '../../../shared/playbooks/registry.ts';

const committed = (relative: string) => readFileSync(join(root, relative), 'utf8');

describe('Generated files', () => {
  it.each(PLAYBOOK_REGISTRY.map((e) => [e.name, e] as const))('functions/%s/handler.ts is what the registry renders (run make build)', (_name, entry) => {
    // Act + Assess
    expect(committed(handlerPath(entry.name))).toBe(renderHandler(entry));
  });

  it.each(PLAYBOOK_REGISTRY.map((e) => [e.name, e] as const))('the Terraform tests read the real IAM manifest of %s (run make build)', async (_name, entry) => {
    // Act + Assess
    expect(committed(manifestFixturePath(entry.name))).toBe(await renderManifest(entry));
  });

  it('docs/iam.md is what shared/iam renders (run make build)', () => {
    // Act + Assess
    expect(committed(IAM_DOC)).toBe(renderIamDoc());
  });

  it('terraform/playbooks.generated.tf is what the registry renders (run make build)', async () => {
    // Act
    const rendered = await renderTerraform();

    // Assess
    expect(committed(GENERATED_TF)).toBe(rendered);
  });

  it('gives each registered playbook a typed settings attribute and an event pattern, and nothing else', async () => {
    // Act
    const rendered = await renderTerraform();

    // Assess
    for (const entry of PLAYBOOK_REGISTRY) {
      expect(rendered).toContain(`    ${entry.name} = optional(object({`);
      expect(rendered).toContain(`    "${entry.name}" = {`);
    }
    expect(rendered.match(/guardduty_pattern = /g)).toHaveLength(PLAYBOOK_REGISTRY.length);
    expect(rendered.match(/manual_pattern {4}= /g)).toHaveLength(PLAYBOOK_REGISTRY.length);
    expect(rendered.match(/release_pattern {3}= /g)).toHaveLength(PLAYBOOK_REGISTRY.length);
  });

  it('every function entry point imports its own playbook only', () => {
    for (const entry of PLAYBOOK_REGISTRY) {
      // Prepare
      const source = committed(handlerPath(entry.name));

      // Act
      const playbookImports = [...source.matchAll(/from '[./]*\/shared\/playbooks\/([^/'"]+)/g)].map((m) => m[1]);

      // Assess
      expect(playbookImports).toEqual([entry.name]);
    }
  });
});
