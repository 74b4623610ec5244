// Which of state's records destroy may go by: only those about the objects the inputs name now.
// A record says "init created IAM role A"; a destroy told `--iam-role B` (or another --namespace,
// --k8s-role, --cluster-name, --region) must not take it as "init created B" and delete B with
// what is in it. Such a record is left out of discovery: B is then judged by its own marker and
// use marks alone, as without state. Intents need no such care: their names carry the object's.
import type { State } from '../engine/state.js';
import type { Inputs, StageId } from '../types.js';

const WHERE = ['clusterName', 'region'] as const;

/** The inputs that name each stage's object (the cluster's for everything in it). */
const NAMED_BY: Partial<Record<StageId, readonly (keyof Inputs)[]>> = {
  cluster: WHERE,
  'iam-role': ['iamRole'],
  'role-arn': ['iamRole'],
  'identity-mapping': [...WHERE, 'iamRole'],
  namespace: [...WHERE, 'namespace'],
  'k8s-role': [...WHERE, 'namespace', 'k8sRole'],
  'role-binding': [...WHERE, 'namespace', 'k8sRole'],
  'pod-identity': WHERE,
  'pod-role': ['podRole'],
  'pod-service-account': [...WHERE, 'namespace', 'podServiceAccount'],
};

/** Stages whose record is about another object than the one `inputs` names now. */
export function recordsAboutOthers(state: State, inputs: Inputs): StageId[] {
  const was = state.inputs;
  if (!was) return [];
  return (Object.entries(NAMED_BY) as Array<[StageId, readonly (keyof Inputs)[]]>).filter(([id, keys]) => state.stages[id] && keys.some((k) => was[k] !== inputs[k])).map(([id]) => id);
}

/** State as discovery may read it: the records about other objects left out (a copy). */
export function recordsForNamedObjects(state: State | undefined, inputs: Inputs): State | undefined {
  if (!state) return state;
  const others = recordsAboutOthers(state, inputs);
  if (!others.length) return state;
  const stages = { ...state.stages };
  for (const id of others) delete stages[id];
  return { ...state, stages };
}
