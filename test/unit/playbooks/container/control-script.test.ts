// The container-control document's script, run for real by /bin/sh against a fake `docker` that
// keeps the container's state in a file: what the host would do with each parameter.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeCaptureOutput } from '../../../../shared/actions/ssm-run-command.ts';
import { CONTAINER_CONTROL_SCRIPT, containerStatesOf } from '../../../../shared/playbooks/container/control.ts';
import { CONTAINER_ID } from './support.ts';

const FAKE_DOCKER = `#!/bin/sh
echo "$*" >> "$FAKE_DIR/calls"
cmd="$1"; shift
state=$(cat "$FAKE_DIR/state")
case "$cmd" in
  inspect)
    format=""; id=""
    while [ $# -gt 0 ]; do case "$1" in --type) shift 2;; --format) format="$2"; shift 2;; *) id="$1"; shift;; esac; done
    [ "$id" = "${CONTAINER_ID}" ] && [ "$state" != absent ] || { echo "Error: No such container: $id" >&2; exit 1; }
    if [ -n "$format" ]; then [ "$format" = '{{.State.Status}}' ] && echo "$state"; else echo '[{"Id": "${CONTAINER_ID}", "State": {"Status": "'"$state"'"}}]'; fi ;;
  pause) echo paused > "$FAKE_DIR/state" ;;
  stop) echo exited > "$FAKE_DIR/state" ;;
  unpause) echo running > "$FAKE_DIR/state" ;;
esac
`;

/** Runs the script as the agent would (parameters as SSM_* variables), with the fake docker first on PATH; returns stdout, the exit code and every docker call. */
function runScript(containerId: string, action: string, state: string) {
  const dir = mkdtempSync(join(tmpdir(), 'firebreak-docker-'));
  writeFileSync(join(dir, 'docker'), FAKE_DOCKER);
  chmodSync(join(dir, 'docker'), 0o755);
  writeFileSync(join(dir, 'state'), `${state}\n`);
  writeFileSync(join(dir, 'calls'), '');
  // The document pins PATH to the system's directories; here the fake docker goes first.
  const script = [`PATH=${dir}:/usr/bin:/bin; export PATH`, ...CONTAINER_CONTROL_SCRIPT.slice(1)].join('\n');
  let stdout = '';
  let code = 0;
  try {
    stdout = execFileSync('/bin/sh', ['-c', script], { env: { SSM_containerId: containerId, SSM_action: action, FAKE_DIR: dir }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const e = error as { status: number; stdout: string };
    code = e.status;
    stdout = e.stdout;
  }
  return { stdout, code, calls: readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n').filter(Boolean), state: readFileSync(join(dir, 'state'), 'utf8').trim() };
}

describe('The container-control script on a host', () => {
  it('prints the inspect from before, pauses a running container and reports both states', () => {
    // Act
    const run = runScript(CONTAINER_ID, 'pause', 'running');

    // Assess
    expect(run.code).toBe(0);
    expect(containerStatesOf(run.stdout)).toEqual({ before: 'running', after: 'paused' });
    expect(JSON.parse(decodeCaptureOutput(run.stdout).text)).toEqual([{ Id: CONTAINER_ID, State: { Status: 'running' } }]);
    expect(run.calls).toContain(`pause ${CONTAINER_ID}`);
    expect(run.state).toBe('paused');
  });

  it('stops in full mode, unpauses only a paused container, and leaves a paused one paused when asked to pause again', () => {
    // Act
    const stop = runScript(CONTAINER_ID, 'stop', 'running');
    const unpause = runScript(CONTAINER_ID, 'unpause', 'paused');
    const unpauseRunning = runScript(CONTAINER_ID, 'unpause', 'running');
    const pauseAgain = runScript(CONTAINER_ID, 'pause', 'paused');

    // Assess
    expect(containerStatesOf(stop.stdout)).toEqual({ before: 'running', after: 'exited' });
    expect(containerStatesOf(unpause.stdout)).toEqual({ before: 'paused', after: 'running' });
    expect(unpause.stdout).not.toContain('FIREBREAK-BEGIN');
    expect(unpauseRunning.calls.some((c) => c.startsWith('unpause'))).toBe(false);
    expect(pauseAgain.calls.some((c) => c.startsWith('pause'))).toBe(false);
    expect(containerStatesOf(pauseAgain.stdout)).toEqual({ before: 'paused', after: 'paused' });
  });

  it('reports a container that is not there, and refuses references and actions outside its grammar without calling docker', () => {
    // Act
    const absent = runScript(CONTAINER_ID, 'pause', 'absent');
    const hostile = ['-v', '$(touch /tmp/pwned)', 'a;b', '.x'].map((ref) => runScript(ref, 'pause', 'running'));
    const badAction = runScript(CONTAINER_ID, 'rm', 'running');

    // Assess
    expect(containerStatesOf(absent.stdout)).toEqual({ before: 'absent', after: 'absent' });
    for (const run of [...hostile, badAction]) {
      expect(run.code).toBe(2);
      expect(run.calls).toEqual([]);
      expect(run.state).toBe('running');
    }
  });
});
