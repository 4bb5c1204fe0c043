/**
 * Firebreak's Command document for one container on its host: pause, stop or unpause it through
 * the Docker CLI, and print its `docker inspect` (before anything changes) as a capture. The
 * container reference and the action travel as parameters that SSM checks against the document's
 * patterns before it sends the command, and the script checks again; nothing from a finding is
 * ever put in a script.
 */
import { CAPTURE_BEGIN_MARKER, CAPTURE_END_MARKER, type CommandDocument } from '../../actions/ssm-run-command.ts';

/** A Docker container id or name as Docker allows them (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`): no leading dash (never an option), nothing a shell reads. */
export const CONTAINER_REF_PATTERN = '^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$';
const CONTAINER_REF = new RegExp(CONTAINER_REF_PATTERN);

/** Whether `ref` is a container id or name the document accepts (checked before sending, as SSM and the script check again). */
export const isContainerRef = (ref: string): boolean => CONTAINER_REF.test(ref);

/** What the document can do to the container. */
export const CONTAINER_ACTIONS = ['pause', 'stop', 'unpause'] as const;
export type ContainerAction = (typeof CONTAINER_ACTIONS)[number];

/** The document's one step (GetCommandInvocation names it). */
export const CONTAINER_CONTROL_STEP = 'containerControl';

/** How long the script may run: `docker stop` waits 10 s for the processes before it kills them. */
const TIMEOUT_SECONDS = 120;

/** The line the script ends with: the container's Docker state before and after (`absent`: no such container; `no-docker`: no Docker CLI). */
export const STATE_LINE_PREFIX = 'FIREBREAK-CONTAINER';
const STATE_LINE = new RegExp(`${STATE_LINE_PREFIX} before=([a-z-]+) after=([a-z-]+)`);

/** The container's state as the script reports it: Docker's `State.Status`, or `absent` / `no-docker`. */
export interface ContainerStates {
  before: string;
  after: string;
}

/** The states the script printed, or undefined when its output has no state line (cut, or not this script). */
export function containerStatesOf(stdout: string): ContainerStates | undefined {
  const m = STATE_LINE.exec(stdout);
  return m ? { before: m[1]!, after: m[2]! } : undefined;
}

/**
 * The script. SSM's `{{ }}` placeholders are for parameters only, so Docker's Go template for the
 * state is assembled at run time from single braces.
 */
export const CONTAINER_CONTROL_SCRIPT: readonly string[] = [
  'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH',
  'LC_ALL=C; export LC_ALL',
  '# SSM Agent 3.3.2746.0 and later set SSM_<parameter>; an older one pastes the (validated) value here.',
  'if [ -z "${SSM_containerId+x}" ]; then SSM_containerId=\'{{ containerId }}\'; fi',
  'if [ -z "${SSM_action+x}" ]; then SSM_action=\'{{ action }}\'; fi',
  'id="$SSM_containerId"; action="$SSM_action"',
  '# SSM checked both against the patterns before sending; checked again, so the script is safe on its own.',
  'case "$id" in \'\'|-*|.*|_*|*[!A-Za-z0-9_.-]*) echo "refusing a container reference that is not a Docker id or name" >&2; exit 2;; esac',
  'case "$action" in pause|stop|unpause) ;; *) echo "refusing an unknown action" >&2; exit 2;; esac',
  `if ! command -v docker >/dev/null 2>&1; then echo '${STATE_LINE_PREFIX} before=no-docker after=no-docker'; exit 0; fi`,
  "o='{'; c='}'; status_format=\"$o$o.State.Status$c$c\"",
  'state() { s=$(docker inspect --type container --format "$status_format" "$id" 2>/dev/null) && [ -n "$s" ] && echo "$s" || echo absent; }',
  'before=$(state)',
  `if [ "$before" = absent ]; then echo '${STATE_LINE_PREFIX} before=absent after=absent'; exit 0; fi`,
  '# The container as it is, before anything changes: evidence, gzip+base64 between markers as every capture.',
  'if [ "$action" != unpause ]; then',
  '  if command -v gzip >/dev/null 2>&1 && command -v base64 >/dev/null 2>&1; then',
  `    echo '${CAPTURE_BEGIN_MARKER} gzip+base64'`,
  '    docker inspect --type container "$id" 2>&1 | gzip -9 -c | base64',
  '  else',
  `    echo '${CAPTURE_BEGIN_MARKER} plain'`,
  '    docker inspect --type container "$id" 2>&1',
  '  fi',
  `  echo '${CAPTURE_END_MARKER}'`,
  'fi',
  'rc=0',
  'case "$action:$before" in',
  '  pause:running|pause:restarting) docker pause "$id" >/dev/null || rc=$? ;;',
  '  stop:running|stop:restarting|stop:paused) docker stop "$id" >/dev/null || rc=$? ;;',
  '  unpause:paused) docker unpause "$id" >/dev/null || rc=$? ;;',
  'esac',
  `echo "${STATE_LINE_PREFIX} before=$before after=$(state)"`,
  'exit $rc',
];

/**
 * `<name_prefix>-container-control`: the script above as a Command document. Whoever may send it
 * can only pause, stop or unpause one container and read its inspect output. `make build` writes
 * it to terraform/ssm-documents/container/container-control.json, which Terraform deploys.
 */
export const CONTAINER_CONTROL_DOCUMENT: CommandDocument = {
  schemaVersion: '2.2',
  description: 'Firebreak: pauses, stops or unpauses one Docker container and prints its docker inspect (taken before the change), gzip+base64 between markers, and its state before and after.',
  parameters: {
    containerId: {
      type: 'String',
      description: 'The container id or name (Docker\'s characters only; exported as SSM_containerId).',
      allowedPattern: CONTAINER_REF_PATTERN,
      interpolationType: 'ENV_VAR',
    },
    action: {
      type: 'String',
      description: 'pause, stop or unpause (exported as SSM_action).',
      allowedPattern: `^(${CONTAINER_ACTIONS.join('|')})$`,
      interpolationType: 'ENV_VAR',
    },
  },
  mainSteps: [
    {
      action: 'aws:runShellScript',
      name: CONTAINER_CONTROL_STEP,
      precondition: { StringEquals: ['platformType', 'Linux'] },
      inputs: { timeoutSeconds: String(TIMEOUT_SECONDS), runCommand: [...CONTAINER_CONTROL_SCRIPT] },
    },
  ],
};

/** The generated documents' text: what terraform/ssm-documents/container/ holds. */
export const CONTAINER_COMMAND_DOCUMENTS: Readonly<Record<string, CommandDocument>> = {
  'container-control': CONTAINER_CONTROL_DOCUMENT,
};
