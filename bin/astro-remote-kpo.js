#!/usr/bin/env node
// Thin launcher: the CLI is bundled into dist/ (scripts/build.mjs, run by `npm run build` and at
// pack time). V8's compile cache (Node >= 22.1; in the OS temp dir, NODE_DISABLE_COMPILE_CACHE=1
// turns it off) saves re-compiling the bundled AWS SDK on every run.
import module from 'node:module';

module.enableCompileCache?.();
await import('../dist/cli.js');
