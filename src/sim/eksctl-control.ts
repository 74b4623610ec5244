// The control API (/__control/*) the stand-in eksctl and tests use: eksctl's scripted behaviour,
// cluster registration as CloudFormation would do it (CREATING, then ACTIVE after the configured
// time whether or not eksctl is still running), kubeconfig writing, faults and the call log.
import type { CallLog, FaultKind, Faults } from './calls.js';
import { createHash } from 'node:crypto';
import type { AuthMode, FakeCluster, VpcOverrides } from './aws/eks.js';
import { addAddon } from './aws/eks-pod-identity.js';
import type { OidcProviders } from './aws/iam-oidc.js';
import type { KeyStore } from './aws/identity.js';
import type { ControlReply } from './aws/server.js';
import { AwsError } from './aws/xml.js';
import { writeEksctlContext } from './kubeconfig.js';

export interface EksctlBehaviour {
  durationMs: number;
  version: string;
  fail?: { exitCode: number; message: string; times: number };
  /** argv of every invocation, in order. */
  invocations: string[][];
  /** Next `create cluster`: control plane only, then exit 1 (see TestCloud.eksctl.stopAfterControlPlane). */
  stopAfterControlPlane?: boolean;
}

export interface NodegroupSpec {
  name: string;
  /** false: an eksctl `nodeGroups` entry (self-managed: EC2 + CloudFormation, not listed by EKS). */
  managed?: boolean;
  instanceType?: string;
  desiredCapacity?: number;
}

export interface RegisterOptions {
  name: string;
  region?: string;
  authenticationMode?: AuthMode;
  status?: string;
  creatorArn?: string;
  nodeGroup?: boolean;
  /** Managed node groups to create with the cluster (default: `ng-1` when nodeGroup). */
  nodeGroups?: NodegroupSpec[];
  tags?: Record<string, string>;
  bootstrapClusterCreatorAdminPermissions?: boolean;
  /** Turn ACTIVE after this long (CloudFormation finishing); undefined: stay in `status`. */
  activateAfterMs?: number;
  /** Over eksctl's defaults (src/sim/aws/eks.ts DEFAULT_VPC). */
  resourcesVpcConfig?: VpcOverrides;
  /** Whether DescribeCluster carries identity.oidc.issuer (default true, as every EKS cluster has one). */
  oidcIssuer?: boolean;
  /** EKS add-ons installed with the cluster (status ACTIVE). */
  addons?: string[];
}

export interface ControlDeps {
  eksctl: EksctlBehaviour;
  keys: KeyStore;
  log: CallLog;
  faults: Faults;
  register(opts: RegisterOptions): Promise<FakeCluster>;
  addNodegroup(cluster: FakeCluster, spec: NodegroupSpec): void;
  cluster(name: string): FakeCluster | undefined;
  deleteCluster(name: string): boolean;
  timers: Set<NodeJS.Timeout>;
  /** The account's IAM OIDC providers (eksctl's withOIDC registers the cluster's issuer). */
  oidc: OidcProviders;
  accountId: string;
}

const json = (status: number, body: unknown): ControlReply => ({ status, body });

function clusterView(c: FakeCluster) {
  return { name: c.name, region: c.region, status: c.status, endpoint: c.endpoint, caData: c.caData, arn: c.arn, authenticationMode: c.authenticationMode, creatorArn: c.creatorArn };
}

