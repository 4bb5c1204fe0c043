import { classifyError, FirebreakError, type FirebreakErrorOptions } from '../errors/index.ts';

/**
 * The member account's role could not be assumed: it does not exist, does not trust this
 * function's role, or expects another external id (STS answers `AccessDenied` for all three). A
 * responder must deploy or fix the member role; redelivering the message cannot help, so it is
 * permanent unless STS itself failed (throttling, 5xx, network).
 */
export class MemberRoleUnavailableError extends FirebreakError {
  readonly roleArn: string;
  readonly accountId: string;
  constructor(roleArn: string, accountId: string, cause: unknown, options: Omit<FirebreakErrorOptions, 'code' | 'retryable' | 'cause'> = {}) {
    const c = classifyError(cause);
    super(
      `cannot assume ${roleArn} to act in member account ${accountId} (${c.code}: ${c.message}): deploy the member-role module in ${accountId} trusting this function's role with the deployment's external id (output member_external_id)`,
      { ...options, cause, code: 'MemberRoleUnavailable', retryable: c.retryable },
    );
    this.name = 'MemberRoleUnavailableError';
    this.roleArn = roleArn;
    this.accountId = accountId;
  }
}

/** A target account that is neither the function's own nor a configured member: no credentials exist for it. */
export class AccountNotConfiguredError extends FirebreakError {
  readonly accountId: string;
  constructor(accountId: string, homeAccountId: string, options: Omit<FirebreakErrorOptions, 'code' | 'retryable'> = {}) {
    super(`account ${accountId} is neither this deployment's own (${homeAccountId}) nor one of its member_account_ids: Firebreak has no role to act there`, {
      ...options,
      code: 'AccountNotConfigured',
      retryable: false,
    });
    this.name = 'AccountNotConfiguredError';
    this.accountId = accountId;
  }
}

/**
 * A create without an idempotency token failed in a way that leaves unknown whether AWS acted
 * on it (the connection dropped, a timeout, a 5xx): the SDK must not send it again blindly.
 * Retryable: the step runs again and first looks for what the lost attempt may have created.
 */
export class ResponseLostError extends FirebreakError {
  readonly operation: string;
  /**
   * The failure as the SDK saw it. Not `cause`: the SDK's retry classification follows `cause`
   * and would find the dropped connection there and send the create again.
   */
  readonly lost: unknown;
  constructor(operation: string, lost: unknown) {
    const c = classifyError(lost);
    super(`${operation} failed without a clear answer (${c.code}: ${c.message}): it may have been acted on, so it is not re-sent blindly; the step looks for what it created before trying again`, {
      code: 'ResponseLost',
      retryable: true,
    });
    this.name = 'ResponseLostError';
    this.operation = operation;
    this.lost = lost;
  }
}

/**
 * A client was used before its SDK package was loaded: the code that called it did not declare the
 * service's IAM actions (the engine loads the clients of the actions a step, undo or `describe`
 * declares). Permanent: the playbook must declare what it calls.
 */
export class ClientNotLoadedError extends FirebreakError {
  readonly client: string;
  constructor(client: string, services: string[]) {
    super(`the ${client} client was used before it was loaded: declare the ${services.map((s) => `${s}:…`).join(' or ')} IAM actions it calls on the step (or describe) that uses it`, {
      code: 'ClientNotLoaded',
      retryable: false,
    });
    this.name = 'ClientNotLoadedError';
    this.client = client;
  }
}
