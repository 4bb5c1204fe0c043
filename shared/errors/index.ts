/**
 * Firebreak's error classes. Every class says whether retrying can help, so the
 * engine can decide between "batch-item failure" (retry, then DLQ) and
 * "record and delete" (permanent) without string matching at call sites.
 */

/** What every Firebreak error may carry besides its message: the code the ledger records, whether a retry can help, and the cause. */
export interface FirebreakErrorOptions extends ErrorOptions {
  /** The code recorded in the ledger (an AWS code or a step's own, e.g. `GroupAtMaximum`); defaults to the class name. */
  code?: string;
  /** Whether SQS redelivery (or running the release again) can help. Default: no. */
  retryable?: boolean;
}

/** Base class: `code` is what the ledger records, `retryable` tells the engine whether redelivery can help. */
export class FirebreakError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  constructor(message: string, options: FirebreakErrorOptions = {}) {
    const { code, retryable, ...errorOptions } = options;
    super(message, errorOptions);
    this.name = 'FirebreakError';
    this.code = code ?? 'FirebreakError';
    this.retryable = retryable ?? false;
  }
}

/** The environment the function runs with is invalid: fix the Terraform variables. */
export class ConfigurationError extends FirebreakError {
  readonly issues: string[];
  constructor(issues: string[], options?: ErrorOptions) {
    super(`Invalid Firebreak configuration: ${issues.join('; ')}`, { ...options, code: 'ConfigurationError' });
    this.name = 'ConfigurationError';
    this.issues = issues;
  }
}

/** The SQS message is not a finding Firebreak can act on; it is recorded as rejected and deleted. */
export class InvalidFindingError extends FirebreakError {
  readonly reasons: string[];
  constructor(reasons: string[], options?: ErrorOptions) {
    super(`Not a valid finding: ${reasons.join('; ')}`, { ...options, code: 'InvalidFinding' });
    this.name = 'InvalidFindingError';
    this.reasons = reasons;
  }
}

/** The resource named by the finding does not exist (any more) in the account and region. */
export class ResourceNotFoundError extends FirebreakError {
  readonly resourceId: string;
  constructor(resourceId: string, options?: ErrorOptions) {
    super(`Resource ${resourceId} was not found`, { ...options, code: 'ResourceNotFound' });
    this.name = 'ResourceNotFoundError';
    this.resourceId = resourceId;
  }
}

/** A step failed for a reason of its own; `code` says which (`GroupAtMaximum`, `SnapshotFailed`…). */
export class StepFailedError extends FirebreakError {
  readonly step: string;
  constructor(step: string, code: string, message: string, options: Omit<FirebreakErrorOptions, 'code'> = {}) {
    super(`Step ${step} failed (${code}): ${message}`, { ...options, code });
    this.name = 'StepFailedError';
    this.step = step;
  }
}

/**
 * What a step recorded in the ledger does not match the schema it declares (a record
 * edited by hand, or written by a version that recorded something else): permanent,
 * a responder must look.
 */
export class RecordedDataError extends FirebreakError {
  readonly step: string;
  readonly issues: string[];
  constructor(step: string, issues: string[], options?: ErrorOptions) {
    super(`The ledger's data of step ${step} does not match its schema: ${issues.join('; ')}`, { ...options, code: 'RecordedDataInvalid' });
    this.name = 'RecordedDataError';
    this.step = step;
    this.issues = issues;
  }
}

/** One or more containment steps failed with a retryable error: the message must be redelivered. */
export class ContainmentIncompleteError extends FirebreakError {
  readonly incidentId: string;
  readonly failedSteps: string[];
  constructor(incidentId: string, failedSteps: string[]) {
    super(`Containment of ${incidentId} is incomplete (retryable failures in: ${failedSteps.join(', ')}); the message will be redelivered`, {
      code: 'ContainmentIncomplete',
      retryable: true,
    });
    this.name = 'ContainmentIncompleteError';
    this.incidentId = incidentId;
    this.failedSteps = failedSteps;
  }
}

/** Why a release was refused before anything was changed. */
export type ReleaseRefusal = 'invalid-request' | 'not-found' | 'resource-mismatch' | 'not-supported' | 'in-progress' | 'claim-lost';

/**
 * A release was refused and nothing was changed: the incident is unknown, names
 * another resource, has no release steps, or another release holds it. Only
 * `in-progress` is retryable (the other release finishes, and the retry finds it released).
 */
