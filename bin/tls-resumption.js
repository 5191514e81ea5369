#!/usr/bin/env node
'use strict';
let cli;
try {
  cli = require('../dist/cjs/cli/main.js');
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND') {
    console.error('tls-resumption: the package is not built; run `npm run build` in its folder first');
    process.exit(2);
  }
  throw err;
}
cli.run();
