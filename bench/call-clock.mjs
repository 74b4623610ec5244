// Arrival and answer times for every call the test cloud logs, for the critical-path analysis.
// The cloud's CallRecord carries an arrival order (seq) but no times, so the benchmark (which
// hosts the cloud in its own process) wraps the two CallLog methods every server calls:
// nextSeq() on arrival and add() when the answer is sent. Benchmark-only; the cloud is unchanged.
import { nowMs } from './measure.mjs';

/** @type {WeakMap<object, { start: number, end: number }>} */
const times = new WeakMap();

/** @param {{ CallLog: Function }} callsModule the test cloud's calls.ts module */
export function installCallClock(callsModule) {
  const proto = callsModule.CallLog.prototype;
  if (proto.__benchClock) return;
  const arrivals = new WeakMap();
  const nextSeq = proto.nextSeq;
  const add = proto.add;
  proto.nextSeq = function benchNextSeq() {
    const seq = nextSeq.call(this);
    let m = arrivals.get(this);
    if (!m) arrivals.set(this, (m = new Map()));
    m.set(seq, nowMs());
    return seq;
  };
  proto.add = function benchAdd(rec) {
    const end = nowMs();
    const m = arrivals.get(this);
    const start = m?.get(rec.seq) ?? end;
    m?.delete(rec.seq);
    times.set(rec, { start, end });
    return add.call(this, rec);
  };
  proto.__benchClock = true;
}

/** Arrival/answer times of a logged call (undefined if it was logged before the clock). */
export const callTimes = (rec) => times.get(rec);

/**
 * Counts TCP connections accepted by the test cloud's servers (AWS: http, Kubernetes: https),
 * to show whether the CLI reuses connections (keep-alive) or opens one per call.
 * @param {{ Server: Function }} net the node:net module
 * @param {{ Server: Function }} tls the node:tls module
 */
export function installConnectionCounter(net, tls) {
  const counts = { aws: 0, kube: 0 };
  const emit = net.Server.prototype.emit;
  if (!net.Server.prototype.__benchConnections) {
    net.Server.prototype.emit = function benchEmit(event, ...args) {
      if (event === 'connection') counts[this instanceof tls.Server ? 'kube' : 'aws']++;
      return emit.call(this, event, ...args);
    };
    net.Server.prototype.__benchConnections = true;
  }
  return {
    take() {
      const out = { ...counts };
      counts.aws = 0;
      counts.kube = 0;
      return out;
    },
  };
}
