// The ModelCallError a provider call rejects with, checked for its reason (fails the test when the call
// resolves or rejects with anything else).
import { expect } from 'vitest';
import { ModelCallError, type ModelFailure } from '../../src/core/errors.js';

export async function modelFailure(p: Promise<unknown>, reason: ModelFailure): Promise<ModelCallError> {
  const outcome = await p.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a failure, got ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(ModelCallError);
  expect((outcome.error as ModelCallError).reason).toBe(reason);
  return outcome.error as ModelCallError;
}
