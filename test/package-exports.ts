import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

// Builds the package the way it is published and loads it by its own name, through
// package.json "exports", with require and with import.
const root = join(__dirname, '..');
const run = (args: string[]) => execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

t.test('the built package loads with require and import and ships types', async (t) => {
  run(['scripts/build.mjs']);
  t.ok(existsSync(join(root, 'dist/cjs/index.d.ts')), 'CommonJS types');
  t.ok(existsSync(join(root, 'dist/esm/index.d.ts')), 'ESM types');
  const probe = `typeof m.attachSessionCache + ' ' + m.SESS_CACHE_SERVER + ' ' + typeof m.SessionCache`;
  t.equal(run(['-e', `const m = require('tls-resumption'); console.log(${probe})`]).trim(), 'function 2 function');
  t.equal(
    run(['--input-type=module', '-e', `import * as m from 'tls-resumption'; console.log(${probe})`]).trim(),
    'function 2 function',
  );
});

t.test('the bin runs from the built package', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const bin = join(root, 'bin', 'tls-resumption.js');
  if (!existsSync(join(root, 'dist/cjs/cli/main.js'))) run(['scripts/build.mjs']);
  const usage = spawnSync(process.execPath, [bin, 'check'], { encoding: 'utf8' });
  t.equal(usage.status, 2, 'no address is a usage error');
  t.match(usage.stderr, /tls-resumption/);
  t.notMatch(usage.stderr, /\n\s+at /, 'no stack trace');
  // Port 1 on loopback: nothing listens there.
  const refused = spawnSync(process.execPath, [bin, 'check', '127.0.0.1:1', '--timeout', '2'], { encoding: 'utf8' });
  t.equal(refused.status, 3, 'unreachable');
  t.equal(refused.stderr.trim().split('\n').length, 1, 'one line');
});
