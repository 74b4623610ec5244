// The AWS query protocol (IAM, STS): form-encoded requests, XML responses and errors shaped like
// AWS's (see /work/shared/wire-samples/aws). A handler returns a Reply; the server writes it.
import { randomUUID } from 'node:crypto';

export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** An error a handler throws; the server renders it in the calling protocol's shape. */
export class AwsError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly type: 'Sender' | 'Receiver' = status >= 500 ? 'Receiver' : 'Sender',
  ) {
    super(message);
  }
}

export type XmlValue = string | number | boolean | Date | undefined | null | XmlNode | XmlValue[];
export interface XmlNode {
  [name: string]: XmlValue;
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** Whole seconds, as real IAM and STS print them. */
export function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Renders a node; arrays become `<member>` lists, undefined/null members are skipped. */
export function toXml(node: XmlNode): string {
  let out = '';
  for (const [name, value] of Object.entries(node)) {
    if (value === undefined || value === null) continue;
    out += element(name, value);
  }
  return out;
}

function element(name: string, value: XmlValue): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) {
    if (value.length === 0) return `<${name}/>`;
    return `<${name}>${value.map((v) => element('member', v)).join('')}</${name}>`;
  }
  if (value instanceof Date) return `<${name}>${isoSeconds(value)}</${name}>`;
  if (typeof value === 'object') {
    const inner = toXml(value);
    return inner ? `<${name}>${inner}</${name}>` : `<${name}/>`;
  }
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

export const IAM_NS = 'https://iam.amazonaws.com/doc/2010-05-08/';
export const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';

/** `<OpResponse><OpResult>...</OpResult><ResponseMetadata/></OpResponse>`; no Result element when `result` is undefined. */
export function queryResponse(ns: string, op: string, result: XmlNode | undefined): Reply {
  const requestId = randomUUID();
  const resultXml = result === undefined ? '' : `<${op}Result>${toXml(result)}</${op}Result>`;
  return {
    status: 200,
    headers: { 'Content-Type': 'text/xml', 'x-amzn-RequestId': requestId },
    body: `<${op}Response xmlns="${ns}">${resultXml}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${op}Response>\n`,
  };
}

export function queryError(ns: string, err: AwsError): Reply {
  const requestId = randomUUID();
  return {
    status: err.status,
    headers: { 'Content-Type': 'text/xml', 'x-amzn-RequestId': requestId },
    body:
      `<ErrorResponse xmlns="${ns}"><Error><Type>${err.type}</Type><Code>${escapeXml(err.code)}</Code>` +
      `<Message>${escapeXml(err.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>\n`,
  };
}

/** REST-JSON (EKS) error: the SDK reads x-amzn-ErrorType first, then the body's message. */
export function jsonError(err: AwsError): Reply {
  return {
    status: err.status,
    headers: { 'Content-Type': 'application/json', 'x-amzn-RequestId': randomUUID(), 'x-amzn-ErrorType': err.code },
    body: JSON.stringify({ message: err.message }),
  };
}

export function jsonReply(body: unknown, status = 200): Reply {
  return { status, headers: { 'Content-Type': 'application/json', 'x-amzn-RequestId': randomUUID() }, body: JSON.stringify(body) };
}

/** Form parameters of a query-protocol body. */
export type Params = Map<string, string>;

export function parseForm(body: string): Params {
  return new Map(new URLSearchParams(body));
}

/** `Tags.member.1.Key=...&Tags.member.1.Value=...` → [{Key, Value}]. */
export function memberStructs(params: Params, prefix: string): Array<Record<string, string>> {
  const out: Array<Record<string, string>> = [];
  for (const [k, v] of params) {
    const m = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.member\\.(\\d+)\\.(\\w+)$`).exec(k);
    if (!m) continue;
    const i = Number(m[1]) - 1;
    out[i] ??= {};
    out[i][m[2]!] = v;
  }
  return out.filter(Boolean);
}

/** `ActionNames.member.1=...` → [...] in member order. */
export function memberList(params: Params, prefix: string): string[] {
  const out: Array<[number, string]> = [];
  for (const [k, v] of params) {
    const m = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.member\\.(\\d+)$`).exec(k);
    if (m) out.push([Number(m[1]), v]);
  }
  return out.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}

export function required(params: Params, name: string): string {
  const v = params.get(name);
  if (v === undefined || v === '') {
    throw new AwsError(400, 'ValidationError', `1 validation error detected: Value null at '${name.charAt(0).toLowerCase()}${name.slice(1)}' failed to satisfy constraint: Member must not be null`);
  }
  return v;
}
