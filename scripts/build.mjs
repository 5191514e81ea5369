// Builds dist/cjs (require) and dist/esm (import) from lib/ with one TypeScript
// compiler, so both entry points in package.json "exports" ship types.
//
// Source maps carry their TypeScript source (`--inlineSources`: `sourcesContent`),
// because lib/ is not in the package: a map whose `sources` name files that are not
// shipped is useless to `node --enable-source-maps` and debuggers without it.
//
// Run by `npm run build` and by `prepack` (so `npm pack` and `npm publish` always ship a
// fresh build). It is deliberately not `prepare`: npm 11 lists a `prepare` script of a
// package installed from a tarball as an install script to approve, and it could not
// run there anyway (scripts/ and the compiler are not in the package).
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';

const tsc = (...args) =>
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', ...args], { stdio: 'inherit' });

rmSync('dist', { recursive: true, force: true });
tsc('-p', 'tsconfig.build.json', '--inlineSources');
tsc('-p', 'tsconfig.build.json', '--inlineSources', '--outDir', 'dist/esm', '--module', 'ES2022', '--moduleResolution', 'Bundler');
writeFileSync('dist/cjs/package.json', '{ "type": "commonjs" }\n');
writeFileSync('dist/esm/package.json', '{ "type": "module" }\n');
