#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm install` via the prepare script).
// V8's compile cache (Node >= 22.1; in the OS temp dir, NODE_DISABLE_COMPILE_CACHE=1 turns it off)
// saves re-compiling the AWS SDK's modules on every run.
import module from 'node:module';

module.enableCompileCache?.();
await import('../dist/cli.js');
