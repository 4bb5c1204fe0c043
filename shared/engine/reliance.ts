import type { Ledger } from '../ledger/index.ts';
import type { RelianceCounter } from './step.ts';

/** The ledger's reliance counter bound to one incident, when the ledger has one. */
export function relianceCounter(ledger: Partial<Pick<Ledger, 'rely' | 'letGo' | 'restored'>>, incidentId: string): RelianceCounter | undefined {
  const { rely, letGo, restored } = ledger;
  if (!rely || !letGo || !restored) return undefined;
  return {
    rely: (key, restoreTo) => rely.call(ledger, key, incidentId, restoreTo),
    letGo: (key) => letGo.call(ledger, key, incidentId),
    restored: (key) => restored.call(ledger, key, incidentId),
  };
}
