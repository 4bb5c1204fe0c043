import type { AnyStep, PlaybookTypes } from './step.ts';
import type { LoadedPlaybook, Playbook } from './playbook.ts';

/**
 * The later stages of a playbook, loaded while containment runs: from the moment the isolation
 * step has finished (or the contain stage, if it never started), so that their code and SDK
 * clients never compete with the isolation request for the cold function's CPU. A failure to load
 * is the engine's when it needs them, never an unhandled rejection.
 */
export function loadAfterIsolation<T extends PlaybookTypes>(playbook: Playbook<T>, started: ReadonlyMap<AnyStep<T>, Promise<void>>): Promise<LoadedPlaybook<T>> {
  const isolated = started.get(playbook.isolationStep) ?? Promise.all(started.values());
  const loaded = isolated.then(
    () => playbook.load(),
    () => playbook.load(),
  );
  loaded.catch(() => undefined);
  return loaded;
}
