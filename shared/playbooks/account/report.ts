import * as z from 'zod';
import type { AnyStep } from '../../engine/index.ts';
import { accountStep, type Account } from './types.ts';

const ReportSchema = z.object({ evidenceKey: z.string(), sections: z.array(z.string()) });

/**
 * One report of the whole-account response, in the evidence bucket: the account and its regions,
 * and every listed step's outcome — the root recommendation, what the sweep did (or why it did
 * not run), the inventory — with their data, for the owners. Built from the steps it is given, so
 * the playbook's other reviews join it by being listed. While a section failed or waits, the
 * report is partial and the step pending: a later delivery writes it again.
 */
export function accountReport(sections: readonly AnyStep<Account>[]) {
  return accountStep({
    name: 'writeAccountReport',
    stage: 'investigate',
    description: 'Write one report of the account response (root recommendation, credential sweep, inventory, CloudTrail review, account information) to the evidence bucket',
    iamActions: ['s3:PutObject'],
    after: sections,
    data: ReportSchema,
    async run({ incident, resource, config, options, evidence, outcomeOf, now }) {
      const steps = sections.map((step) => {
        const o = outcomeOf(step);
        // A section that failed for good (not retryable: an API the account or region does not serve) is final.
        const final = o?.status === 'failed' && o.error !== undefined && !o.error.retryable;
        return {
          step: step.name,
          description: step.description,
          status: o?.status ?? 'not-run',
          summary: o?.summary ?? '',
          final,
          ...(o?.data !== undefined ? { data: o.data } : {}),
          ...(o?.evidence ? { evidence: o.evidence } : {}),
        };
      });
      const sweep = options.credential_sweep;
      const ref = await evidence.putJson(incident.incidentId, 'account/report.json', {
        incidentId: incident.incidentId,
        writtenAt: now().toISOString(),
        finding: { id: incident.findingId, type: incident.findingType, severity: incident.severity, origin: incident.origin, title: incident.title, ...(incident.ticket ? { ticket: incident.ticket } : {}) },
        account: { id: resource.accountId, ...(resource.alias ? { alias: resource.alias } : {}), regions: resource.regions, regionsLeftOut: resource.regionsLeftOut, iamUsers: resource.users.length },
        mode: config.mode,
        credentialSweep:
          config.mode === 'full' && sweep.enabled
            ? { ran: true, accessKeys: sweep.access_keys, consolePasswords: sweep.console_passwords, keyPairs: sweep.key_pairs }
            : { ran: false, why: config.mode !== 'full' ? `mode is ${config.mode}: the sweep runs only in full mode` : 'credential_sweep.enabled is false' },
        steps,
      });
      const unfinished = steps.filter((s) => (s.status === 'failed' && !s.final) || s.status === 'pending').map((s) => s.step);
      if (unfinished.length) {
        // A section failed for a retryable reason, or waiting, is run again on a later delivery: the report is written again then.
        return {
          status: 'pending',
          retryAfterSeconds: config.followUp.delaySeconds,
          summary: `partial report written to ${ref.key}; written again once ${unfinished.join(', ')} finish`,
          data: { evidenceKey: ref.key, sections: steps.map((s) => s.step) },
          evidence: [ref],
        };
      }
      return {
        status: 'done',
        summary: `report of ${steps.length} section(s) (${steps.map((s) => `${s.step}: ${s.status}`).join(', ')}) written to ${ref.key}`,
        data: { evidenceKey: ref.key, sections: steps.map((s) => s.step) },
        evidence: [ref],
      };
    },
  });
}
