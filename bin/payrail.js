#!/usr/bin/env node
// The CLI runs the compiled code; `npm ci` builds it (the `prepare` script).
await import('../dist/cli.js');
