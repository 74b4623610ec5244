// What happens to a pod after the API server stores it, which the test cloud has no nodes for: the
// ServiceAccount admission plugin on create, the registry's Pending status, then whatever the test
// scripts the scheduler and kubelet to do (status updates, the container's log), and GET pods/log
// as kube-apiserver answers it. Nothing runs: a test decides what the container printed.
import { randomBytes } from 'node:crypto';
import { badRequest, notFound } from './status.js';
import { resourceType, type KubeObj, type KubeStore } from './store.js';

const PODS = resourceType('pods');
const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

interface Container {
  name: string;
  image?: string;
  resources?: { requests?: object; limits?: object };
}
const containersOf = (pod: KubeObj): Container[] => ((pod.spec as { containers?: Container[] } | undefined)?.containers ?? []);

/** One change the scheduler or kubelet makes to a pod, `afterMs` after the previous one (or the create). */
export interface PodStep {
  afterMs: number;
  /** The node the scheduler bound the pod to (spec.nodeName). */
  nodeName?: string;
  /** The pod's whole status from then on. */
  status: Record<string, unknown>;
  /** Everything its container has printed so far (what GET pods/log answers). */
  log?: string;
}

/** Pod statuses as the scheduler and kubelet write them (what the kubernetes clients parse). */
export const podStatus = {
  /** The scheduler found no node: PodScheduled False, Unschedulable. */
  unschedulable: (message: string): Record<string, unknown> => ({
    phase: 'Pending',
    conditions: [{ type: 'PodScheduled', status: 'False', lastProbeTime: null, lastTransitionTime: now(), reason: 'Unschedulable', message }],
    qosClass: 'BestEffort',
  }),
  /** Scheduled; its container waits (ContainerCreating, ErrImagePull, ImagePullBackOff, ...). */
  waiting: (pod: KubeObj, reason: string, message?: string) => containerStatus(pod, 'Pending', { waiting: { reason, ...(message ? { message } : {}) } }),
  running: (pod: KubeObj) => containerStatus(pod, 'Running', { running: { startedAt: now() } }),
  /** Ended: Succeeded with exit code 0 (reason Completed), else Failed (reason Error). */
  terminated: (pod: KubeObj, exitCode: number) =>
    containerStatus(pod, exitCode === 0 ? 'Succeeded' : 'Failed', { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: now(), finishedAt: now(), containerID: `containerd://${randomBytes(32).toString('hex')}` } }),
};

function containerStatus(pod: KubeObj, phase: string, state: Record<string, unknown>): Record<string, unknown> {
  const started = !('waiting' in state);
  return {
    phase,
    conditions: [{ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now() }],
    hostIP: '192.168.12.34',
    ...(started ? { podIP: '192.168.40.7', startTime: now() } : {}),
    containerStatuses: containersOf(pod).map((c) => ({
      name: c.name,
      state,
      lastState: {},
      ready: 'running' in state,
      restartCount: 0,
      image: c.image ?? '',
      imageID: started ? `${c.image ?? ''}@sha256:${randomBytes(32).toString('hex')}` : '',
      started: 'running' in state,
    })),
    qosClass: 'BestEffort',
  };
}

export class FakeKubelet {
  /** What the scheduler and kubelet do with each pod created through the API; undefined (or no
   * script): nothing, so it stays Pending with no node, as on a cluster without nodes. */
  script?: (pod: KubeObj) => PodStep[] | undefined;
  /** Every pod the API server stored (not dry runs), as stored, oldest first. */
  readonly history: KubeObj[] = [];
  private readonly logs = new Map<string, string>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly store: KubeStore) {}

  /** A pod was stored: play the test's script for it. */
  created(pod: KubeObj): void {
    this.history.push(structuredClone(pod));
    const steps = this.script?.(structuredClone(pod)) ?? [];
    const { namespace, name, uid } = pod.metadata ?? {};
    let at = 0;
    for (const step of steps) {
      at += step.afterMs;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        const current = this.store.get(PODS, namespace, name ?? '');
        if (!current || current.metadata?.uid !== uid) return; // deleted meanwhile
        const spec = { ...(current.spec as object), ...(step.nodeName ? { nodeName: step.nodeName } : {}) };
        this.store.save(PODS, { ...current, spec, status: step.status }, { manager: 'kubelet', previous: current });
        if (step.log !== undefined) this.logs.set(uid ?? '', step.log);
      }, at);
      timer.unref();
      this.timers.add(timer);
    }
  }

  /** GET pods/{name}/log: the container's output once it started; before, what kube-apiserver says. */
  log(namespace: string, name: string, container: string | null): { status: number; body: string } {
    const pod = this.store.get(PODS, namespace, name);
    if (!pod) throw notFound(PODS, name);
    const names = containersOf(pod).map((c) => c.name);
    if (!container && names.length !== 1) throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${names.join(' ')}]`);
    const c = container ?? names[0]!;
    if (!names.includes(c)) throw badRequest(`container ${c} is not valid for pod ${name}`);
    const printed = this.logs.get(pod.metadata?.uid ?? '');
    if (printed !== undefined) return { status: 200, body: printed };
    // Not bound to a node yet: kube-apiserver has no kubelet to ask and streams nothing.
    if (!(pod.spec as { nodeName?: string }).nodeName) return { status: 200, body: '' };
    const statuses = ((pod.status as { containerStatuses?: Array<{ name: string; state?: { waiting?: { reason?: string } } }> } | undefined)?.containerStatuses ?? []);
    const reason = statuses.find((s) => s.name === c)?.state?.waiting?.reason ?? 'ContainerCreating';
    throw badRequest(`container "${c}" in pod "${name}" is waiting to start: ${reason}`);
  }

  reset(): void {
    this.script = undefined;
    this.history.length = 0;
    this.logs.clear();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
