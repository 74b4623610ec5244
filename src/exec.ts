// The only place that spawns processes (eksctl, astro). Tests replace the binaries on PATH,
// never this module.
export interface ExecOptions {
  /** Called with each output line (stdout and stderr interleaved), e.g. for a log file. */
  onLine?: (line: string) => void;
  env?: Record<string, string | undefined>;
  cwd?: string;
  signal?: AbortSignal;
}

export interface ExecResult {
  exitCode: number;
  /** Combined output, kept for error messages (the full text also went to onLine). */
  output: string;
}

export interface Exec {
  /** Full path of `name` on PATH, or undefined. */
  which(name: string): Promise<string | undefined>;
  run(file: string, args: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
}

export function createExec(env: Readonly<Record<string, string | undefined>>): Exec {
  return {
    async which(name) {
      const { access, constants } = await import('node:fs/promises');
      const path = await import('node:path');
      for (const dir of (env.PATH ?? '').split(path.delimiter)) {
        if (!dir) continue;
        const candidate = path.join(dir, name);
        try {
          await access(candidate, constants.X_OK);
          return candidate;
        } catch {
          // not here; keep looking
        }
      }
      return undefined;
    },
    async run(file, args, opts = {}) {
      const { execa } = await import('execa');
      const child = execa(file, args, {
        all: true,
        reject: false,
        env: { ...env, ...opts.env },
        extendEnv: false,
        cwd: opts.cwd,
        cancelSignal: opts.signal,
        stdin: 'ignore',
        lines: false,
        buffer: true,
      });
      let pending = '';
      child.all?.on('data', (chunk: Buffer) => {
        pending += chunk.toString('utf8');
        const parts = pending.split(/\r?\n/);
        pending = parts.pop() ?? '';
        for (const line of parts) opts.onLine?.(line);
      });
      const result = await child;
      if (pending) opts.onLine?.(pending);
      return { exitCode: result.exitCode ?? (result.isCanceled ? 130 : 1), output: String(result.all ?? '') };
    },
  };
}
