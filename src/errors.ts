// Typed errors. Only src/cli.ts turns them into exit codes (DESIGN.md: one top-level catch).

export const EXIT = {
  ok: 0,
  stageFailed: 1,
  usage: 2,
  prerequisite: 3,
  interrupted: 130,
} as const;

export class KpoError extends Error {
  readonly exitCode: number;
  /** What the user should do about it, printed under the message. */
  readonly hint?: string;
  constructor(message: string, exitCode: number, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.hint = hint;
  }
}

/** Bad flags, bad values, malformed user files: exit 2, nothing written. */
export class UsageError extends KpoError {
  constructor(message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, EXIT.usage, hint, options);
  }
}

/** Missing credentials, expired SSO session, eksctl not on PATH: exit 3. */
export class PrerequisiteError extends KpoError {
  constructor(message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, EXIT.prerequisite, hint, options);
  }
}

/** A stage failed; state is saved and the run can resume: exit 1. */
export class StageFailedError extends KpoError {
  constructor(message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, EXIT.stageFailed, hint, options);
  }
}

export class InterruptedError extends KpoError {
  constructor(message = 'interrupted') {
    super(message, EXIT.interrupted);
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
