// Entry point. Parses argv, imports the chosen command lazily (so --help and --version load no
// SDK), and is the ONE place that maps errors to exit codes (changesets' cli).
import { CommanderError } from 'commander';
import { EXIT, KpoError, errorMessage } from './errors.js';
import type { RawOptions } from './options.js';
import { buildProgram } from './program.js';
import { interruptsClaimed } from './interrupt.js';
import { settleWrites } from './write-files.js';

// Ctrl-C. init and destroy listen for it themselves (save state, return 130); this listener covers
// the time before they do and the commands that don't: it waits for file writes in flight, then
// exits 130. Either way no temp file of ours outlives the process (src/write-files.ts).
process.on('SIGINT', () => {
  if (interruptsClaimed()) return;
  void settleWrites().then(() => process.exit(EXIT.interrupted));
});

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
      // --json promises one document on stdout, failures included.
      if (argv.includes('--json')) {
        process.stdout.write(`${JSON.stringify({ ok: false, exitCode: err.exitCode, error: { message: err.message, hint: err.hint } }, null, 2)}\n`);
      }
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
const code = await main(process.argv);
// Writes still in flight (a stage interrupted mid-write) finish, or their temp files go.
await settleWrites();
process.exit(code);
