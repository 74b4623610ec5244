import { describe, expect, it } from 'vitest';
import { isIamPropagationError, retryIamPropagation } from '../../src/aws/retry.js';
import { err, virtualDeps } from './virtual-clock.js';

describe('isIamPropagationError', () => {
  it('retries invalid principals always, NoSuchEntity/AccessDenied only right after a create', () => {
    const invalid = err('MalformedPolicyDocumentException', 'Invalid principal in policy: "AWS":"arn:aws:iam::1:role/x"');
    expect(isIamPropagationError(invalid, { afterCreate: false })).toBe(true);
    expect(isIamPropagationError(err('MalformedPolicyDocumentException', 'Syntax errors in policy'), { afterCreate: true })).toBe(false);
    expect(isIamPropagationError(err('NoSuchEntityException'), { afterCreate: false })).toBe(false);
    expect(isIamPropagationError(err('NoSuchEntityException'), { afterCreate: true })).toBe(true);
    expect(isIamPropagationError(err('AccessDenied'), { afterCreate: true })).toBe(true);
    expect(isIamPropagationError(err('AccessDenied'), { afterCreate: false })).toBe(false);
    // A role read a moment ago (role-arn): NoSuchEntity is lag, AccessDenied never is.
    expect(isIamPropagationError(err('NoSuchEntityException'), { afterCreate: false, notFoundIsPropagation: true })).toBe(true);
    expect(isIamPropagationError(err('AccessDenied'), { afterCreate: false, notFoundIsPropagation: true })).toBe(false);
    expect(isIamPropagationError(err('Throttling'), { afterCreate: true })).toBe(false);
    // EKS: a role it cannot see yet, versus an ARN that is simply malformed
    expect(isIamPropagationError(err('InvalidParameterException', 'The specified principalArn is invalid: arn:aws:iam::1:role/x does not exist.'), { afterCreate: false })).toBe(true);
    expect(isIamPropagationError(err('InvalidParameterException', 'The specified principalArn is invalid: invalid arn'), { afterCreate: false })).toBe(false);
    // EKS Pod Identity: the association's role not visible yet (terraform-provider-aws#34717), versus a bad trust
    expect(isIamPropagationError(err('InvalidParameterException', 'Role provided in the request does not exist'), { afterCreate: false })).toBe(true);
    expect(isIamPropagationError(err('InvalidParameterException', 'Trust policy of the role provided is invalid'), { afterCreate: false })).toBe(false);
  });
});

describe('retryIamPropagation', () => {
  it('shows "waiting for IAM propagation" with the attempt number', async () => {
    const deps = virtualDeps(() => 0.5);
    const progress: string[] = [];
    let calls = 0;
    await retryIamPropagation(
      async () => {
        if (++calls < 3) throw err('NoSuchEntityException', 'role not found');
      },
      { afterCreate: true, progress: (t) => progress.push(t), deps },
    );
    expect(progress).toEqual(['waiting for IAM propagation (attempt 1)…', 'waiting for IAM propagation (attempt 2)…']);
  });
});
