#!/usr/bin/env node
// Thin launcher: the CLI is bundled into dist/ (scripts/build.mjs, run by `npm run build` and at
// pack time). V8's compile cache (Node >= 22.1; in the OS temp dir, NODE_DISABLE_COMPILE_CACHE=1
// turns it off) saves re-compiling the bundle on every run. Written for any Node that can load an
// ES module, so an old one gets a sentence instead of a syntax error from the bundle.
import { existsSync, readFileSync } from 'node:fs';
import module from 'node:module';
import { accepts, describeRange, engineRange, parseRange } from './node-floor.js';

// The versions package.json's engines.node names (bin/node-floor.js): the build keeps that range
// inside every bundled package's own engines range, so a Node it accepts loads every chunk.
const range = parseRange(engineRange());
if (range && !accepts(range, process.version)) {
  process.stderr.write(`astro-remote-kpo needs Node.js ${describeRange(range)}; this is ${process.version}. Install a current Node.js (https://nodejs.org) and run it again.\n`);
  process.exit(3);
}
// Not for `demo`: it promises to write nothing outside its own temp folder, and its children (the
// commands it runs) keep their compile cache there, since their TMPDIR is inside it.
if (process.argv[2] !== 'demo') module.enableCompileCache?.();

// `--help`, `<command> --help` and `--version`, exactly: answered from the table the build wrote
// with the CLI's own output (scripts/build.mjs), without loading the CLI. Only at 80 columns or
// more (or off a terminal), since the table is wrapped at 80; anything else takes the full path.
const args = process.argv.slice(2);
const key =
  args.length === 1 && ['--help', '-h', '--version', '-V'].includes(args[0])
    ? (args[0].startsWith('--v') || args[0] === '-V' ? '--version' : '--help')
    : args.length === 2 && ['--help', '-h'].includes(args[1]) && /^[a-z]+$/.test(args[0])
      ? `${args[0]} --help`
      : undefined;
if (key && process.env.ASTRO_KPO_HELP_TABLE !== 'off' && (!process.stdout.isTTY || (process.stdout.columns ?? 80) >= 80)) {
  let text;
  try {
    text = JSON.parse(readFileSync(new URL('../dist/help.json', import.meta.url), 'utf8'))[key];
  } catch {
    // no table (a build in progress, an unbuilt clone): the full path below says what to do
  }
  if (typeof text === 'string') {
    process.stdout.write(text);
    process.exit(0);
  }
}
try {
  await import('../dist/cli.js');
} catch (err) {
  // A clone before its first build (the published package always has dist/).
  if (!existsSync(new URL('../dist/cli.js', import.meta.url))) {
    process.stderr.write('astro-remote-kpo: dist/cli.js is missing. In a clone of the repository, run `npm run build` first.\n');
    process.exit(3);
  }
  throw err;
}
