import { Logger } from '@aws-lambda-powertools/logger';
import type { Incident } from '../findings/index.ts';

/** The service logger; POWERTOOLS_LOG_LEVEL and POWERTOOLS_SERVICE_NAME configure it. */
export function createLogger(): Logger {
  return new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'firebreak' });
}

/** A logger whose every line carries the incident's identity. */
export function incidentLogger(logger: Logger, incident: Incident, messageId: string): Logger {
  return logger.createChild({
    persistentKeys: {
      incidentId: incident.incidentId,
      findingId: incident.findingId,
      findingType: incident.findingType,
      resourceId: incident.resource.id,
      accountId: incident.accountId,
      messageId,
    },
  });
}
