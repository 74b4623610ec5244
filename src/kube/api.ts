// The narrow Kubernetes API the stages use: one place to implement (src/kube/client.ts, over
// @kubernetes/client-node) and one place to read. Objects are plain JSON as the API returns them.

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export interface ConfigMapObject extends KubeObject {
  data?: Record<string, string>;
}

export interface AccessReviewQuery {
  verb: string;
  resource: string;
  subresource?: string;
  group?: string;
  /** Omitted for cluster-scoped checks. */
  namespace?: string;
}

export interface AccessReviewAnswer {
  allowed: boolean;
  reason?: string;
}

export interface WriteOptions {
  /** Send `dryRun=All`: the API server validates and answers, stores nothing. */
  dryRun?: boolean;
}

/** A delete that goes through only if the object is still the version that was read (the API
 * server's DeleteOptions.preconditions): else KUBE_CONFLICT (kubeConflict in errors.ts), and nothing is deleted. */
export interface DeleteOptions {
  resourceVersion?: string;
}

/** A namespaced collection by its API prefix and plural, e.g. `/apis/apps/v1` + `deployments`. */
export interface Collection {
  prefix: string;
  resource: string;
}

export interface KubeApi {
  /** The API server URL in use. */
  readonly server: string;
  /** How the caller authenticates, for messages: e.g. "kubeconfig context foo" or "in-process EKS token". */
  readonly authDescription: string;

  readNamespace(name: string): Promise<KubeObject | undefined>;
  createNamespace(body: KubeObject, opts?: WriteOptions): Promise<KubeObject>;
  replaceNamespace(name: string, body: KubeObject, opts?: WriteOptions): Promise<KubeObject>;
  deleteNamespace(name: string, opts?: DeleteOptions): Promise<void>;

  readRole(namespace: string, name: string): Promise<KubeObject | undefined>;
  createRole(namespace: string, body: KubeObject, opts?: WriteOptions): Promise<KubeObject>;
  replaceRole(namespace: string, name: string, body: KubeObject, opts?: WriteOptions): Promise<KubeObject>;
  deleteRole(namespace: string, name: string, opts?: DeleteOptions): Promise<void>;

  readRoleBinding(namespace: string, name: string): Promise<KubeObject | undefined>;
  createRoleBinding(namespace: string, body: KubeObject, opts?: WriteOptions): Promise<KubeObject>;
  replaceRoleBinding(namespace: string, name: string, body: KubeObject, opts?: WriteOptions): Promise<KubeObject>;
  deleteRoleBinding(namespace: string, name: string, opts?: DeleteOptions): Promise<void>;

  readServiceAccount(namespace: string, name: string): Promise<KubeObject | undefined>;
  createServiceAccount(namespace: string, body: KubeObject, opts?: WriteOptions): Promise<KubeObject>;
  replaceServiceAccount(namespace: string, name: string, body: KubeObject, opts?: WriteOptions): Promise<KubeObject>;
  deleteServiceAccount(namespace: string, name: string, opts?: DeleteOptions): Promise<void>;

  /** Creates `body` with dryRun=All (nothing is stored; authorization and the whole admission chain
   * run), as `asUser` (Impersonate-User) when given. Returns the pod as the server would have made it. */
  dryRunPod(namespace: string, body: KubeObject, asUser?: string): Promise<KubeObject>;

  /** The objects (name + metadata) of one collection in `namespace`; undefined when the server does
   * not serve that type at all (404), so nothing of it can be there. */
  listIn(namespace: string, c: Collection): Promise<KubeObject[] | undefined>;

  /** Every object of a collection in all namespaces (`/apis/rbac.authorization.k8s.io/v1/rolebindings`)
   * or of a cluster-scoped one (clusterrolebindings); undefined when the server does not serve it. */
  listAll(c: Collection): Promise<KubeObject[] | undefined>;
  readClusterRole(name: string): Promise<KubeObject | undefined>;

  readConfigMap(namespace: string, name: string): Promise<ConfigMapObject | undefined>;
  createConfigMap(namespace: string, body: ConfigMapObject, opts?: WriteOptions): Promise<ConfigMapObject>;
  /** PUT with body.metadata.resourceVersion; throws KUBE_CONFLICT on 409. */
  replaceConfigMap(namespace: string, name: string, body: ConfigMapObject, opts?: WriteOptions): Promise<ConfigMapObject>;
  deleteConfigMap(namespace: string, name: string, opts?: DeleteOptions): Promise<void>;

  /** SubjectAccessReview for `user` (kubectl auth can-i --as). */
  subjectAccessReview(user: string, q: AccessReviewQuery, groups?: string[]): Promise<AccessReviewAnswer>;
  /** SelfSubjectAccessReview sent with `Impersonate-User: user` (fallback). */
  selfSubjectAccessReviewAs(user: string, q: AccessReviewQuery): Promise<AccessReviewAnswer>;

  /** Ends the connections kept for the run (the command calls it at its end). */
  close(): Promise<void>;
}
