import { describe, expect, it } from 'vitest';
import {
  classifyError,
  ConfigurationError,
  ContainmentIncompleteError,
  FirebreakError,
  hasErrorCode,
  InvalidFindingError,
  RecordedDataError,
  ReleaseIncompleteError,
  ReleaseRefusedError,
  ResourceNotFoundError,
  StepFailedError,
} from '../../../shared/errors/index.ts';
import { awsError, motoNotImplemented } from '../helpers/factories.ts';

describe('Function: classifyError', () => {
  it('reads an unparsable HTML answer by its status: a 404 for an API route means the endpoint lacks the API, a 5xx stays retryable', () => {
    // Prepare: what the SDK throws when an emulator answers with an HTML page
    const html = (status: number) =>
      Object.assign(new SyntaxError(`Unexpected token '<', "<!doctype "... is not valid JSON\n  Deserialization error: to see the raw response, inspect the hidden field {error}.$response on this object.`), {
        $metadata: { httpStatusCode: status },
      });

    // Act
    const missing = classifyError(html(404));
    const broken = classifyError(html(502));

    // Assess
    expect(missing).toMatchObject({ code: 'HTTP404', unsupported: true, retryable: false, httpStatus: 404 });
    expect(broken).toMatchObject({ code: 'HTTP502', unsupported: false, retryable: true });
  });

  it.each([
    ['ThrottlingException', 400],
    ['RequestLimitExceeded', 503],
    ['TooManyRequestsException', 429],
    ['ProvisionedThroughputExceededException', 400],
    ['TransactionConflictException', 400],
  ])('retries throttling and conflicts (%s)', (name, httpStatusCode) => {
    // Act
    const c = classifyError(awsError(name, { httpStatusCode }));

    // Assess
    expect(c).toMatchObject({ code: name, retryable: true, unsupported: false, httpStatus: httpStatusCode });
  });

  it('retries an SDK error the SDK itself marks retryable', () => {
    // Act
    const c = classifyError(awsError('SomeThrottle', { httpStatusCode: 400, retryable: true }));

    // Assess
    expect(c.retryable).toBe(true);
  });

  it.each([500, 502, 503, 504])('retries any HTTP %i', (httpStatusCode) => {
    // Act
    const c = classifyError(awsError('SomethingBroke', { httpStatusCode, fault: 'server' }));

    // Assess
    expect(c).toMatchObject({ code: 'SomethingBroke', retryable: true, unsupported: false, httpStatus: httpStatusCode });
  });

  it('retries a refused connection that never reached AWS (no $metadata)', () => {
    // Prepare
    const error = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { code: 'ECONNREFUSED' });

    // Act
    const c = classifyError(error);

    // Assess
    expect(c).toEqual({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:4566', retryable: true, unsupported: false });
  });

  it('retries a network error carried as the cause', () => {
    // Prepare
    const error = Object.assign(new Error('fetch failed'), { cause: { code: 'ECONNRESET' } });

    // Act
    const c = classifyError(error);

    // Assess
    expect(c).toMatchObject({ code: 'ECONNRESET', retryable: true });
  });

  it('retries a socket timeout described only by its message', () => {
    // Act
    const c = classifyError(new Error('socket hang up'));

    // Assess
    expect(c).toMatchObject({ code: 'UnknownError', retryable: true });
  });

  it.each([
    ['AccessDenied', 403],
    ['AccessDeniedException', 400],
    ['UnauthorizedOperation', 403],
    ['InvalidParameterValue', 400],
    ['InvalidInstanceID.NotFound', 400],
  ])('does not retry %s (HTTP %i)', (name, httpStatusCode) => {
    // Act
    const c = classifyError(awsError(name, { httpStatusCode, message: 'request timed out? no: denied' }));

    // Assess
    expect(c).toMatchObject({ code: name, retryable: false, unsupported: false, httpStatus: httpStatusCode });
  });

  it("flags moto's 500 for an API it has not implemented as unsupported, and does not retry it", () => {
    // Act
    const c = classifyError(motoNotImplemented('GetConsoleScreenshot'));

    // Assess
    expect(c).toEqual({
      code: 'InternalFailure',
      message: 'The GetConsoleScreenshot action has not been implemented',
      retryable: false,
      unsupported: true,
      httpStatus: 500,
    });
  });

  it('flags an HTTP 501 as unsupported', () => {
    // Act
    const c = classifyError(awsError('NotImplemented', { httpStatusCode: 501, fault: 'server' }));

    // Assess
    expect(c).toMatchObject({ retryable: false, unsupported: true });
  });

  it("keeps a Firebreak error's own code and retryability", () => {
    // Act
    const permanent = classifyError(new ResourceNotFoundError('i-0a1b2c3d4e5f67890'));
    const retryable = classifyError(new ContainmentIncompleteError('inc-1', ['isolateNetworkInterfaces']));

    // Assess
    expect(permanent).toEqual({ code: 'ResourceNotFound', message: 'Resource i-0a1b2c3d4e5f67890 was not found', retryable: false, unsupported: false });
    expect(retryable).toMatchObject({ code: 'ContainmentIncomplete', retryable: true, unsupported: false });
  });

  it("records a failed step under the step's own code, not its class name", () => {
    // Act
    const c = classifyError(new StepFailedError('detachFromAutoScalingGroup', 'GroupAtMaximum', 'the group is at its maximum size'));

    // Assess
    expect(c).toEqual({
      code: 'GroupAtMaximum',
      message: 'Step detachFromAutoScalingGroup failed (GroupAtMaximum): the group is at its maximum size',
      retryable: false,
      unsupported: false,
    });
  });

  it('keeps the code of a Firebreak error that wraps an AWS error, and says nothing of the AWS code', () => {
    // Prepare
    const cause = awsError('ThrottlingException', { httpStatusCode: 400 });

    // Act
    const c = classifyError(new StepFailedError('snapshotVolumes', 'SnapshotLimitExceeded', 'too many snapshots in progress', { retryable: true, cause }));

    // Assess
    expect(c).toMatchObject({ code: 'SnapshotLimitExceeded', retryable: true, unsupported: false });
    expect(c.httpStatus).toBeUndefined();
  });

  it.each([
    ['a ConfigurationError', new ConfigurationError(['FIREBREAK_MODE: bad']), 'ConfigurationError', false],
    ['an InvalidFindingError', new InvalidFindingError(['message body is not JSON']), 'InvalidFinding', false],
    ['a RecordedDataError', new RecordedDataError('isolateNetworkInterfaces', ['groups: expected array']), 'RecordedDataInvalid', false],
    ['a refused release', new ReleaseRefusedError('inc-0123456789abcdef', 'resource-mismatch', 'another instance'), 'ReleaseRefused', false],
    ['a release in progress', new ReleaseRefusedError('inc-0123456789abcdef', 'in-progress', 'busy'), 'ReleaseRefused', true],
    ['an incomplete release', new ReleaseIncompleteError('inc-0123456789abcdef', ['restoreSecurityGroups']), 'ReleaseIncomplete', true],
    ['a plain FirebreakError', new FirebreakError('something'), 'FirebreakError', false],
    ['a FirebreakError with its own code', new FirebreakError('slow', { code: 'Slow', retryable: true }), 'Slow', true],
  ])('classifies %s by its code, retryable or permanent as it says', (_what, error, code, retryable) => {
    // Act
    const c = classifyError(error);

    // Assess
    expect(c).toEqual({ code, message: error.message, retryable, unsupported: false });
  });

  it('classifies something that is not an error at all', () => {
    // Act
    const fromUndefined = classifyError(undefined);
    const fromString = classifyError('boom');

    // Assess
    expect(fromUndefined).toMatchObject({ code: 'UnknownError', retryable: false });
    expect(fromString).toMatchObject({ code: 'UnknownError', message: 'boom', retryable: false });
  });
});

describe('Function: hasErrorCode', () => {
  it('matches the error name, the EC2 Code or the node code', () => {
    // Act & Assess
    expect(hasErrorCode(awsError('InvalidGroup.Duplicate'), 'InvalidPermission.Duplicate', 'InvalidGroup.Duplicate')).toBe(true);
    expect(hasErrorCode({ Code: 'InvalidGroup.Duplicate' }, 'InvalidGroup.Duplicate')).toBe(true);
    expect(hasErrorCode({ code: 'ECONNRESET' }, 'ECONNRESET')).toBe(true);
    expect(hasErrorCode(awsError('AccessDenied'), 'InvalidGroup.Duplicate')).toBe(false);
    expect(hasErrorCode(undefined, 'InvalidGroup.Duplicate')).toBe(false);
  });
});

describe('Class: FirebreakError and its subclasses', () => {
  it('name what happened, carry what is needed to act, and say whether to retry', () => {
    // Prepare
    const cause = new Error('underlying');

    // Act
    const errors = {
      config: new ConfigurationError(['FIREBREAK_MODE: bad', 'FIREBREAK_ACCOUNT_ID: bad']),
      invalid: new InvalidFindingError(['message body is not JSON'], { cause }),
      notFound: new ResourceNotFoundError('i-0a1b2c3d4e5f67890'),
      step: new StepFailedError('isolateNetworkInterfaces', 'IsolationGroupMissing', 'no group', { retryable: true, cause }),
      recorded: new RecordedDataError('isolateNetworkInterfaces', ['groups: expected array', 'vpcId: required']),
      incomplete: new ContainmentIncompleteError('inc-1', ['a', 'b']),
    };

    // Assess
    for (const e of Object.values(errors)) expect(e).toBeInstanceOf(FirebreakError);
    expect(errors.config).toMatchObject({ name: 'ConfigurationError', retryable: false, issues: ['FIREBREAK_MODE: bad', 'FIREBREAK_ACCOUNT_ID: bad'] });
    expect(errors.config.message).toBe('Invalid Firebreak configuration: FIREBREAK_MODE: bad; FIREBREAK_ACCOUNT_ID: bad');
    expect(errors.invalid).toMatchObject({ name: 'InvalidFindingError', retryable: false, reasons: ['message body is not JSON'], cause });
    expect(errors.notFound).toMatchObject({ name: 'ResourceNotFoundError', resourceId: 'i-0a1b2c3d4e5f67890', retryable: false });
    expect(errors.step).toMatchObject({ name: 'StepFailedError', step: 'isolateNetworkInterfaces', code: 'IsolationGroupMissing', retryable: true, cause });
    expect(errors.step.message).toBe('Step isolateNetworkInterfaces failed (IsolationGroupMissing): no group');
    expect(errors.incomplete).toMatchObject({ name: 'ContainmentIncompleteError', incidentId: 'inc-1', failedSteps: ['a', 'b'], retryable: true });
    expect(errors.recorded).toMatchObject({ name: 'RecordedDataError', code: 'RecordedDataInvalid', step: 'isolateNetworkInterfaces', issues: ['groups: expected array', 'vpcId: required'], retryable: false });
    expect(errors.recorded.message).toBe("The ledger's data of step isolateNetworkInterfaces does not match its schema: groups: expected array; vpcId: required");
  });

  it('carry the code of their class, which the ledger records', () => {
    // Act
    const codes = [
      new ConfigurationError(['x']),
      new InvalidFindingError(['x']),
      new ResourceNotFoundError('i-0a1b2c3d4e5f67890'),
      new ContainmentIncompleteError('inc-1', ['a']),
      new ReleaseRefusedError('inc-1', 'not-found', 'x'),
      new ReleaseIncompleteError('inc-1', ['a']),
      new RecordedDataError('a', ['x']),
    ].map((e) => e.code);

    // Assess
    expect(codes).toEqual(['ConfigurationError', 'InvalidFinding', 'ResourceNotFound', 'ContainmentIncomplete', 'ReleaseRefused', 'ReleaseIncomplete', 'RecordedDataInvalid']);
  });
});

describe('Class: FirebreakError options', () => {
  it('is permanent, named by its class, and without a cause unless told otherwise', () => {
    // Act
    const error = new FirebreakError('something happened');

    // Assess
    expect(error).toMatchObject({ name: 'FirebreakError', code: 'FirebreakError', retryable: false, message: 'something happened' });
    expect(error.cause).toBeUndefined();
    expect(error).toBeInstanceOf(Error);
  });

  it('takes its code, retryability and cause from the options object', () => {
    // Prepare
    const cause = awsError('ThrottlingException');

    // Act
    const error = new FirebreakError('rate exceeded', { code: 'Throttled', retryable: true, cause });

    // Assess
    expect(error).toMatchObject({ code: 'Throttled', retryable: true });
    expect(error.cause).toBe(cause);
  });

  it("gives a failed step the code it names, permanent unless it says it is retryable", () => {
    // Act
    const permanent = new StepFailedError('detachFromAutoScalingGroup', 'GroupAtMaximum', 'the group is at its maximum size');
    const retryable = new StepFailedError('snapshotVolumes', 'SnapshotPending', 'still copying', { retryable: true });

    // Assess
    expect(permanent).toMatchObject({ code: 'GroupAtMaximum', step: 'detachFromAutoScalingGroup', retryable: false });
    expect(permanent.cause).toBeUndefined();
    expect(retryable).toMatchObject({ code: 'SnapshotPending', retryable: true });
  });

  it.each([
    ['ConfigurationError', (cause: Error) => new ConfigurationError(['x'], { cause })],
    ['InvalidFindingError', (cause: Error) => new InvalidFindingError(['x'], { cause })],
    ['ResourceNotFoundError', (cause: Error) => new ResourceNotFoundError('i-0a1b2c3d4e5f67890', { cause })],
    ['StepFailedError', (cause: Error) => new StepFailedError('s', 'Code', 'x', { cause })],
    ['RecordedDataError', (cause: Error) => new RecordedDataError('s', ['x'], { cause })],
    ['ReleaseRefusedError', (cause: Error) => new ReleaseRefusedError('inc-1', 'claim-lost', 'x', { cause })],
  ])('passes the cause of a %s through', (_name, build) => {
    // Prepare
    const cause = awsError('ConditionalCheckFailedException');

    // Act
    const error = build(cause);

    // Assess
    expect(error.cause).toBe(cause);
  });
});

describe('Class: ReleaseRefusedError', () => {
  it('is retryable only while another release is in progress', () => {
    // Act
    const busy = new ReleaseRefusedError('inc-0123456789abcdef', 'in-progress', 'a release is running');
    const unknown = new ReleaseRefusedError('inc-0123456789abcdef', 'not-found', 'no incident');

    // Assess
    expect(busy).toMatchObject({ name: 'ReleaseRefusedError', retryable: true, refusal: 'in-progress', incidentId: 'inc-0123456789abcdef' });
    expect(busy.message).toBe('Release of inc-0123456789abcdef refused: a release is running');
    expect(unknown.retryable).toBe(false);
    expect(classifyError(unknown)).toMatchObject({ code: 'ReleaseRefused', retryable: false });
  });
});

describe('Class: ReleaseIncompleteError', () => {
  it('names the failed steps and asks for redelivery', () => {
    // Act
    const error = new ReleaseIncompleteError('inc-0123456789abcdef', ['restoreSecurityGroups']);

    // Assess
    expect(error).toBeInstanceOf(FirebreakError);
    expect(error).toMatchObject({ name: 'ReleaseIncompleteError', retryable: true, failedSteps: ['restoreSecurityGroups'] });
    expect(error.message).toBe('Release of inc-0123456789abcdef is incomplete (retryable failures in: restoreSecurityGroups); the message will be redelivered');
  });
});
