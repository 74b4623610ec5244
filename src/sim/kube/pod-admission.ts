// What kube-apiserver does to a pod between decoding a create and storing it (also on
// `?dryRun=All`, which runs the same chain and stores nothing): the v1 defaults, the Priority and
// DefaultTolerationSeconds admission plugins, and the ServiceAccount admission plugin
// (plugin/pkg/admission/serviceaccount/admission.go), which refuses a pod whose ServiceAccount does
// not exist with 403 Forbidden, reading it with the server's own client: the caller needs no RBAC on
// serviceaccounts (research-20.md §6). And the `default` ServiceAccount the controller manager puts
// in every namespace, without which a pod that names none could not be created.
import { randomBytes } from 'node:crypto';
import { forbidden } from './status.js';
import { resourceType, type KubeObj, type KubeStore } from './store.js';

const SA_TYPE = resourceType('serviceaccounts');
const POD_TYPE = resourceType('pods');
const TOKEN_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** k8s.io/apimachinery/pkg/util/rand: what generated name suffixes are made of. */
const RAND_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

interface Container {
  name?: string;
  image?: string;
  resources?: { requests?: object; limits?: object };
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
  [k: string]: unknown;
}
interface PodSpec {
  serviceAccountName?: string;
  serviceAccount?: string;
  automountServiceAccountToken?: boolean;
  containers?: Container[];
  initContainers?: Container[];
  volumes?: Array<Record<string, unknown>>;
  tolerations?: Array<Record<string, unknown>>;
  [k: string]: unknown;
}

export function randomSuffix(n = 5): string {
  return [...randomBytes(n)].map((b) => RAND_CHARS[b % RAND_CHARS.length]).join('');
}

/** The ServiceAccount the controller manager creates in every namespace (if it is not there). */
export function ensureDefaultServiceAccount(store: KubeStore, namespace: string): void {
  if (store.get(SA_TYPE, namespace, 'default')) return;
  store.save(SA_TYPE, { kind: 'ServiceAccount', apiVersion: 'v1', metadata: { name: 'default', namespace } }, { manager: 'kube-controller-manager' });
}

/** pkg/apis/core/v1/defaults.go for a container: the image pull policy follows the tag. */
function defaultContainer(c: Container): Container {
  const ref = c.image ?? '';
  const tag = /@/.test(ref) ? 'digest' : (/:([^/:]+)$/.exec(ref)?.[1] ?? 'latest');
  return { terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File', imagePullPolicy: tag === 'latest' ? 'Always' : 'IfNotPresent', ...c, resources: c.resources ?? {} };
}

/** BestEffort without any request or limit; otherwise Burstable (Guaranteed is not modelled). */
function qosClass(spec: PodSpec): string {
  return (spec.containers ?? []).some((c) => Object.keys(c.resources?.requests ?? {}).length || Object.keys(c.resources?.limits ?? {}).length) ? 'Burstable' : 'BestEffort';
}

/** The pod as the server admits it, or 403 when its ServiceAccount is missing. `requestedName`:
 * the name, or else the generateName, the request carried (admission runs before a name is generated). */
export function admitPod(store: KubeStore, pod: KubeObj, requestedName: string): KubeObj {
  const ns = pod.metadata?.namespace ?? '';
  const given = (pod.spec ?? {}) as PodSpec;
  const spec: PodSpec = {
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: 30,
    dnsPolicy: 'ClusterFirst',
    securityContext: {},
    schedulerName: 'default-scheduler',
    enableServiceLinks: true,
    ...given,
    containers: (given.containers ?? []).map(defaultContainer),
    ...(given.initContainers ? { initContainers: given.initContainers.map(defaultContainer) } : {}),
  };
  const saName = spec.serviceAccountName || spec.serviceAccount || 'default';
  const sa = store.get(SA_TYPE, ns, saName);
  if (!sa) {
    throw forbidden(POD_TYPE, requestedName, `pods "${requestedName}" is forbidden: error looking up service account ${ns}/${saName}: serviceaccount "${saName}" not found`);
  }
  // The v1 API still reports the deprecated serviceAccount field, equal to serviceAccountName.
  spec.serviceAccountName = saName;
  spec.serviceAccount = saName;
  if (spec.automountServiceAccountToken !== false && sa.automountServiceAccountToken !== false) {
    const volume = `kube-api-access-${randomSuffix()}`;
    spec.volumes = [
      ...(spec.volumes ?? []),
      {
        name: volume,
        projected: {
          sources: [
            { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
            { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
            { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
          ],
          defaultMode: 420,
        },
      },
    ];
    const mount = (c: Container): Container =>
      (c.volumeMounts ?? []).some((m) => m.mountPath === TOKEN_DIR) ? c : { ...c, volumeMounts: [...(c.volumeMounts ?? []), { name: volume, readOnly: true, mountPath: TOKEN_DIR }] };
    spec.containers = spec.containers!.map(mount);
    if (spec.initContainers) spec.initContainers = spec.initContainers.map(mount);
  }
  // Priority admission (no priorityClassName) and DefaultTolerationSeconds.
  spec.priority ??= 0;
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
  const tolerations = [...(spec.tolerations ?? [])];
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
    if (!tolerations.some((t) => t.key === key)) tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
  }
  spec.tolerations = tolerations;
  return { ...pod, spec, status: { phase: 'Pending', qosClass: qosClass(spec) } };
}
