import type { CommandDocument } from '../actions/ssm-run-command.ts';
import type { AnyPlaybook } from '../engine/index.ts';
import type { PlaybookName } from '../findings/index.ts';

/** A Terraform validation a schema refinement needs (`OPTIONS` stands for the playbook's options value). */
export interface TerraformValidation {
  condition: string;
  error_message: string;
}

/** What every playbook folder's `index.ts` exports. */
export interface PlaybookModule {
  playbook: AnyPlaybook;
  /** Validations Terraform cannot derive from the options schema (its refinements). */
  terraformValidations?: readonly TerraformValidation[];
  /**
   * The SSM Command documents its steps send, by name: `make build` writes each to
   * terraform/ssm-documents/<playbook>/<name>.json for Terraform to deploy. A loader, so that
   * the function's entry never imports the steps that send them (they may be later stages).
   */
  commandDocuments?: () => Promise<Readonly<Record<string, CommandDocument>>>;
}

/** One line of the registry: the playbook's name (its folder under shared/playbooks/), what it responds to, and how to load it. */
export interface PlaybookEntry {
  name: PlaybookName;
  /** The seeds' heading for this resource type. */
  title: string;
  load(): Promise<PlaybookModule>;
}

/**
 * Every playbook Firebreak deploys. From this list `make build` derives the function entry
 * points (`functions/<name>/handler.ts`), the bundles and their IAM manifests, and
 * `terraform/playbooks.generated.tf` (each playbook's typed options, event pattern and
 * settings); the CLI derives its help. A function never imports this file — its entry point
 * imports only its own playbook, so a bundle carries one playbook.
 *
 * Adding a playbook: a folder `shared/playbooks/<name>/` (index.ts exporting `playbook`,
 * options.ts, event-pattern.json, its steps), and one line here. See docs/adding-a-playbook.md.
 */
export const PLAYBOOK_REGISTRY: readonly PlaybookEntry[] = [
  { name: 'ec2-instance', title: 'Compromised EC2 instance', load: () => import('./ec2-instance/index.ts') },
  { name: 's3-bucket', title: 'Compromised S3 bucket', load: () => import('./s3-bucket/index.ts') },
  { name: 'ecs-task', title: 'Compromised ECS task', load: () => import('./ecs-task/index.ts') },
  { name: 'container', title: 'Compromised Standalone Container', load: () => import('./container/index.ts') },
  { name: 'rds-instance', title: 'Compromised RDS instance', load: () => import('./rds-instance/index.ts') },
  { name: 'iam-user', title: 'Compromised IAM user credentials', load: () => import('./iam-user/index.ts') },
  { name: 'iam-role', title: 'Compromised IAM role', load: () => import('./iam-role/index.ts') },
  { name: 'account', title: 'Compromised AWS account', load: () => import('./account/index.ts') },
];

/** The registry entry of a playbook, or undefined when no playbook of that name is deployed by this version. */
export const registryEntry = (name: string): PlaybookEntry | undefined => PLAYBOOK_REGISTRY.find((e) => e.name === name);

/** Loads a playbook by name (the CLI's release, the build). */
export async function loadPlaybook(name: string): Promise<AnyPlaybook | undefined> {
  return (await registryEntry(name)?.load())?.playbook;
}
