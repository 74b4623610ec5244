// One verify row: a link of the authorization chain, whether it holds, and what to do if not.
// Rows are data (printed as a table or one JSON document); a failing row is never an exception.
import { nonAwsMessage, nonAwsResponse } from '../aws/errors.js';
import { isKpoError, type ErrorCode, type KpoError } from '../errors.js';

export const CHECK_IDS = [
  'credentials',
  'cluster',
  'endpoint-access',
  'kube-api',
  'iam-trust',
  'iam-permissions',
  'mapping',
  'namespace',
  'k8s-role',
  'role-binding',
  'access-matrix',
  'connection',
  'dags',
  // With --pod-policy-arn only (issue #20): the task pods' own AWS identity.
  'pod-link',
  'pod-role-trust',
  'pod-role-policies',
  'pod-service-account',
] as const;
export type CheckId = (typeof CHECK_IDS)[number];

/** pass ✔, fail ✖, skip – (not checked because a row it depends on failed), warn ! (does not fail
 * verify: something verify cannot check from here, said plainly with what to do). */
export type RowStatus = 'pass' | 'fail' | 'skip' | 'warn';

export interface CheckRow {
  id: CheckId;
  title: string;
  status: RowStatus;
  /** What was found, in one sentence. */
  detail: string;
  /** What to do about a failure or warning (or, for a skip, which row to fix first). */
  fix?: string;
  /** Extra lines printed under the row (e.g. the access table). */
  lines?: string[];
  /** Things worth knowing that do not fail the row. */
  notes?: string[];
  /** Structured extras for --json (e.g. the access matrix rows, the method used). */
  data?: Record<string, unknown>;
  /** A row that fails because of an error (init's own refusal, a failed call) carries its code. */
  code?: ErrorCode;
}

export const TITLES: Record<CheckId, string> = {
  credentials: 'AWS credentials',
  cluster: 'EKS cluster ACTIVE',
  'endpoint-access': 'API endpoint open to Astro',
  'kube-api': 'Kubernetes API reachable',
  'iam-trust': 'IAM role trusts the workload identity',
  'iam-permissions': 'IAM role may eks:DescribeCluster',
  mapping: 'Identity mapping',
  namespace: 'Namespace',
  'k8s-role': 'Role as desired',
  'role-binding': 'RoleBinding as desired',
  'access-matrix': 'Access matrix',
  connection: 'Airflow connection',
  dags: 'DAG files',
  'pod-link': "Task pods' OIDC provider or association",
  'pod-role-trust': "Task pods' role trust exact",
  'pod-role-policies': "Task pods' role policies",
  'pod-service-account': "Task pods' ServiceAccount",
};

type Extra = Partial<Pick<CheckRow, 'fix' | 'lines' | 'notes' | 'data' | 'code'>>;

export function pass(id: CheckId, detail: string, extra: Extra = {}): CheckRow {
  return { id, title: TITLES[id], status: 'pass', detail, ...extra };
}

export function fail(id: CheckId, detail: string, fix: string, extra: Omit<Extra, 'fix'> = {}): CheckRow {
  return { id, title: TITLES[id], status: 'fail', detail, fix, ...extra };
}

/** Holds as far as verify can see, but needs the user's eye (see RowStatus). */
export function warn(id: CheckId, detail: string, fix: string, extra: Omit<Extra, 'fix'> = {}): CheckRow {
  return { id, title: TITLES[id], status: 'warn', detail, fix, ...extra };
}

/** Not checked: `because` names the failing row it depends on. */
export function skip(id: CheckId, because: CheckId, why: string): CheckRow {
  return { id, title: TITLES[id], status: 'skip', detail: `not checked: ${why}`, fix: `fix "${TITLES[because]}" first` };
}

/** The row fails as init would: the error's message, hint and code. */
export function failWith(id: CheckId, e: KpoError, extra: Omit<Extra, 'fix' | 'code'> = {}): CheckRow {
  return fail(id, e.message, e.hint ?? '', { ...extra, code: e.code });
}

/** A check that threw: the row fails with the error's message, hint and code (never the whole run). */
export function failFromError(id: CheckId, err: unknown, fallbackFix: string): CheckRow {
  // An emulator's HTML page or other unreadable answer: say so, never the SDK's parser text.
  const odd = nonAwsResponse(err);
  if (odd) return fail(id, nonAwsMessage(err, odd.status), fallbackFix, { code: 'AWS_UNUSABLE_ANSWER' });
  if (isKpoError(err)) return fail(id, err.message, err.hint ?? fallbackFix, { code: err.code });
  const message = err instanceof Error ? err.message : String(err);
  return fail(id, message, fallbackFix, { code: 'UNEXPECTED' });
}
