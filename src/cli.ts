// Entry point. Parses argv with commander, imports the chosen command lazily (so --help and
// --version load no SDK), and is the ONE place that maps errors to exit codes (changesets' cli).
import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { EXIT, KpoError, errorMessage } from './errors.js';
import { INPUT_FLAGS, RUN_FLAGS, type FlagSpec, type RawOptions } from './options.js';
import { STAGE_IDS } from './types.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
const WI = 'arn:aws:iam::123456789012:role/astro-dep-abc123';

function addFlags(cmd: Command, specs: FlagSpec[]): Command {
  for (const f of specs) {
    const opt = new Option(f.flags, f.description);
    if (f.defaultText) opt.default(undefined, f.defaultText);
    if (f.env) opt.env(f.env);
    cmd.addOption(opt);
  }
  return cmd;
}

const stageList = STAGE_IDS.map((s, i) => `${i}=${s}`).join(', ');

export function buildProgram(run: (name: string, opts: RawOptions) => Promise<void>): Command {
  const program = new Command('astro-remote-kpo')
    .description('Let an Astro Deployment launch pods on a remote EKS cluster with EksPodOperator: cluster, namespace, RBAC, IAM role, identity mapping, access check and the aws_eks connection, in one resumable command.')
    .version(pkg.version)
    .showHelpAfterError()
    .exitOverride();

  const init = addFlags(addFlags(program.command('init'), INPUT_FLAGS), RUN_FLAGS)
    .description('Set everything up (safe to re-run: finished stages are verified and skipped)')
    .addHelpText(
      'after',
      `
Stages (for --from/--only, by id or number): ${stageList}

Examples:
  $ astro-remote-kpo init --dry-run --workload-identity ${WI}
  $ astro-remote-kpo init --workload-identity ${WI} --cluster-name my-cluster --region eu-west-1
  $ CI=1 astro-remote-kpo init --yes --workload-identity ${WI} --json > result.json
  $ astro-remote-kpo init --from identity-mapping      # re-run step 7 and everything after it
  $ astro-remote-kpo init --only 10                    # re-run just the access check`,
    )
    .action((opts: RawOptions) => run('init', opts));

  program
    .command('status')
    .description('Show the recorded stages and the authorization chain (no network)')
    .option('--project-dir <dir>', 'Astro project with .astro-remote-kpo/state.json', '.')
    .option('--json', 'print one JSON document')
    .option('--no-color', 'no colors')
    .addHelpText('after', '\nExamples:\n  $ astro-remote-kpo status\n  $ astro-remote-kpo status --json --project-dir ./my-astro-project')
    .action((opts: RawOptions) => run('status', opts));

  addFlags(addFlags(program.command('verify'), INPUT_FLAGS), RUN_FLAGS.filter((f) => /project-dir|json|color|non-interactive|-y,/.test(f.flags)))
    .description('Read-only live check of the whole chain, one row per link, exit 1 if any fails')
    .addHelpText('after', `\nExamples:\n  $ astro-remote-kpo verify\n  $ astro-remote-kpo verify --workload-identity ${WI} --json`)
    .action((opts: RawOptions) => run('verify', opts));

  addFlags(program.command('destroy'), [
    ...INPUT_FLAGS,
    ...RUN_FLAGS.filter((f) => /project-dir|dry-run|json|color|non-interactive|-y,/.test(f.flags)),
    { flags: '--delete-namespace', description: 'also delete the namespace (only if we created it)' },
    { flags: '--delete-cluster', description: 'also delete the cluster with eksctl (only if we created it)' },
  ])
    .description('Remove what this tool created, in reverse order (only what carries our tag/label or state)')
    .addHelpText('after', '\nExamples:\n  $ astro-remote-kpo destroy --dry-run\n  $ astro-remote-kpo destroy --yes --delete-namespace')
    .action((opts: RawOptions) => run('destroy', opts));

  return program;
}

async function runCommand(name: string, opts: RawOptions): Promise<number> {
  // Lazy: only the chosen command's module (and through it, the SDKs it needs) is loaded.
  switch (name) {
    case 'init':
      return (await import('./commands/init.js')).initCommand(opts);
    case 'status':
      return (await import('./commands/status.js')).statusCommand(opts);
    case 'verify':
      return (await import('./commands/verify.js')).verifyCommand(opts);
    case 'destroy':
      return (await import('./commands/destroy.js')).destroyCommand(opts);
    default:
      throw new KpoError(`unknown command ${name}`, EXIT.usage);
  }
}

async function main(argv: string[]): Promise<number> {
  let code = EXIT.ok as number;
  const program = buildProgram(async (name, opts) => {
    code = await runCommand(name, opts);
  });
  try {
    if (argv.length <= 2) {
      program.outputHelp();
      return EXIT.usage;
    }
    await program.parseAsync(argv);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exitCode 0; unknown flags with 1 → usage (2).
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof KpoError) {
      process.stderr.write(`\n✖ ${err.message}\n${err.hint ? `  ${err.hint}\n` : ''}`);
      return err.exitCode;
    }
    process.stderr.write(`\n✖ Unexpected error: ${errorMessage(err)}\n  Please report it with .astro-remote-kpo/logs/debug.log attached.\n`);
    if (process.env.ASTRO_KPO_DEBUG) process.stderr.write(`${(err as Error).stack ?? ''}\n`);
    return EXIT.stageFailed;
  }
}

// Exit explicitly: keep-alive sockets of the SDK and Kubernetes clients must not hold the
// process open after the work is done. (stdout/stderr writes are synchronous for files and pipes
// on Linux, so nothing printed is lost.)
process.exit(await main(process.argv));
