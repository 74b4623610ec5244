// Where the tool runs, and how it finds and names programs there: the one place for the rule.
//
// POSIX only: Linux and macOS (and Windows through WSL, which is Linux). Not native Windows:
// - the files it writes (state, logs, backups of aws-auth) are kept private with POSIX modes
//   (0600/0700), which Windows ignores;
// - Ctrl-C reaches eksctl as SIGINT so it can clean up its CloudFormation stacks; Windows has no
//   signals to send a child;
// - the commands it prints (astro, aws, export …) are quoted for a POSIX shell;
// - the launcher's help table, `.ci/node-env.sh` and the test suite run on Linux and macOS only.
// So a command started on native Windows stops at once and says to use WSL, rather than run with
// files readable by others or a Ctrl-C that cannot stop eksctl. Finding programs follows the
// POSIX rule accordingly: no PATHEXT, no extension added.
import { stat, access, constants as fsConstants } from 'node:fs/promises';
import path from 'node:path';
import { KpoError } from './errors.js';

/** Throws (exit 3) on a platform this tool does not run on: native Windows. */
export function assertSupportedPlatform(platform: NodeJS.Platform = process.platform): void {
  if (platform !== 'win32') return;
  throw new KpoError(
    'PLATFORM_UNSUPPORTED',
    'astro-remote-kpo runs on Linux and macOS, not on native Windows (it keeps its files private with POSIX file modes and stops eksctl with SIGINT on Ctrl-C).',
    'Run it in WSL (Windows Subsystem for Linux): `wsl --install`, then install Node.js 22.19 or newer there and run the same npx command in the WSL shell.',
  );
}

/**
 * The full path of program `name` on `pathVar` (the CLI's PATH): the first entry that is a file
 * the user may execute, as a POSIX shell finds it. Nothing is appended to `name` (no PATHEXT);
 * an empty entry (`::`) is skipped rather than read as the current directory.
 */
export async function findOnPath(name: string, pathVar: string | undefined): Promise<string | undefined> {
  for (const dir of (pathVar ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      await access(candidate, fsConstants.X_OK);
      // A directory has X_OK too: only a file is a program.
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

/**
 * The program a command names, as a kubeconfig's exec block names it: the base name without its
 * directory, and without `.exe`, so that a kubeconfig written on Windows and read in WSL (where
 * `C:\…\aws.exe` runs through interop) names the same tool as `/usr/local/bin/aws`.
 */
export function programName(command: string): string {
  return command.split(/[\\/]/).pop()!.replace(/\.exe$/i, '');
}
