// Which error happened is asserted by its code (docs/errors.md), never by its wording: a message
// may be reworded, a code may not. expectFailure reads the CLI's --json document (error.code, and
// the failed stages' codes) or, without --json, the `code: X` lines of the human output, and checks
// that the exit code is the one the code has. expectCode does the same for an error in-process.
import { expect } from 'vitest';
import { exitCodeOf, KpoError, type ErrorCode } from '../../src/errors.js';
import type { CliResult } from './run-cli.js';

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

interface FailureDoc {
  error?: { code?: string };
  stages?: Array<{ error?: { code?: string } }>;
  checks?: Array<{ code?: string }>;
}

function jsonDoc(stdout: string): FailureDoc | undefined {
  const text = stdout.trim();
  if (!text.startsWith('{')) return undefined;
  try {
    return JSON.parse(text) as FailureDoc;
  } catch {
    return undefined;
  }
}

/** Every error code the run reported: the --json document's, else the human `code:` lines. */
export function failureCodes(r: Pick<CliResult, 'stdout' | 'stderr'>): string[] {
  const doc = jsonDoc(r.stdout);
  const codes = doc
    ? [doc.error?.code, ...(doc.stages ?? []).map((s) => s.error?.code), ...(doc.checks ?? []).map((c) => c.code)]
    : [...`${r.stdout}\n${r.stderr}`.replace(ANSI, '').matchAll(/^\s*code: ([A-Z][A-Z0-9_]*)\s*$/gm)].map((m) => m[1]);
  return [...new Set(codes.filter((c): c is string => typeof c === 'string'))];
}

/** The run failed with `code` (among the codes it reported), and exited as that code does. */
export function expectFailure(r: CliResult, code: ErrorCode): void {
  const context = `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
  expect(failureCodes(r), context).toContain(code);
  expect(r.code, context).toBe(exitCodeOf(code));
}

/** `work` threw (or rejected with) a KpoError with `code`; returns it for checks of its content. */
export async function expectCode(work: Promise<unknown> | (() => unknown), code: ErrorCode): Promise<KpoError> {
  let thrown: unknown;
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (err) {
    thrown = err;
  }
  expect(thrown, 'expected an error').toBeInstanceOf(KpoError);
  expect((thrown as KpoError).code, (thrown as Error).message).toBe(code);
  return thrown as KpoError;
}
