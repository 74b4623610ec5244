// Lazily created, shared AWS SDK clients. The SDK modules are imported on first use so that
// `--help`, `status` and a dry run without credentials never load them (DESIGN.md).
// Endpoints: the SDK itself honours AWS_ENDPOINT_URL_IAM/_STS/_EKS, so LocalStack, moto and the
// test cloud need no switch here.
import type { EKSClient } from '@aws-sdk/client-eks';
import http from 'node:http';
import https from 'node:https';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, Logger } from '@smithy/types';
import { noteCredentialFailure, ONLY_IN_TEXT, tagAwsCalls } from './errors.js';

export interface AwsClients {
  readonly region: string;
  readonly profile?: string;
  sts(): Promise<STSClient>;
  iam(): Promise<IAMClient>;
  eks(): Promise<EKSClient>;
  /** Resolved credentials (for signing EKS tokens in-process) of `profile` (default: the run's).
   * Never logged or stored. */
  credentials(profile?: string): Promise<AwsCredentialIdentity>;
  /**
   * Where the SDK's own log lines go (its credential chain's warnings, e.g. "Multiple credential
   * sources detected", and which provider it tried): the command's debug log, never the terminal.
   * Lines from before this is called are held and handed over then (at most SDK_LOG_HELD).
   */
  logTo(sink: (line: string) => void): void;
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

/** SDK log lines held until the command says where they go (a credential chain logs a dozen). */
export const SDK_LOG_HELD = 200;

/**
 * The logger the SDK's credential providers write to instead of console.warn (they use a logger
 * they are given unless it is the SDK's NoOpLogger: @aws-sdk/credential-provider-node's
 * defaultProvider, credential-provider-http). Its lines name providers and profiles, never secrets.
 */
function sdkLogger(): Logger & { logTo(sink: (line: string) => void): void } {
  const held: string[] = [];
  let sink: ((line: string) => void) | undefined;
  const write = (level: string) => (...content: unknown[]) => {
    const line = `aws-sdk ${level}: ${content.map((c) => (typeof c === 'string' ? c : JSON.stringify(c))).join(' ').replace(/\s*\n\s*/g, ' ').trim()}`;
    if (sink) sink(line);
    else if (held.length < SDK_LOG_HELD) held.push(line);
  };
  return {
    trace: write('trace'),
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    logTo(s) {
      sink = s;
      for (const l of held.splice(0)) s(l);
    },
  };
}

export function createAwsClients(opts: AwsClientOptions): AwsClients {
  const logger = sdkLogger();
  const cache = new Map<string, Promise<unknown>>();
  const once = <T>(key: string, make: () => Promise<T>): Promise<T> => {
    let p = cache.get(key) as Promise<T> | undefined;
    if (!p) {
      p = make();
      cache.set(key, p);
    }
    return p;
  };

  /** The SDK's default chain for a profile (undefined: the default one), logging to our logger. A
   * failed chain says only "Could not load credentials from any providers": the error carries the
   * named profile's own reason, and whether keys in the environment were passed over for it. */
  const chainFor = (profile: string | undefined) =>
    once(`credentials:${profile ?? ''}`, async () => {
      const { fromNodeProviderChain, fromIni } = await sdk.credentialProviders();
      const init = { ...(profile ? { profile } : {}), logger };
      const chain = fromNodeProviderChain(init);
      // The same failure reaches every caller waiting on the chain: explain it once.
      const explained = new WeakMap<object, Promise<void>>();
      const explain = async (err: unknown) => {
        let reason: string | undefined;
        if (profile && ONLY_IN_TEXT.chainFellThrough.test(err instanceof Error ? err.message : '')) {
          reason = await fromIni(init)().then(
            () => undefined,
            (e: unknown) => (e instanceof Error ? e.message : undefined),
          );
        }
        const envKeys = Boolean(process.env.AWS_ACCESS_KEY_ID && process.env.AWS_SECRET_ACCESS_KEY);
        noteCredentialFailure(err, { ...(reason ? { reason } : {}), envKeysPassedOver: Boolean(profile) && envKeys });
      };
      const provider: typeof chain = async (args) => {
        try {
          return await chain(args);
        } catch (err) {
          if (err && typeof err === 'object') {
            if (!explained.has(err)) explained.set(err, explain(err));
            await explained.get(err);
          }
          throw err;
        }
      };
      return provider;
    });

  const common = async () =>
    once('common', async () => {
      const [{ NodeHttpHandler }, credentials] = await Promise.all([sdk.httpHandler(), chainFor(opts.profile)]);
      // One keep-alive pool for all three clients: the run makes dozens of small calls.
      const requestHandler = new NodeHttpHandler({
        httpsAgent: new https.Agent({ keepAlive: true, maxSockets: 16 }),
        httpAgent: new http.Agent({ keepAlive: true, maxSockets: 16 }),
      });
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
    credentials: async (profile) => (await chainFor(profile ?? opts.profile))(),
    logTo: (sink) => logger.logTo(sink),
  };
}
