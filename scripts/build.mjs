// Builds dist/cjs (require) and dist/esm (import) from lib/ with one TypeScript
// compiler, so both entry points in package.json "exports" ship types.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';

const tsc = (...args) =>
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', ...args], { stdio: 'inherit' });

rmSync('dist', { recursive: true, force: true });
tsc('-p', 'tsconfig.build.json');
tsc('-p', 'tsconfig.build.json', '--outDir', 'dist/esm', '--module', 'ES2022', '--moduleResolution', 'Bundler');
writeFileSync('dist/cjs/package.json', '{ "type": "commonjs" }\n');
writeFileSync('dist/esm/package.json', '{ "type": "module" }\n');