export function makeControl(deps: ControlDeps): (method: string, path: string, body: unknown) => Promise<ControlReply> {
  const eksctlCall = (operation: string, status: number, cluster?: string, name?: string) =>
    deps.log.add({ service: 'eksctl', operation, mutating: operation !== 'Invocation', status, seq: deps.log.nextSeq(), cluster, name });
  return async (method, path, raw) => {
    const body = (raw ?? {}) as Record<string, unknown>;
    const [route, query = ''] = path.split('?');
    const seg = (route ?? '').split('/').filter(Boolean).map(decodeURIComponent);
    const key = `${method} /${seg[0] ?? ''}${seg.length > 1 ? '/:name' : ''}${seg[2] ? `/${seg[2]}` : ''}`;
    switch (key) {
      case 'GET /eksctl':
        return json(200, { durationMs: deps.eksctl.durationMs, version: deps.eksctl.version, fail: deps.eksctl.fail ?? null, stopAfterControlPlane: deps.eksctl.stopAfterControlPlane ?? false });
      case 'POST /eksctl': {
        // An invocation: record argv and answer whether this one must fail.
        deps.eksctl.invocations.push((body.argv as string[] | undefined) ?? []);
        const fail = deps.eksctl.fail;
        if (fail && body.creates) {
          fail.times -= 1;
          if (fail.times <= 0) deps.eksctl.fail = undefined;
          return json(200, { fail: { exitCode: fail.exitCode, message: fail.message } });
        }
        return json(200, { fail: null });
      }
      case 'GET /identity': {
        const rec = deps.keys.get(new URLSearchParams(query).get('accessKeyId') ?? '');
        if (!rec) return json(403, { message: 'The security token included in the request is invalid.' });
        return json(200, { arn: rec.principal.arn, iamArn: rec.principal.iamArn });
      }
      case 'POST /clusters': {
        const name = String(body.name ?? '');
        const rec = deps.keys.get(String(body.accessKeyId ?? ''));
        if (!rec) return json(403, { message: 'The security token included in the request is invalid.' });
        if (deps.cluster(name)) {
          eksctlCall('CreateCluster', 409, name);
          return json(409, { message: `AlreadyExistsException: Stack [eksctl-${name}-cluster] already exists` });
        }
        // Once: the flag describes one interrupted eksctl run.
        const stop = deps.eksctl.stopAfterControlPlane ?? false;
        deps.eksctl.stopAfterControlPlane = false;
        const c = await deps.register({
          name,
          region: typeof body.region === 'string' ? body.region : undefined,
          authenticationMode: body.authenticationMode as AuthMode | undefined,
          status: 'CREATING',
          creatorArn: rec.principal.iamArn,
          // The node groups' stacks come after the control plane's: unless eksctl stops in between.
          nodeGroups: stop ? [] : ((body.nodeGroups as NodegroupSpec[] | undefined) ?? []),
          tags: (body.tags as Record<string, string> | undefined) ?? {},
          activateAfterMs: deps.eksctl.durationMs,
        });
        eksctlCall('CreateCluster', 200, name);
        return json(200, clusterView(c));
      }
      case 'POST /clusters/:name/nodegroups': {
        // `eksctl create nodegroup`: the node group stacks for a cluster that exists.
        const c = deps.cluster(seg[1]!);
        if (!c) return json(404, { message: `No cluster found for name: ${seg[1]}.` });
        const specs = (body.nodeGroups as NodegroupSpec[] | undefined) ?? [];
        for (const g of specs) deps.addNodegroup(c, g);
        eksctlCall('CreateNodegroup', 200, c.name);
        return json(200, { nodegroups: [...c.nodegroups.keys()] });
      }
      case 'GET /clusters/:name': {
        const c = deps.cluster(seg[1]!);
        return c ? json(200, clusterView(c)) : json(404, { message: `No cluster found for name: ${seg[1]}.` });
      }
      case 'POST /clusters/:name/oidc': {
        // `iam.withOIDC: true`: eksctl's "associate IAM OIDC provider" task, after the control plane
        // (pkg/iam/oidc/api.go): no existence check first, `:443` added to the issuer's host, a
        // thumbprint it fetched itself, ClientIDList sts.amazonaws.com, eksctl's own tags.
        const c = deps.cluster(seg[1]!);
        if (!c) return json(404, { message: `No cluster found for name: ${seg[1]}.` });
        if (!c.oidcIssuer) return json(400, { message: 'unknown OIDC issuer URL' });
        const issuer = new URL(c.oidcIssuer);
        const url = `https://${issuer.hostname}:443${issuer.pathname}`;
        try {
          const p = deps.oidc.create({
            url,
            clientIds: ['sts.amazonaws.com'],
            thumbprints: [createHash('sha1').update(issuer.hostname).digest('hex')],
            tags: { 'alpha.eksctl.io/cluster-name': c.name, 'alpha.eksctl.io/eksctl-version': deps.eksctl.version },
          });
          eksctlCall('AssociateOIDCProvider', 200, c.name);
          return json(200, { arn: p.arn });
        } catch (e) {
          if (!(e instanceof AwsError)) throw e;
          eksctlCall('AssociateOIDCProvider', e.status, c.name);
          return json(e.status, { message: `creating OIDC provider: operation error IAM: CreateOpenIDConnectProvider, https response error StatusCode: ${e.status}, ${e.code}: ${e.message}` });
        }
      }
      case 'POST /clusters/:name/addons': {
        const c = deps.cluster(seg[1]!);
        if (!c) return json(404, { message: `No cluster found for name: ${seg[1]}.` });
        for (const name of (body.names as string[] | undefined) ?? []) {
          addAddon(c, deps.accountId, name);
          eksctlCall('CreateAddon', 200, c.name, name);
        }
        return json(200, { addons: [...c.addons.keys()] });
      }
      case 'DELETE /clusters/:name': {
        // eksctl deletes the provider for the cluster's issuer if there is one, whoever made it
        // (pkg/cfn/manager/delete_tasks.go), before the cluster.
        const c = deps.cluster(seg[1]!);
        if (c?.oidcIssuer && deps.oidc.delete(deps.oidc.arnFor(c.oidcIssuer))) eksctlCall('DeleteOIDCProvider', 200, c.name);
        const ok = deps.deleteCluster(seg[1]!);
        eksctlCall('DeleteCluster', ok ? 200 : 404, seg[1]);
        return ok ? json(200, {}) : json(404, { message: `No cluster found for name: ${seg[1]}.` });
      }
      case 'POST /clusters/:name/kubeconfig': {
        const c = deps.cluster(seg[1]!);
        const rec = deps.keys.get(String(body.accessKeyId ?? ''));
        if (!c || !rec) return json(404, { message: 'no such cluster or key' });
        const context = await writeEksctlContext(String(body.path), {
          clusterName: c.name,
          region: c.region,
          server: c.endpoint,
          caData: c.caData,
          callerArn: rec.principal.arn,
          setCurrent: body.setCurrent !== false,
        });
        eksctlCall('WriteKubeconfig', 200, c.name);
        return json(200, { context });
      }
      case 'POST /faults':
        deps.faults.failNth(String(body.operation), Number(body.n ?? 1), body.kind as FaultKind);
        return json(200, {});
      case 'POST /latency':
        deps.faults.latency(Number(body.ms ?? 0), typeof body.operation === 'string' ? body.operation : undefined);
        return json(200, {});
      case 'GET /calls':
        return json(200, deps.log.calls);
      default:
        return json(404, { message: `no control route ${method} ${path}` });
    }
  };
}
