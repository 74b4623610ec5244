// The command that resumes a run: rebuilt from the inputs the run used (recorded in state.json),
// not from argv, so answers typed at prompts are carried too. Values equal to the built-in
// default are left out; the workload identity and the region are always written (the region's
// default depends on the environment, which may differ when the command is run again).
import { CHECK_FLAGS, DEFAULTS, DESTROY_FLAGS, INPUT_FLAGS, type FlagSpec } from './options.js';
import { shellQuote } from './shell-quote.js';
import type { Inputs, StageId } from './types.js';


// (The workload identities, a list, are always written: every list value is.)
const ALWAYS: ReadonlyArray<keyof Inputs> = ['region'];

/** `--flag value` pairs for every input that is not the default. */
export function inputArgs(inputs: Inputs, flags: readonly FlagSpec[] = INPUT_FLAGS): string[] {
  const args: string[] = [];
  for (const f of flags) {
    const key = f.input;
    if (!key) continue;
    const flag = f.flags.split(' ')[0]!;
    const value = inputs[key];
    // Repeatable flags (workload identities, Deployment ids) once per value; switches bare.
    if (Array.isArray(value)) {
      for (const v of value) args.push(flag, v);
      continue;
    }
    if (typeof value === 'boolean') {
      if (value) args.push(flag);
      continue;
    }
    if (value === undefined || value === '') continue;
    const def = (DEFAULTS as Record<string, string>)[key];
    if (!ALWAYS.includes(key) && def !== undefined && def === value) continue;
    args.push(flag, value);
  }
  return args;
}

export interface RunShape {
  /** As the user gave it (kept relative), or undefined for the current directory. */
  projectDir?: string;
  from?: StageId;
  only?: StageId;
  /** Boolean run flags to keep, e.g. --yes, --non-interactive, --json. */
  switches?: readonly string[];
}

export function initCommandLine(inputs: Inputs, shape: RunShape = {}, verb = 'init'): string {
  const args = [
    'npx',
    'astro-remote-kpo',
    verb,
    // verify and destroy refuse flags they do not take (--cluster-config): give them only theirs.
    ...inputArgs(inputs, verb === 'init' ? INPUT_FLAGS : verb === 'destroy' ? DESTROY_FLAGS : CHECK_FLAGS),
    ...(shape.projectDir && shape.projectDir !== '.' ? ['--project-dir', shape.projectDir] : []),
    ...(shape.only ? ['--only', shape.only] : shape.from ? ['--from', shape.from] : []),
    ...(shape.switches ?? []),
  ];
  return args.map(shellQuote).join(' ');
}

const KEPT_SWITCHES = new Set(['--yes', '-y', '--non-interactive', '--json', '--no-color', '--switch-context', '--force', '--verbose']);

/** The boolean run flags of argv worth repeating on resume (--dry-run is not). */
export function keptSwitches(argv: readonly string[]): string[] {
  return [...new Set(argv.filter((a) => KEPT_SWITCHES.has(a)).map((a) => (a === '-y' ? '--yes' : a)))];
}
