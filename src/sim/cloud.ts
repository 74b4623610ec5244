// startSimCloud(): the simulation `demo` runs against and the test suite is built on
// (test/support/cloud.ts adds only test-only stand-ins). A loopback AWS account (STS, IAM, EKS on
// HTTP servers that listen on 127.0.0.1 only) and one HTTPS Kubernetes API server per EKS cluster,
// plus the environment a CLI process needs to use them exactly as it would use LocalStack, moto
// or AWS: AWS_ENDPOINT_URL_*, static keys, a temp HOME and KUBECONFIG, and PATH with the given
// folders (the stand-in eksctl's) first. Everything lives in memory and in one temp folder, and
// ends with stop(). docs/architecture.md says why this is product code; test/support/README.md
// documents the API.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CallLog, Faults, type CallRecord } from './calls.js';
import { DEFAULT_VPC, FakeEks, type AuthMode, type FakeCluster, type VpcOverrides } from './aws/eks.js';
import { addAddon } from './aws/eks-pod-identity.js';
import { FakeAws } from './aws/fake-aws.js';
import { FakeIam } from './aws/iam.js';
import { KeyStore, randomId } from './aws/identity.js';
import { startAwsServer } from './aws/server.js';
import { makeControl, type EksctlBehaviour, type NodegroupSpec, type RegisterOptions } from './eksctl-control.js';
import { FakeKube } from './kube/fake-kube.js';
import { startKubeServer, type KubeServer } from './kube/server.js';
import { writeEksctlContext, writeTokenContext } from './kubeconfig.js';
import { makeSimTls, type SimTls } from './tls.js';

export type { CallRecord, FaultKind } from './calls.js';
export type { AuthMode, FakeCluster, VpcConfig } from './aws/eks.js';
export { FakeAws, type OidcProviderView, type PodIdentityAssociationView } from './aws/fake-aws.js';
export { FakeKube } from './kube/fake-kube.js';

export interface AddClusterOptions {
  name: string;
  region?: string;
  /** Default: the cloud's authenticationMode (API_AND_CONFIG_MAP unless set). */
  authenticationMode?: AuthMode;
  status?: string;
  /** Write a kubeconfig context like eksctl does (true/'exec': exec plugin `aws eks get-token`; 'token': the static admin token). */
  withKubeconfigContext?: boolean | 'exec' | 'token';
  /** Make that context current (default true, as eksctl does). */
  setCurrentContext?: boolean;
  /** A managed node group `ng-1`, as eksctl makes: its node role is mapped in aws-auth (CONFIG_MAP) or by an EC2_LINUX access entry. Default true. */
  nodeGroup?: boolean;
  /** Cluster tags besides eksctl's (e.g. { 'managed-by': 'astro-remote-kpo' } for one our ClusterConfig made). */
  tags?: Record<string, string>;
  /** Who created it (the bootstrap admin); default the test admin user. */
  creatorArn?: string;
  /** EKS's bootstrapClusterCreatorAdminPermissions (API modes): default true. */
  bootstrapClusterCreatorAdminPermissions?: boolean;
  /** resourcesVpcConfig over eksctl's defaults (public, 0.0.0.0/0), e.g. { endpointPublicAccess:
   * false, endpointPrivateAccess: true } for a private endpoint; a key set to undefined is left out
   * of DescribeCluster's answer, as moto does. */
  resourcesVpcConfig?: VpcOverrides;
  /** DescribeCluster carries identity.oidc.issuer = https://oidc.eks.<region>.amazonaws.com/id/<32 hex
   * upper>, a new one per cluster, as EKS gives every cluster (default true; false leaves it out). */
  oidcIssuer?: boolean;
  /** EKS add-ons the cluster has, status ACTIVE (e.g. ['eks-pod-identity-agent']). */
  addons?: string[];
}

export interface StartSimCloudOptions {
  /** Auth mode of clusters whose creator doesn't say (eksctl config without accessConfig, addCluster). */
  authenticationMode?: AuthMode;
  /** Create this cluster up front (as if it already existed). */
  cluster?: AddClusterOptions;
  /** The cluster `cloud.kube` is (default: cluster.name or 'remote-kpo-demo'). */
  clusterName?: string;
  /** How long the stand-in eksctl takes to create a cluster (default 400 ms). */
  eksctlDurationMs?: number;
  /** Folders put first on the env's PATH (the stand-in eksctl's), before this Node's, /usr/bin and /bin. */
  pathDirs?: string[];
  /** Where HOME, TMPDIR and the kubeconfig go (created; removed by stop()). Default: a new temp folder. */
  dir?: string;
  /** Name of the IAM user the default credentials belong to (default 'test-admin'). */
  adminUserName?: string;
}

