#!/usr/bin/env node
// Thin launcher: the CLI is bundled into dist/ (scripts/build.mjs, run by `npm run build` and at
// pack time). V8's compile cache (Node >= 22.1; in the OS temp dir, NODE_DISABLE_COMPILE_CACHE=1
// turns it off) saves re-compiling the bundle on every run. Written for any Node that can load an
// ES module, so an old one gets a sentence instead of a syntax error from the bundle.
import { existsSync } from 'node:fs';
import module from 'node:module';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  process.stderr.write(`astro-remote-kpo needs Node.js 22.12 or newer; this is ${process.version}. Install a current Node.js (https://nodejs.org) and run it again.\n`);
  process.exit(3);
}
module.enableCompileCache?.();
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
