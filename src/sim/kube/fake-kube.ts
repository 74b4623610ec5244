// What a test sees of one cluster's Kubernetes side: its objects (read and written directly,
// bypassing the API, e.g. to play "another writer"), its RBAC decisions and its server URL.
import { parse as parseYaml } from 'yaml';
import { ensureDefaultServiceAccount } from './pod-admission.js';
import { FakeKubelet } from './kubelet.js';
import { authorize, BOOTSTRAP_RBAC, type Attributes, type Decision, type UserInfo } from './rbac.js';
import { canonical, KubeStore, resourceType, type KubeObj } from './store.js';

export type { KubeObj } from './store.js';

export interface AwsAuthMapping {
  rolearn?: string;
  userarn?: string;
  username?: string;
  groups?: string[];
}

/** What every EKS cluster has from the start (and what no destroy takes away). */
export const SYSTEM_NAMESPACES: readonly string[] = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export class FakeKube {
  readonly store = new KubeStore();
  /** What happens to pods after the API server stores them: script it per test (kubelet.ts). */
  readonly kubelet = new FakeKubelet(this.store);
  /** The API server URL (https://127.0.0.1:port); set once the server listens. */
  url = '';
  /** Bearer token of the built-in admin (user kubernetes-admin, group system:masters). */
  readonly adminToken: string;

  constructor(
    readonly clusterName: string,
    adminToken: string,
  ) {
    this.adminToken = adminToken;
    this.reset();
  }

  /** Back to a new cluster's objects: the system namespaces and the bootstrap RBAC policy. */
  reset(): void {
    this.store.clear();
    this.kubelet.reset();
    for (const ns of SYSTEM_NAMESPACES) {
      this.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns } }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } });
    }
    for (const o of BOOTSTRAP_RBAC) this.put(o);
  }

  private args(kind: string, a: string, b?: string): { ns?: string; name: string; t: ReturnType<typeof resourceType> } {
    const t = resourceType(kind);
    return b === undefined ? { t, name: a } : { t, ns: a, name: b };
  }

  /** get('Role', 'ns', 'name') or get('Namespace', 'name'); kind or plural resource name. */
  get(kind: string, namespaceOrName: string, name?: string): KubeObj | undefined {
    const { t, ns, name: n } = this.args(kind, namespaceOrName, name);
    return this.store.get(t, ns, n);
  }

  list(kind: string, namespace?: string): KubeObj[] {
    return this.store.list(resourceType(kind), namespace);
  }

  /** Creates or replaces an object as-is (new resourceVersion), like a concurrent writer would. A
   * new namespace gets its `default` ServiceAccount, as the controller manager gives it. */
  put(obj: KubeObj): KubeObj {
    const t = resourceType(obj.kind ?? '');
    const prev = this.store.get(t, obj.metadata?.namespace, obj.metadata?.name ?? '');
    const saved = this.store.save(t, canonical(t, obj), { manager: 'test', previous: prev });
    if (t.kind === 'Namespace' && !prev) ensureDefaultServiceAccount(this.store, saved.metadata?.name ?? '');
    return saved;
  }

  delete(kind: string, namespaceOrName: string, name?: string): boolean {
    const { t, ns, name: n } = this.args(kind, namespaceOrName, name);
    const gone = this.store.remove(t, ns, n);
    if (gone && t.kind === 'Namespace') this.store.purgeNamespace(n);
    return !!gone;
  }

  namespace(name: string): KubeObj | undefined {
    return this.get('Namespace', name);
  }
  role(namespace: string, name: string): KubeObj | undefined {
    return this.get('Role', namespace, name);
  }
  roleBinding(namespace: string, name: string): KubeObj | undefined {
    return this.get('RoleBinding', namespace, name);
  }
  serviceAccount(namespace: string, name: string): KubeObj | undefined {
    return this.get('ServiceAccount', namespace, name);
  }
  configMap(namespace: string, name: string): (KubeObj & { data?: Record<string, string> }) | undefined {
    return this.get('ConfigMap', namespace, name);
  }

  /** kube-system/aws-auth mapRoles (or mapUsers) parsed from its YAML string; [] when absent. */
  awsAuth(field: 'mapRoles' | 'mapUsers' = 'mapRoles'): AwsAuthMapping[] {
    const raw = this.configMap('kube-system', 'aws-auth')?.data?.[field];
    if (!raw) return [];
    const parsed: unknown = parseYaml(raw);
    return Array.isArray(parsed) ? (parsed as AwsAuthMapping[]) : [];
  }

  /** The RBAC decision for a user (groups: as given; add 'system:authenticated' for a logged-in user). */
  can(user: string | UserInfo, attrs: Omit<Extract<Attributes, { kind: 'resource' }>, 'kind'>): Decision {
    const u = typeof user === 'string' ? { username: user, groups: ['system:authenticated'] } : user;
    return authorize(this.store, u, { kind: 'resource', ...attrs });
  }
}