export interface SimCloud {
  env: Record<string, string>;
  kubeconfigPath: string;
  accountId: string;
  region: string;
  /** The directory holding HOME, the kubeconfig and temp files (removed by stop()). */
  dir: string;
  home: string;
  /** One endpoint for all three services (the env has one per service). */
  awsEndpoint: string;
  endpoints: { iam: string; sts: string; eks: string };
  controlUrl: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The CA every simulated cluster's API server certificate is signed by (PEM; `caData` is its base64). */
  caPem: string;
  caData: string;
  adminArn: string;
  aws: FakeAws;
  /** The Kubernetes side of the default cluster (exists before the EKS cluster does). */
  kube: FakeKube;
  kubeOf(clusterName: string): FakeKube;
  /** TCP connections the cluster's API server (default: the default cluster's) accepted, and how
   * many are still open: whether a client reuses its connections. */
  kubeConnections(clusterName?: string): { opened: number; open: number };
  /** Live call log (resetCalls() empties it in place). */
  readonly calls: CallRecord[];
  mutatingCalls(service?: CallRecord['service']): CallRecord[];
  resetCalls(): void;
  faults: Faults;
  addCluster(opts: AddClusterOptions): Promise<FakeCluster>;
  eksctl: {
    setDurationMs(ms: number): void;
    /** The next `times` (default: every) `create cluster` fail with this exit code and message. */
    failWith(exitCode: number, message: string, times?: number): void;
    /** The next `create cluster` makes the control plane (ACTIVE) and then dies before any node
     * group, as a real eksctl interrupted between its two CloudFormation stacks leaves it. */
    stopAfterControlPlane(): void;
    succeed(): void;
    readonly invocations: string[][];
  };
  /** Adds a context with the cluster's static admin token to the kubeconfig; returns its name. */
  writeAdminContext(clusterName?: string, opts?: { contextName?: string; setCurrent?: boolean }): Promise<string>;
  stop(): Promise<void>;
}

