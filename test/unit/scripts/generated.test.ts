import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMAND_DOCUMENTS_DIR, GENERATED_TF, handlerPath, manifestFixturePath, renderCommandDocuments, renderHandler, renderManifest, renderTerraform, root } from '../../../scripts/lib/generate.ts';
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

  it('terraform/ssm-documents/ holds exactly the Command documents the playbooks render (run make build)', async () => {
    // Act
    const rendered = await renderCommandDocuments();
    const committedFiles = readdirSync(join(root, COMMAND_DOCUMENTS_DIR), { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile())
      .map((d) => join(d.parentPath, d.name).slice(root.length + 1))
      .sort();

    // Assess
    expect(rendered.map((d) => d.path).sort()).toEqual(committedFiles);
    for (const document of rendered) expect(committed(document.path), document.path).toBe(document.text);
    expect(rendered.map((d) => d.path)).toEqual(expect.arrayContaining(['terraform/ssm-documents/ec2-instance/volatile-data.json', 'terraform/ssm-documents/ec2-instance/memory-capture.json']));
  });

  it('gives each registered playbook a typed settings attribute and an event pattern, and nothing else', async () => {
    // Act
    const rendered = await renderTerraform();

    // Assess
    for (const entry of PLAYBOOK_REGISTRY) {
      expect(rendered).toContain(`    ${entry.name} = optional(object({`);
      expect(rendered).toContain(`    "${entry.name}" = {`);
    }
    expect(rendered.match(/guardduty_pattern {5}= /g)).toHaveLength(PLAYBOOK_REGISTRY.length);
    expect(rendered.match(/manual_pattern {8}= /g)).toHaveLength(PLAYBOOK_REGISTRY.length);
    expect(rendered.match(/release_pattern {7}= /g)).toHaveLength(PLAYBOOK_REGISTRY.length);
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