export class ReleaseRefusedError extends FirebreakError {
  readonly incidentId: string;
  readonly refusal: ReleaseRefusal;
  constructor(incidentId: string, refusal: ReleaseRefusal, message: string, options?: ErrorOptions) {
    super(`Release of ${incidentId} refused: ${message}`, { ...options, code: 'ReleaseRefused', retryable: refusal === 'in-progress' });
    this.name = 'ReleaseRefusedError';
    this.incidentId = incidentId;
    this.refusal = refusal;
  }
}

/** Release steps failed with retryable errors: the release event must be redelivered. */
export class ReleaseIncompleteError extends FirebreakError {
  readonly incidentId: string;
  readonly failedSteps: string[];
  constructor(incidentId: string, failedSteps: string[]) {
    super(`Release of ${incidentId} is incomplete (retryable failures in: ${failedSteps.join(', ')}); the message will be redelivered`, {
      code: 'ReleaseIncomplete',
      retryable: true,
    });
    this.name = 'ReleaseIncompleteError';
    this.incidentId = incidentId;
    this.failedSteps = failedSteps;
  }
}

const RETRYABLE_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'InternalFailure',
  'InternalServerError',
  'RequestTimeout',
  'RequestTimeoutException',
  'TransactionConflictException',
  'TimeoutError',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
]);

/** What an AWS SDK (or network) error means for retrying. */
export interface ErrorClassification {
  code: string;
  message: string;
  retryable: boolean;
  httpStatus?: number;
  unsupported: boolean;
}

/**
 * Classifies an error thrown by an AWS SDK v3 call.
 *
 * Throttling, 5xx and network errors are retryable; 4xx errors (access denied,
 * invalid parameters) are permanent. An HTTP 501, or the emulator's 500 for an
 * API it does not implement, is flagged `unsupported` so reports can say so.
 *
 * @example
 * ```ts
 * classifyError(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' })).retryable // true
 * ```
 */
export function classifyError(error: unknown): ErrorClassification {
  if (error instanceof FirebreakError) {
    // Firebreak's own errors say what happened in their code; a wrapped AWS error's code
    // would only say where it came from.
    return { code: error.code, message: error.message, retryable: error.retryable, unsupported: false };
  }
  const e = (error ?? {}) as {
    name?: string;
    code?: string;
    message?: string;
    $retryable?: unknown;
    $fault?: string;
    $metadata?: { httpStatusCode?: number };
    $response?: { statusCode?: number };
    cause?: { code?: string };
  };
  // An answer the SDK could not parse (an HTML error page from a proxy or emulator) carries
  // its status only on the raw response.
  const httpStatus = e.$metadata?.httpStatusCode ?? e.$response?.statusCode;
  const message = String(e.message ?? error);
  // The body was not the service's answer at all (an HTML page): the status is what it means.
  const unparsable = /Deserialization error/.test(message);
  const named = !unparsable && e.name && e.name !== 'Error' && e.name !== 'UnknownError' && e.name !== 'Unknown' ? e.name : undefined;
  const code = String(named ?? e.code ?? e.cause?.code ?? (httpStatus ? `HTTP${httpStatus}` : 'UnknownError'));
  const networkCode = e.code ?? e.cause?.code;
  // 501, an "not implemented" answer, or an HTML 404 for an API route (an endpoint that has no
  // such API, like an emulator: AWS answers every API it has with its own JSON or XML errors).
  const unsupported =
    httpStatus === 501 ||
    (unparsable && httpStatus === 404) ||
    /not (yet |been )?implemented|NotImplemented/i.test(`${code} ${message}`);
  const retryable =
    !unsupported &&
    (Boolean(e.$retryable) ||
      RETRYABLE_CODES.has(code) ||
      (networkCode !== undefined && RETRYABLE_CODES.has(networkCode)) ||
      (httpStatus !== undefined && httpStatus >= 500) ||
      (httpStatus === undefined && e.$fault === undefined && /socket|network|connect|timed? ?out/i.test(message)));
  return { code, message, retryable, unsupported, ...(httpStatus !== undefined ? { httpStatus } : {}) };
}

/** True when the AWS error code is one of `codes` (used for idempotent "already done" answers). */
export function hasErrorCode(error: unknown, ...codes: string[]): boolean {
  const e = error as { name?: string; Code?: string; code?: string } | undefined;
  return codes.some((c) => e?.name === c || e?.Code === c || e?.code === c);
}
