// The command-line surface: commands, flags, help text with examples. Pure: building it loads
// no command module and no SDK.
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { CHECK_FLAGS, DESTROY_FLAGS, INPUT_FLAGS, RUN_FLAGS, type FlagSpec, type RawOptions } from './options.js';
import { packageFile } from './package-file.js';
import { STAGE_IDS } from './types.js';

const pkg = JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string };
const WI = 'arn:aws:iam::123456789012:role/astro-dep-abc123';

type CommandName = 'init' | 'verify' | 'destroy';

function addFlags(cmd: Command, specs: FlagSpec[], command: CommandName = 'init'): Command {
  for (const f of specs) {
    const text = (command !== 'init' && f.otherCommands?.[command]) || f.description;
    // The real default is applied later (it can depend on the environment or on state.json), so
    // commander holds none; the help still shows it in the description.
    const shownDefault = command === 'init' && f.defaultText ? ` (default: ${f.defaultText})` : '';
    const opt = new Option(f.flags, `${text}${shownDefault}`);
    if (f.env) opt.env(f.env);
    if (f.repeatable) opt.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
    cmd.addOption(opt);
  }
  return cmd;
}

// verify and destroy never create a cluster: no ClusterConfig for them.

const stageList = STAGE_IDS.map((s, i) => `${i}=${s}`).join(', ');

export function buildProgram(run: (name: string, opts: RawOptions) => Promise<void>): Command {
  const program = new Command('astro-remote-kpo')
    .description('Let an Astro Deployment launch pods on a remote EKS cluster with EksPodOperator: cluster, namespace, RBAC, IAM role, identity mapping, access check and the aws_eks connection, in one resumable command.')
    .version(pkg.version)
    // An unknown flag: the error and commander's "Did you mean …?", then one line, not the
    // whole help scrolling the hint away.
    .showHelpAfterError('(run `astro-remote-kpo <command> --help` for its flags)')
    .exitOverride()
    .addHelpText(
      'before',
      `Quick start:
  npx astro-remote-kpo demo                                       # watch it work on a simulated account and cluster
  npx astro-remote-kpo init --dry-run --workload-identity <arn>   # in your Astro project: see every change, change nothing
  npx astro-remote-kpo init --workload-identity <arn>             # set it up (resumable)
`,
    );

  addFlags(addFlags(program.command('init'), INPUT_FLAGS), RUN_FLAGS)
    .description('Set everything up (safe to re-run: finished stages are verified and skipped)')
    .addHelpText(
      'after',
      `
Stages (for --from/--only, by id or number): ${stageList}

Examples:
  $ astro-remote-kpo init --dry-run --workload-identity ${WI}
  $ astro-remote-kpo init --workload-identity ${WI} --cluster-name my-cluster --region eu-west-1
  $ CI=1 astro-remote-kpo init --yes --workload-identity ${WI} --json > result.json
  $ astro-remote-kpo init --astro-deployment-id clx1abc2d000008l4ezw5ofno --astro-deployment-id clx9xyz8w000108l4abcdefgh   # two Deployments: identities read with the astro CLI, connection set on both
  $ astro-remote-kpo init --workload-identity ${WI} --local-dev   # also trust yourself, for astro dev
  $ astro-remote-kpo init --workload-identity ${WI} --pod-policy-arn arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess   # the task pods get an IAM role of their own (IRSA or EKS Pod Identity)
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

  // verify changes nothing, so it has nothing to confirm: no -y.
  addFlags(addFlags(program.command('verify'), CHECK_FLAGS, 'verify'), RUN_FLAGS.filter((f) => /project-dir|json|color|non-interactive/.test(f.flags)), 'verify')
    .description('Read-only live check of the whole chain, one row per link, exit 1 if any fails. Without flags it checks what init recorded in state.json')
    .addHelpText('after', `\nExamples:\n  $ astro-remote-kpo verify\n  $ astro-remote-kpo verify --workload-identity ${WI} --json`)
    .action((opts: RawOptions) => run('verify', opts));

  addFlags(
    program.command('destroy'),
    [
      ...DESTROY_FLAGS,
      ...RUN_FLAGS.filter((f) => /project-dir|dry-run|json|color|non-interactive|-y,/.test(f.flags)),
      { flags: '--delete-namespace', description: 'also delete the namespace (only if we created it)' },
      { flags: '--delete-cluster', description: 'also delete the cluster with eksctl (only if we created it)' },
    ],
    'destroy',
  )
    .description('Remove what this tool created, in reverse order (only what carries our tag/label or state)')
    .addHelpText('after', '\nExamples:\n  $ astro-remote-kpo destroy --dry-run\n  $ astro-remote-kpo destroy --yes --delete-namespace')
    .action((opts: RawOptions) => run('destroy', opts));

  program
    .command('demo')
    .description('See it work first: the real init, status, verify and destroy against a SIMULATED AWS account and EKS cluster on this machine (127.0.0.1), in a throwaway project. Ignores your AWS and kube settings; nothing leaves this machine')
    .option('-y, --yes', 'answer yes to the confirmations (init, destroy): nothing to type')
    .option('--keep', 'skip destroy and keep the throwaway project folder (its path is printed; the simulation itself always ends with the demo)')
    .option('--step', 'on a terminal, ask before each next command (Enter goes on)')
    .option('--json', 'print one JSON document: each command\'s exit code and own --json result')
    .option('--no-color', 'no colors (NO_COLOR is honoured too)')
    .addHelpText('after', '\nExamples:\n  $ npx astro-remote-kpo demo\n  $ npx astro-remote-kpo demo --yes --keep\n  $ npx astro-remote-kpo demo --json > demo.json')
    .action((opts: RawOptions) => run('demo', opts));

  return program;
}

