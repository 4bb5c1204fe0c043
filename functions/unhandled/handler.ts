import { createUnhandledHandler } from '../../shared/handler/unhandled.ts';

/** The catch-all: SQS (from the rule taking every GuardDuty finding no enabled playbook takes) → recorded as unhandled, and notified. */
export const handler = createUnhandledHandler();
