import { describe, expect, it } from 'vitest';
import { trustPolicy } from '../../src/desired.js';
import { decodePolicyDocument, jsonEqual, mergeTrustPrincipal, removeTrustPrincipal, trustIncludes, type LoosePolicy } from '../../src/aws/trust-policy.js';

const WI = 'arn:aws:iam::123456789012:role/astro-dep-abc123';
const OTHER = 'arn:aws:iam::123456789012:role/someone-else';

describe('decodePolicyDocument', () => {
  it('decodes the URL-encoded form IAM returns (with or without "/" encoded)', () => {
    const doc = trustPolicy([WI]);
    const encoded = encodeURIComponent(JSON.stringify(doc));
    expect(decodePolicyDocument(encoded)).toEqual(doc);
    expect(decodePolicyDocument(encoded.replace(/%2F/g, '/'))).toEqual(doc);
    expect(decodePolicyDocument(JSON.stringify(doc))).toEqual(doc);
    expect(decodePolicyDocument(undefined)).toBeUndefined();
  });
});

describe('mergeTrustPrincipal', () => {
  it('builds exactly the desired trust policy for a new role', () => {
    expect(mergeTrustPrincipal(undefined, WI)).toEqual({ doc: trustPolicy([WI]), changed: true });
  });

  it('adds to a single-string Principal.AWS, keeping the other principal', () => {
    const doc: LoosePolicy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: OTHER }, Action: 'sts:AssumeRole' }] };
    const r = mergeTrustPrincipal(doc, WI);
    expect(r.changed).toBe(true);
    expect(r.doc.Statement).toEqual([{ Effect: 'Allow', Principal: { AWS: [OTHER, WI] }, Action: 'sts:AssumeRole' }]);
    // the input is not mutated
    expect((doc.Statement as LoosePolicy[])[0]).toEqual({ Effect: 'Allow', Principal: { AWS: OTHER }, Action: 'sts:AssumeRole' });
  });

  it('adds to an array Principal.AWS and keeps every other statement and key', () => {
    const service = { Sid: 'Ec2', Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' };
    const deny = { Effect: 'Deny', Principal: { AWS: '*' }, Action: 'sts:TagSession' };
    const doc: LoosePolicy = {
      Version: '2012-10-17',
      Id: 'keep-me',
      Statement: [service, { Sid: 'People', Effect: 'Allow', Principal: { AWS: [OTHER], Federated: 'x' }, Action: ['sts:AssumeRole', 'sts:TagSession'] }, deny],
    };
    const r = mergeTrustPrincipal(doc, WI);
    expect(r.changed).toBe(true);
    expect(r.doc.Id).toBe('keep-me');
    expect(r.doc.Statement).toEqual([
      service,
      { Sid: 'People', Effect: 'Allow', Principal: { AWS: [OTHER, WI], Federated: 'x' }, Action: ['sts:AssumeRole', 'sts:TagSession'] },
      deny,
    ]);
  });

  it('appends its own statement when no unconditional AWS-principal Allow exists', () => {
    const conditional = { Effect: 'Allow', Principal: { AWS: OTHER }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'sts:ExternalId': 'x' } } };
    const doc: LoosePolicy = { Version: '2012-10-17', Statement: conditional };
    const r = mergeTrustPrincipal(doc, WI);
    expect(r.doc.Statement).toEqual([conditional, { Effect: 'Allow', Principal: { AWS: [WI] }, Action: 'sts:AssumeRole' }]);
  });

  it('changes nothing when the workload identity is already trusted', () => {
    const doc: LoosePolicy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: [OTHER, WI] }, Action: 'sts:AssumeRole' }] };
    expect(mergeTrustPrincipal(doc, WI)).toEqual({ doc, changed: false });
  });
});

describe('removeTrustPrincipal (destroy undoing mergeTrustPrincipal)', () => {
  it('takes out exactly the added principal and keeps every other statement, principal and key', () => {
    const service = { Sid: 'Ec2', Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' };
    const people = { Sid: 'People', Effect: 'Allow', Principal: { AWS: [OTHER], Federated: 'x' }, Action: ['sts:AssumeRole', 'sts:TagSession'] };
    const doc: LoosePolicy = { Version: '2012-10-17', Id: 'keep-me', Statement: [service, people] };
    const r = removeTrustPrincipal(mergeTrustPrincipal(doc, WI).doc, WI);
    expect(r).toEqual({ doc, changed: true, empty: false });
  });

  it('drops the statement init appended, and keeps a single principal a single principal', () => {
    const conditional = { Effect: 'Allow', Principal: { AWS: OTHER }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'sts:ExternalId': 'x' } } };
    const appended = removeTrustPrincipal(mergeTrustPrincipal({ Version: '2012-10-17', Statement: conditional }, WI).doc, WI);
    expect(appended.doc.Statement).toEqual([conditional]);
    const single: LoosePolicy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: [OTHER, WI, 'arn:aws:iam::123456789012:root'] }, Action: 'sts:AssumeRole' }] };
    expect(removeTrustPrincipal(single, WI).doc.Statement).toEqual([{ Effect: 'Allow', Principal: { AWS: [OTHER, 'arn:aws:iam::123456789012:root'] }, Action: 'sts:AssumeRole' }]);
    expect(trustIncludes(removeTrustPrincipal(single, WI).doc, OTHER)).toBe(true);
  });

  it('says when nothing would be left (IAM needs a trust policy), and changes nothing when the principal is not there', () => {
    expect(removeTrustPrincipal(trustPolicy([WI]) as LoosePolicy, WI)).toMatchObject({ changed: true, empty: true });
    const doc: LoosePolicy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: OTHER }, Action: 'sts:AssumeRole' }] };
    expect(removeTrustPrincipal(doc, WI)).toEqual({ doc, changed: false, empty: false });
  });
});

describe('trustIncludes', () => {
  it('needs an unconditional Allow of sts:AssumeRole naming the principal', () => {
    expect(trustIncludes(trustPolicy([WI]) as unknown as LoosePolicy, WI)).toBe(true);
    expect(trustIncludes(trustPolicy([OTHER]) as unknown as LoosePolicy, WI)).toBe(false);
    expect(trustIncludes({ Statement: { Effect: 'Deny', Principal: { AWS: WI }, Action: 'sts:AssumeRole' } }, WI)).toBe(false);
    expect(trustIncludes({ Statement: { Effect: 'Allow', Principal: { AWS: WI }, Action: 'sts:AssumeRole', Condition: {} } }, WI)).toBe(false);
    expect(trustIncludes({ Statement: { Effect: 'Allow', Principal: { AWS: WI }, Action: 's3:GetObject' } }, WI)).toBe(false);
    expect(trustIncludes(undefined, WI)).toBe(false);
  });
});

describe('jsonEqual', () => {
  it('ignores key order, not array order or values', () => {
    expect(jsonEqual({ a: 1, b: [1, { c: 2, d: 3 }] }, { b: [1, { d: 3, c: 2 }], a: 1 })).toBe(true);
    expect(jsonEqual({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(jsonEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(jsonEqual({ a: '1' }, { a: 1 })).toBe(false);
  });
});
