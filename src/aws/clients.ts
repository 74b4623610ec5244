// Lazily created, shared AWS SDK clients. The SDK modules are imported on first use so that
// `--help`, `status` and a dry run without credentials never load them (DESIGN.md).
// Endpoints: the SDK itself honours AWS_ENDPOINT_URL_IAM/_STS/_EKS, so LocalStack, moto and the
// test cloud need no switch here.
import type { EKSClient } from '@aws-sdk/client-eks';
import http from 'node:http';
import https from 'node:https';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';
import { tagAwsCalls } from './errors.js';

export interface AwsClients {
  readonly region: string;
  readonly profile?: string;
  sts(): Promise<STSClient>;
  iam(): Promise<IAMClient>;
  eks(): Promise<EKSClient>;
  /** Resolved credentials (for signing EKS tokens in-process). Never logged or stored. */
  credentials(): Promise<AwsCredentialIdentity>;
}

export interface AwsClientOptions {
  region: string;
  profile?: string;
  /** How many attempts the SDK's standard retry makes (throttling, 5xx, resets). */
  maxAttempts?: number;
  /** Receives one audit line per mutating call (logs/debug.log). */
  audit?: (line: string) => void;
}

/**
 * The AWS SDK packages, loaded on first use: the one place they are imported (`--help` and the
 * stage code never load them). The thin wrappers (src/aws/*, destroy, verify) take their command
 * classes, waiters and paginators from here.
 */
export const sdk = {
  sts: () => import('@aws-sdk/client-sts'),
  iam: () => import('@aws-sdk/client-iam'),
  eks: () => import('@aws-sdk/client-eks'),
  credentialProviders: () => import('@aws-sdk/credential-providers'),
  httpHandler: () => import('@smithy/node-http-handler'),
  /** What presigns an EKS token (aws/eks-token.ts). */
  signer: async () => {
    const [{ SignatureV4 }, { Sha256 }, { HttpRequest }] = await Promise.all([
      import('@smithy/signature-v4'),
      import('@aws-crypto/sha256-js'),
      import('@smithy/protocol-http'),
    ]);
    return { SignatureV4, Sha256, HttpRequest };
  },
};

export function createAwsClients(opts: AwsClientOptions): AwsClients {
  const cache = new Map<string, Promise<unknown>>();
  const once = <T>(key: string, make: () => Promise<T>): Promise<T> => {
    let p = cache.get(key) as Promise<T> | undefined;
    if (!p) {
      p = make();
      cache.set(key, p);
    }
    return p;
  };

  const common = async () =>
    once('common', async () => {
      const [{ NodeHttpHandler }, { fromNodeProviderChain }] = await Promise.all([sdk.httpHandler(), sdk.credentialProviders()]);
      // One keep-alive pool for all three clients: the run makes dozens of small calls.
      const requestHandler = new NodeHttpHandler({
        httpsAgent: new https.Agent({ keepAlive: true, maxSockets: 16 }),
        httpAgent: new http.Agent({ keepAlive: true, maxSockets: 16 }),
      });
      const credentials = fromNodeProviderChain(opts.profile ? { profile: opts.profile } : {});
      return {
        region: opts.region,
        credentials,
        requestHandler,
        maxAttempts: opts.maxAttempts ?? 6,
        ...(opts.profile ? { profile: opts.profile } : {}),
      };
    });

  return {
    region: opts.region,
    profile: opts.profile,
    // Every client's errors say which call failed on what (errors.ts names the missing permission),
    // and every mutating call is written to the audit trail (logs/debug.log).
    sts: () =>
      once('sts', async () => {
        const c = new (await sdk.sts()).STSClient(await common());
        tagAwsCalls(c.middlewareStack, 'sts', opts.audit);
        return c;
      }),
    iam: () =>
      once('iam', async () => {
        const c = new (await sdk.iam()).IAMClient(await common());
        tagAwsCalls(c.middlewareStack, 'iam', opts.audit);
        return c;
      }),
    eks: () =>
      once('eks', async () => {
        const c = new (await sdk.eks()).EKSClient(await common());
        tagAwsCalls(c.middlewareStack, 'eks', opts.audit);
        return c;
      }),
    credentials: async () => (await common()).credentials(),
  };
}
