// The container playbook's later stages, loaded once its isolation step has finished
// (definePlaybook's `later`): evidence and investigation steps, and the release order.
import type { PlaybookStages } from '../../engine/index.ts';
import { keepHostAndEvidence } from './release-actions.ts';
import { retainMalwareScanSnapshots } from './retention.ts';
import { captureContainerInspect, suspendContainer } from './suspend.ts';
import type { Container } from './types.ts';

export const steps: PlaybookStages<Container>['steps'] = [
  // Evidence: the container's inspect output; the host's scan snapshots kept.
  captureContainerInspect,
  retainMalwareScanSnapshots,
];

// Release: the container runs again (if Firebreak paused it), the detector's setting goes back
// when no other incident relies on it; the host is released through its own incident.
export const release: PlaybookStages<Container>['release'] = [
  suspendContainer,
  retainMalwareScanSnapshots,
  keepHostAndEvidence,
];
