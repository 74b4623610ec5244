// Entry point. Parses argv, imports the chosen command lazily (so --help and --version load no
// SDK), and is the ONE place that maps errors to exit codes (changesets' cli): every error ends
// here as a KpoError whose code (src/errors.ts) decides the exit code, and is printed with it.
import { CommanderError } from 'commander';
import { ERROR_CODES, EXIT, KpoError, asKpoError, codeLine, errorRecord } from './errors.js';
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
    case 'demo':
      // The only command that loads the simulation (src/sim): no other command and no --help does.
      return (await import('./commands/demo.js')).demoCommand(opts);
    default:
      throw new KpoError('BAD_COMMAND_LINE', `unknown command ${name}`);
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
    // --json promises one document on stdout, failures included: scripts match on error.code.
    const fail = (e: KpoError) => {
      if (argv.includes('--json')) process.stdout.write(`${JSON.stringify({ ok: false, exitCode: e.exitCode, error: errorRecord(e) }, null, 2)}\n`);
      return e.exitCode;
    };
    if (err instanceof CommanderError) {
      // --help and --version end here with exitCode 0. Anything else commander has already
      // explained on stderr (unknown flag, missing value): bad usage, exit 2.
      if (err.exitCode === 0) return EXIT.ok;
      const e = new KpoError('BAD_COMMAND_LINE', err.message.replace(/^error: /, ''), 'Run `astro-remote-kpo <command> --help` for its flags.');
      process.stderr.write(`  ${codeLine(e.code)}\n`);
      return fail(e);
    }
    const e = asKpoError(err);
    if (e.code === 'UNEXPECTED') {
      const hint = ERROR_CODES.UNEXPECTED.fix;
      process.stderr.write(`\n✖ Unexpected error: ${e.message}\n  ${hint}\n  ${codeLine(e.code)}\n`);
      if (process.env.ASTRO_KPO_DEBUG) process.stderr.write(`${(err as Error).stack ?? ''}\n`);
      return fail(new KpoError('UNEXPECTED', e.message, hint));
    }
    // The code last, on a line of its own: short enough for a 60-column terminal, easy to grep.
    process.stderr.write(`\n✖ ${e.message}\n${e.hint ? `  ${e.hint}\n` : ''}  ${codeLine(e.code)}\n`);
    return fail(e);
  }
}

// Exit explicitly: keep-alive sockets of the SDK and Kubernetes clients must not hold the
// process open after the work is done. (stdout/stderr writes are synchronous for files and pipes
// on Linux, so nothing printed is lost.)
const code = await main(process.argv);
// Writes still in flight (a stage interrupted mid-write) finish, or their temp files go.
await settleWrites();
process.exit(code);
