// startTestCloud(): the simulation of src/sim (src/sim/cloud.ts: the loopback AWS account and
// Kubernetes API servers `demo` runs against) plus what only the tests need: the stand-in `aws`
// and `astro` CLIs on PATH when asked, CI=true (no test waits on a prompt), and the modules tests
// reach into, re-exported so every test imports the test cloud from test/support.
// See test/support/README.md.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSimCloud, type SimCloud, type StartSimCloudOptions } from '../../src/sim/cloud.js';

export type { AddClusterOptions } from '../../src/sim/cloud.js';
export type { CallRecord, FaultKind } from '../../src/sim/calls.js';
export { sleep } from '../../src/sim/calls.js';
export type { AuthMode, FakeCluster, VpcConfig, VpcOverrides } from '../../src/sim/aws/eks.js';
export { FakeAws, type OidcProviderView, type PodIdentityAssociationView } from '../../src/sim/aws/fake-aws.js';
export { FakeKube, type KubeObj } from '../../src/sim/kube/fake-kube.js';
export { podStatus, type PodStep } from '../../src/sim/kube/kubelet.js';
export { clusterAdminBinding } from '../../src/sim/kube/rbac.js';
export { mergeContext, writeTokenContext } from '../../src/sim/kubeconfig.js';

export interface StartTestCloudOptions extends Omit<StartSimCloudOptions, 'pathDirs'> {
  /** Put a stand-in `aws` CLI (only `aws eks get-token`) on PATH. Default false: the tool must not need it. */
  awsCli?: boolean;
  /** Put the stand-in `astro` CLI on PATH (its world: test/support/astro.ts). Default false. */
  astroCli?: boolean;
}

export type TestCloud = SimCloud;

const supportDir = path.dirname(fileURLToPath(import.meta.url));
/** The stand-in eksctl: test/support/bin/eksctl runs dist/sim-eksctl.js, the demo's own. */
export const EKSCTL_BIN_DIR = path.join(supportDir, 'bin');
export const AWS_CLI_BIN_DIR = path.join(supportDir, 'aws-cli-bin');
export const ASTRO_BIN_DIR = path.join(supportDir, 'astro-bin');

// Each cloud makes its own CA when it starts; a raw HTTPS helper trusts those of the live ones.
const liveCas = new Set<string>();
export const testCloudCas = (): string[] => [...liveCas];

export async function startTestCloud(opts: StartTestCloudOptions = {}): Promise<TestCloud> {
  const { awsCli, astroCli, ...sim } = opts;
  const cloud = await startSimCloud({ ...sim, pathDirs: [EKSCTL_BIN_DIR, ...(awsCli ? [AWS_CLI_BIN_DIR] : []), ...(astroCli ? [ASTRO_BIN_DIR] : [])] });
  cloud.env.CI = 'true';
  liveCas.add(cloud.caPem);
  const stop = cloud.stop.bind(cloud);
  cloud.stop = async () => {
    liveCas.delete(cloud.caPem);
    await stop();
  };
  return cloud;
}
