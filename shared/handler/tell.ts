import type { Logger } from '@aws-lambda-powertools/logger';
import type { Ledger, NotificationTarget } from '../ledger/index.ts';
import type { Notice, Notifier } from '../notifications/index.ts';

/**
 * Tells people (publishes `notice` on the topic) and records on the ledger record it was about
 * whether that worked. Never throws: a publish error is recorded, a ledger error is logged, so
 * telling people never fails the delivery it follows. Does nothing without a topic.
 */
export async function tellAndRecord(notifier: Notifier, ledger: Ledger, notice: Notice, target: NotificationTarget, log: Logger): Promise<void> {
  if (!notifier.configured) return;
  const sent = await notifier.notify(notice);
  await ledger
    .recordNotification(target, {
      status: notice.kind === 'incident' ? notice.status : 'unhandled',
      at: notice.at.toISOString(),
      published: sent.outcome === 'published',
      ...(sent.outcome === 'published' ? { messageId: sent.messageId } : {}),
      ...(sent.outcome === 'failed' ? { error: sent.error } : {}),
    })
    .catch((error: unknown) => log.error('Could not record the notification in the ledger', { error: error as Error }));
}
