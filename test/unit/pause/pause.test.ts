import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePauseValue, PauseSwitch, pauseValue } from '../../../shared/pause/index.ts';
import { awsError } from '../helpers/factories.ts';

const ssmMock = mockClient(SSMClient);
afterEach(() => ssmMock.reset());

const PARAMETER = '/firebreak/paused';
const paused = pauseValue({ paused: true, by: 'arn:aws:sts::111122223333:assumed-role/Responder/alice', at: '2026-11-25T20:00:00.000Z', reason: 'change freeze' });

describe('Class: PauseSwitch', () => {
  it('reads the pause, who set it, when and why', async () => {
    // Prepare
    ssmMock.on(GetParameterCommand, { Name: PARAMETER }).resolves({ Parameter: { Value: paused } });

    // Act
    const state = await new PauseSwitch(new SSMClient({}), PARAMETER).state();

    // Assess
    expect(state).toEqual({ paused: true, by: 'arn:aws:sts::111122223333:assumed-role/Responder/alice', at: '2026-11-25T20:00:00.000Z', reason: 'change freeze' });
  });

  it('reads the parameter at most once per ttl, then again', async () => {
    // Prepare
    let now = 0;
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: pauseValue({ paused: false }) } });
    const pause = new PauseSwitch(new SSMClient({}), PARAMETER, { ttlMs: 30_000, now: () => now });

    // Act
    await pause.state();
    now = 29_999;
    await pause.state();
    now = 30_000;
    await pause.state();

    // Assess
    expect(ssmMock.commandCalls(GetParameterCommand)).toHaveLength(2);
  });

  it('is not paused when the parameter does not exist', async () => {
    // Prepare
    ssmMock.on(GetParameterCommand).rejects(awsError('ParameterNotFound'));

    // Act + Assess
    expect(await new PauseSwitch(new SSMClient({}), PARAMETER).state()).toEqual({ paused: false });
  });

  it('keeps the last state it knew when SSM cannot be read, and reads as not paused with none (an outage must not stop containment)', async () => {
    // Prepare
    let now = 0;
    const pause = new PauseSwitch(new SSMClient({}), PARAMETER, { ttlMs: 10, now: () => now });
    ssmMock.on(GetParameterCommand).rejectsOnce(awsError('ThrottlingException', { httpStatusCode: 400 })).resolves({ Parameter: { Value: paused } });

    // Act
    const first = await pause.state();
    now = 20;
    const second = await pause.state();
    ssmMock.on(GetParameterCommand).rejects(awsError('InternalServerError', { httpStatusCode: 500 }));
    now = 40;
    const third = await pause.state();

    // Assess
    expect(first).toEqual({ paused: false });
    expect(second.paused).toBe(true);
    expect(third.paused).toBe(true);
  });
});

describe('Function: parsePauseValue', () => {
  it.each([[undefined], [''], ['false'], [pauseValue({ paused: false })]])('reads %j as not paused', (value) => {
    expect(parsePauseValue(value).paused).toBe(false);
  });

  it('fails closed: a hand-edited value that is not a pause record reads as paused, and says why', () => {
    // Act
    const state = parsePauseValue('yes please');

    // Assess
    expect(state.paused).toBe(true);
    expect(state.reason).toMatch(/not a pause record: treated as paused/);
  });

  it('cleans a hostile reason', () => {
    expect(parsePauseValue(JSON.stringify({ paused: true, reason: 'evil\u001b[2J' })).reason).toBe('evil [2J');
  });
});

describe('Class: PauseSwitch — a batch asking at once', () => {
  it('reads the parameter once however many records ask at the same time', async () => {
    // Prepare
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: paused } });
    const pause = new PauseSwitch(new SSMClient({}), PARAMETER);

    // Act
    const states = await Promise.all([pause.state(), pause.state(), pause.state()]);

    // Assess
    expect(states.every((s) => s.paused)).toBe(true);
    expect(ssmMock.commandCalls(GetParameterCommand)).toHaveLength(1);
  });
});