export async function startSimCloud(opts: StartSimCloudOptions = {}): Promise<SimCloud> {
  const accountId = '123456789012';
  const region = 'us-east-1';
  const dir = opts.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'kpo-cloud-')));
  // Made now, kept in memory: no private key ships or outlives the simulation (src/sim/tls.ts).
  const tls: SimTls = makeSimTls();
  const CA_DATA = Buffer.from(tls.caPem).toString('base64');
  const home = path.join(dir, 'home');
  await mkdir(path.join(dir, 'tmp'), { recursive: true });
  await mkdir(home, { recursive: true });
  const kubeconfigPath = path.join(dir, 'kubeconfig');
  const defaultMode: AuthMode = opts.authenticationMode ?? 'API_AND_CONFIG_MAP';

  const log = new CallLog();
  const faults = new Faults();
  const keys = new KeyStore();
  const adminArn = `arn:aws:iam::${accountId}:user/${opts.adminUserName ?? 'test-admin'}`;
  const admin = keys.add({ accessKeyId: randomId('AKIA', 20), secretAccessKey: randomBytes(30).toString('base64').slice(0, 40), principal: { arn: adminArn, userId: randomId('AIDA'), iamArn: adminArn } });
  const iam = new FakeIam(accountId);
  const eks = new FakeEks(accountId, region, (arn) => arn === adminArn || !!iam.roleByArn(arn) || /:user\//.test(arn));
  const fakeAws = new FakeAws(accountId, region, iam, eks, keys, adminArn);
  const timers = new Set<NodeJS.Timeout>();
  const kubes = new Map<string, { kube: FakeKube; server: KubeServer }>();
  eks.onDeleted = (name) => kubes.get(name)?.kube.reset();
  let stsHosts: string[] = [];

  const ensureKube = async (name: string): Promise<FakeKube> => {
    const existing = kubes.get(name);
    if (existing) return existing.kube;
    const kube = new FakeKube(name, `kpo-testcloud-admin-${randomBytes(16).toString('hex')}`);
    const server = await startKubeServer({
      clusterName: name,
      store: kube.store,
      kubelet: kube.kubelet,
      tls,
      log,
      faults,
      auth: { clusterName: name, adminToken: kube.adminToken, keys, eks, stsHosts: () => stsHosts, region, accountId, awsAuthData: () => kube.configMap('kube-system', 'aws-auth')?.data },
    });
    kube.url = server.url;
    kubes.set(name, { kube, server });
    return kube;
  };

  // A managed node group as eksctl makes it: its node role is mapped in aws-auth (CONFIG_MAP) or by
  // an EC2_LINUX access entry, and EKS lists it (ListNodegroups).
  const addNodegroup = (c: FakeCluster, g: NodegroupSpec): void => {
    if (c.nodegroups.has(g.name)) return;
    const node = iam.createRole({
      name: `eksctl-${c.name}-nodegroup-${g.name}-NodeInstanceRole-${randomId('', 12)}`,
      trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] },
    });
    if (g.managed !== false) c.nodegroups.set(g.name, { name: g.name, status: 'ACTIVE', instanceType: g.instanceType ?? 'm5.large', desiredSize: g.desiredCapacity ?? 2, nodeRole: node.arn, createdAt: new Date() });
    const kube = kubes.get(c.name)?.kube;
    if (c.authenticationMode === 'CONFIG_MAP' && kube) {
      const prev = kube.configMap('kube-system', 'aws-auth')?.data?.mapRoles ?? '';
      const mapRoles = `${prev}- groups:\n  - system:bootstrappers\n  - system:nodes\n  rolearn: ${node.arn}\n  username: system:node:{{EC2PrivateDNSName}}\n`;
      kube.put({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'aws-auth', namespace: 'kube-system' }, data: { mapRoles } });
    } else if (c.authenticationMode !== 'CONFIG_MAP') eks.addAccessEntry(c, node.arn, { type: 'EC2_LINUX', username: 'system:node:{{EC2PrivateDNSName}}' });
  };

  const register = async (o: RegisterOptions): Promise<FakeCluster> => {
    const kube = await ensureKube(o.name);
    const r = o.region ?? region;
    const mode = o.authenticationMode ?? defaultMode;
    const c: FakeCluster = {
      name: o.name,
      region: r,
      arn: `arn:aws:eks:${r}:${accountId}:cluster/${o.name}`,
      status: o.status ?? 'ACTIVE',
      version: '1.30',
      endpoint: kube.url,
      caData: CA_DATA,
      authenticationMode: mode,
      createdAt: new Date(),
      creatorArn: o.creatorArn ?? adminArn,
      roleArn: `arn:aws:iam::${accountId}:role/eksctl-${o.name}-cluster-ServiceRole-${randomId('', 12)}`,
      tags: { 'alpha.eksctl.io/cluster-name': o.name, ...(o.tags ?? {}) },
      accessEntries: new Map(),
      nodegroups: new Map(),
      fargateProfiles: [],
      vpc: { ...DEFAULT_VPC, ...o.resourcesVpcConfig },
      oidcIssuer: o.oidcIssuer === false ? undefined : `https://oidc.eks.${r}.amazonaws.com/id/${randomBytes(16).toString('hex').toUpperCase()}`,
      addons: new Map(),
      podIdentityAssociations: new Map(),
    };
    eks.clusters.set(c.name, c);
    for (const name of o.addons ?? []) addAddon(c, accountId, name);
    if (mode !== 'CONFIG_MAP' && o.bootstrapClusterCreatorAdminPermissions !== false) eks.addAccessEntry(c, c.creatorArn, { username: c.creatorArn, admin: true });
    const groups = o.nodeGroups ?? (o.nodeGroup ? [{ name: 'ng-1' }] : []);
    for (const g of groups) addNodegroup(c, g);
    if (o.activateAfterMs !== undefined && c.status !== 'ACTIVE') {
      const t = setTimeout(() => {
        timers.delete(t);
        if (eks.clusters.get(c.name) !== c) return;
        c.status = 'ACTIVE';
        log.add({ service: 'eksctl', operation: 'ClusterActive', mutating: true, status: 200, seq: log.nextSeq(), cluster: c.name });
      }, o.activateAfterMs);
      timers.add(t);
    }
    return c;
  };

  // `eksctl delete cluster` deletes the node group stacks first, and with them their node roles
  // (EKS's own DeleteCluster leaves them: they are CloudFormation's, not the cluster's).
  const eksctlDelete = (name: string): boolean => {
    if (eks.clusters.has(name)) for (const r of [...iam.roles.keys()]) if (r.startsWith(`eksctl-${name}-nodegroup-`)) iam.roles.delete(r);
    return eks.deleteCluster(name);
  };

  const eksctl: EksctlBehaviour = { durationMs: opts.eksctlDurationMs ?? 400, version: '0.210.0', invocations: [] };
  const awsServer = await startAwsServer({
    iam,
    eks,
    keys,
    log,
    faults,
    get verifySignatures() {
      return fakeAws.verifySignatures;
    },
    control: makeControl({ eksctl, keys, log, faults, register, addNodegroup, cluster: (n) => eks.clusters.get(n), deleteCluster: eksctlDelete, timers, oidc: iam.oidc, accountId }),
  });
  stsHosts = [new URL(awsServer.urls.sts).host, new URL(awsServer.url).host];
  const defaultName = opts.clusterName ?? opts.cluster?.name ?? 'remote-kpo-demo';
  const defaultKube = await ensureKube(defaultName);

  const env: Record<string, string> = {
    PATH: [...(opts.pathDirs ?? []), path.dirname(process.execPath), '/usr/bin', '/bin'].join(path.delimiter),
    HOME: home,
    TMPDIR: path.join(dir, 'tmp'),
    KUBECONFIG: kubeconfigPath,
    AWS_ENDPOINT_URL_IAM: awsServer.urls.iam,
    AWS_ENDPOINT_URL_STS: awsServer.urls.sts,
    AWS_ENDPOINT_URL_EKS: awsServer.urls.eks,
    AWS_ACCESS_KEY_ID: admin.accessKeyId,
    AWS_SECRET_ACCESS_KEY: admin.secretAccessKey,
    AWS_REGION: region,
    AWS_EC2_METADATA_DISABLED: 'true',
    KPO_TESTCLOUD_CONTROL: `${awsServer.url}/__control`,
  };

  const writeAdminContext: SimCloud['writeAdminContext'] = async (clusterName = defaultName, o = {}) => {
    const kube = await ensureKube(clusterName);
    return writeTokenContext(kubeconfigPath, { contextName: o.contextName ?? `admin@${clusterName}`, server: kube.url, caData: CA_DATA, token: kube.adminToken, setCurrent: o.setCurrent });
  };

  const addCluster = async (o: AddClusterOptions): Promise<FakeCluster> => {
    if (eks.clusters.has(o.name)) throw new Error(`simulation: cluster ${o.name} already exists`);
    const c = await register({ ...o, nodeGroup: o.nodeGroup ?? true });
    const ctx = o.withKubeconfigContext;
    if (ctx === 'token') await writeAdminContext(o.name, { setCurrent: o.setCurrentContext ?? true });
    else if (ctx) await writeEksctlContext(kubeconfigPath, { clusterName: c.name, region: c.region, server: c.endpoint, caData: c.caData, callerArn: adminArn, setCurrent: o.setCurrentContext ?? true });
    return c;
  };

  if (opts.cluster) await addCluster(opts.cluster);

  return {
    env,
    kubeconfigPath,
    accountId,
    region,
    dir,
    home,
    awsEndpoint: awsServer.url,
    endpoints: awsServer.urls,
    controlUrl: env.KPO_TESTCLOUD_CONTROL!,
    credentials: { accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey },
    caPem: tls.caPem,
    caData: CA_DATA,
    adminArn,
    aws: fakeAws,
    kube: defaultKube,
    kubeConnections(name = defaultName) {
      const k = kubes.get(name);
      if (!k) throw new Error(`simulation: no Kubernetes API for cluster ${name}`);
      return k.server.connections();
    },
    kubeOf(name) {
      const k = kubes.get(name);
      if (!k) throw new Error(`simulation: no Kubernetes server for cluster ${name}`);
      return k.kube;
    },
    get calls() {
      return log.calls;
    },
    mutatingCalls: (service) => log.calls.filter((c) => c.mutating && (!service || c.service === service)),
    resetCalls: () => log.reset(),
    faults,
    addCluster,
    eksctl: {
      setDurationMs: (ms) => void (eksctl.durationMs = ms),
      failWith: (exitCode, message, times = Number.POSITIVE_INFINITY) => void (eksctl.fail = { exitCode, message, times }),
      stopAfterControlPlane: () => void (eksctl.stopAfterControlPlane = true),
      succeed: () => void (eksctl.fail = undefined),
      get invocations() {
        return eksctl.invocations;
      },
    },
    writeAdminContext,
    async stop() {
      for (const t of timers) clearTimeout(t);
      await Promise.all([awsServer.close(), ...[...kubes.values()].map((k) => k.server.close())]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
