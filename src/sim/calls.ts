// The call log and fault injection, shared by the AWS server, the Kubernetes servers and the
// stand-in eksctl (through the control endpoint). Tests assert on the log ("the second run made
// no mutating calls") and script failures ("the 2nd CreateRole is throttled").

export type Service = 'sts' | 'iam' | 'eks' | 'kube' | 'eksctl';

export interface CallRecord {
  service: Service;
  /** AWS: the API name ('CreateRole', 'DescribeCluster'); kube: 'GET namespaces', 'PUT configmaps',
   *  'POST subjectaccessreviews', 'GET pods/log'; eksctl: 'CreateCluster', 'ClusterActive'. */
  operation: string;
  mutating: boolean;
  /** HTTP status answered; 0 when the connection was reset. */
  status: number;
  /** Extras for debugging and finer assertions. */
  cluster?: string;
  namespace?: string;
  name?: string;
  dryRun?: boolean;
  /** Who called: the AWS caller ARN or the Kubernetes username. */
  caller?: string;
  /** Which fault, if one was injected. */
  fault?: string;
  /** Why the server refused, when that isn't in the answer (e.g. the reason behind a 401). */
  note?: string;
  /** Order of arrival (0, 1, 2, ...), stable across services. */
  seq: number;
}

/** 'slow' holds the request for `slowMs` before handling it; 'hold' handles it (the change is
 * made and logged) and then holds the ANSWER for `slowMs`: a client killed meanwhile never learns
 * its call succeeded. 'html-404' (AWS only): the HTML page moto (werkzeug) answers for an API it
 * does not implement. */
export type FaultKind = 'throttle' | '500' | 'reset' | 'slow' | 'hold' | 'html-404' | { code: string; status: number; message: string };

interface PendingFault {
  operation: string;
  /** Fires on this call number of `operation` (1-based, counted over the cloud's lifetime). */
  at: number;
  kind: FaultKind;
}

export class CallLog {
  readonly calls: CallRecord[] = [];
  private seq = 0;

  /** Reserve a sequence number at arrival, so the log orders calls by when they came in. */
  nextSeq(): number {
    return this.seq++;
  }

  add(rec: CallRecord): void {
    this.calls.push(rec);
    this.calls.sort((a, b) => a.seq - b.seq);
  }

  reset(): void {
    this.calls.length = 0;
  }
}

export class Faults {
  private readonly counts = new Map<string, number>();
  private pending: PendingFault[] = [];
  private latencyMs = 0;
  private readonly opLatency = new Map<string, number>();
  /** How long a 'slow' fault holds the response. */
  slowMs = 1500;

  /** The `n`th call of `operation` from now (n = 1: the next one) fails with `kind`. */
  failNth(operation: string, n: number, kind: FaultKind): void {
    if (!Number.isInteger(n) || n < 1) throw new Error(`failNth: n must be a positive integer, got ${n}`);
    this.pending.push({ operation, at: (this.counts.get(operation) ?? 0) + n, kind });
  }

  /** The next `count` calls of `operation` all fail with `kind` (e.g. to exhaust SDK retries). */
  failNext(operation: string, count: number, kind: FaultKind): void {
    for (let i = 1; i <= count; i++) this.failNth(operation, i, kind);
  }

  /** Added before every response; with `operation`, only for that operation. */
  latency(ms: number, operation?: string): void {
    if (operation) this.opLatency.set(operation, ms);
    else this.latencyMs = ms;
  }

  clear(): void {
    this.pending = [];
    this.latencyMs = 0;
    this.opLatency.clear();
  }

  /** Counts a call of `operation` and returns the fault to inject for it, if any. */
  take(operation: string): FaultKind | undefined {
    const count = (this.counts.get(operation) ?? 0) + 1;
    this.counts.set(operation, count);
    const i = this.pending.findIndex((f) => f.operation === operation && f.at === count);
    if (i < 0) return undefined;
    const [fault] = this.pending.splice(i, 1);
    return fault?.kind;
  }

  delayFor(operation: string): number {
    return this.latencyMs + (this.opLatency.get(operation) ?? 0);
  }

  /** How many calls of `operation` have arrived so far. */
  count(operation: string): number {
    return this.counts.get(operation) ?? 0;
  }
}

export function faultName(kind: FaultKind): string {
  return typeof kind === 'string' ? kind : kind.code;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
