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
