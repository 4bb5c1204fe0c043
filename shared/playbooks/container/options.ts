import * as z from 'zod';

/**
 * Options of the standalone container playbook (GuardDuty `Container` findings: Docker on an EC2
 * host): Terraform's `playbooks.container.options`, handed to the function as they are
 * (FIREBREAK_OPTIONS). `make build` renders this schema as the Terraform type and validations of
 * `terraform/playbooks.generated.tf`.
 */
export const ContainerOptionsSchema = z
  .object({
    suspend_container: z
      .boolean()
      .default(true)
      .describe(
        "While the host's SSM agent can be reached, suspend the container through SSM Run Command (docker pause; docker stop in full mode) and capture docker inspect as evidence, with Firebreak's own Command document (deployed with this option). Off: no Run Command is sent and the function may not send one.",
      ),
    hand_off_host: z
      .boolean()
      .default(true)
      .describe(
        "Hand the container's host to the EC2 playbook (a Firebreak Hand-off on the responders' bus) once the container is suspended, or could not be: it isolates the instance, detaches it from its Auto Scaling group, protects it, snapshots and scans its volumes. Off: the host is named in the ledger with a recommendation.",
      ),
    snapshot_retention: z
      .boolean()
      .default(true)
      .describe(
        "Turn on GuardDuty Malware Protection's snapshot retention (EbsSnapshotPreservation RETENTION_WITH_FINDING, a detector-wide setting) so the snapshots of the host's malware scan are kept when malware is found. The prior value is recorded; release restores it only when no other open incident relies on it (counted in the ledger).",
      ),
    wait_seconds: z
      .number()
      .int()
      .min(0)
      .max(30)
      .default(20)
      .describe("How long one delivery waits for the suspension's Run Command before handing the host over anyway (isolation may then cut the agent's path); the evidence step follows the command up."),
    ssm_documents: z
      .object({
        container_control: z
          .string()
          .max(128, "ssm_documents.container_control must be at most 128 characters (SSM's limit)")
          .regex(/^[A-Za-z0-9_.-]+-container-control$/, 'ssm_documents.container_control must be the name of the document Terraform deploys, <name_prefix>-container-control')
          .optional()
          .describe('The document that pauses, stops or unpauses one container and prints its docker inspect (deployed with suspend_container).'),
      })
      .strict()
      .default({})
      .describe('Set by Terraform, not by you: the name of the SSM Command document it deploys for the container (a value given here is replaced). Run Command is sent only to it, never to AWS-RunShellScript; without it the suspension is skipped.'),
  })
  .strict();

export type ContainerOptions = z.infer<typeof ContainerOptionsSchema>;
