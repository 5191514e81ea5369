// What `npm pack` really ships. The package is packed from a copy of the sources in a
// temporary folder (so the shared working tree's dist/ is never rebuilt under other
// tests), with the real npm and its real `prepack` build, then unpacked and used.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'tls-resumption-pack-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

const src = join(work, 'src');
mkdirSync(src);
for (const entry of ['package.json', 'README.md', 'LICENSE', 'tsconfig.json', 'tsconfig.build.json', 'lib', 'bin', 'scripts']) {
  cpSync(join(root, entry), join(src, entry), { recursive: true });
}
symlinkSync(join(root, 'node_modules'), join(src, 'node_modules'), 'dir');

interface PackResult {
  filename: string;
  files: { path: string; size: number }[];
  size: number;
  unpackedSize: number;
}

// The npm that comes with the Node running this test, so each Node's npm is what is checked.
const npmCli = (() => {
  const candidates = [
    join(process.execPath, '..', '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'),
    join(process.execPath, '..', 'node_modules', 'npm', 'bin', 'npm-cli.js'),
    '/usr/lib/node_modules/npm/bin/npm-cli.js',
  ];
  return candidates.find((c) => existsSync(c));
})();

t.test('npm pack ships dist, bin, LICENSE, README and package.json, and nothing else', async (t) => {
  if (npmCli === undefined) throw new Error(`no npm found next to ${process.execPath}`);
  const out = execFileSync(process.execPath, [npmCli, 'pack', '--json', '--pack-destination', work], {
    cwd: src,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_loglevel: 'error', npm_config_update_notifier: 'false' },
  });
  // npm prints the prepack build's own output before the JSON; the JSON is the last array.
  const json = out.slice(out.indexOf('[\n'));
  const [pack] = JSON.parse(json) as PackResult[];
  if (pack === undefined) throw new Error(`npm pack printed no result:\n${out}`);
  const paths = pack.files.map((f) => f.path).sort();
  t.comment(`packed ${paths.length} files, ${pack.size} bytes (${pack.unpackedSize} unpacked)`);

  const allowed = (p: string) => /^(dist|bin)\//.test(p) || ['LICENSE', 'README.md', 'package.json'].includes(p);
  t.same(paths.filter((p) => !allowed(p)), [], 'only dist/, bin/, LICENSE, README.md, package.json');
  for (const p of ['LICENSE', 'README.md', 'package.json', 'bin/tls-resumption.js', 'dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/esm/index.js', 'dist/esm/index.d.ts', 'dist/cjs/cli/main.js', 'dist/cjs/package.json', 'dist/esm/package.json']) {
    t.ok(paths.includes(p), `ships ${p}`);
  }
  t.notOk(paths.some((p) => /^(lib|test|scripts|examples|bench|\.ci|\.github)\//.test(p)), 'no sources, tests, scripts, examples');
  t.notOk(paths.some((p) => p.endsWith('.ts') && !p.endsWith('.d.ts')), 'no TypeScript sources');

  // Unpack it where an application would have it installed.
  const app = join(work, 'app');
  const installed = join(app, 'node_modules', 'tls-resumption');
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['xzf', join(work, pack.filename), '-C', installed, '--strip-components=1']);
  t.same(listFiles(installed).sort(), paths, 'the tarball holds what npm pack listed');

  const license = readFileSync(join(installed, 'LICENSE'), 'utf8');
  t.match(license, /^MIT License\n\nCopyright \(c\) 2026 tls-resumption contributors\n/);

  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { scripts?: Record<string, string>; license?: string };
  t.equal(manifest.license, 'MIT');
  // What npm 11 asks to approve on install from a tarball or git: none of these may ship.
  for (const script of ['preinstall', 'install', 'postinstall', 'prepare']) {
    t.equal(manifest.scripts?.[script], undefined, `no ${script} script for installers to approve`);
  }

  // Every source map is self-contained: it carries the TypeScript it maps to, and names
  // no file that is missing without its content.
  const maps = paths.filter((p) => p.endsWith('.map'));
  t.ok(maps.length > 10, `${maps.length} source maps`);
  let missing = 0;
  for (const m of maps) {
    const map = JSON.parse(readFileSync(join(installed, m), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
    map.sources.forEach((_, i) => {
      if (typeof map.sourcesContent?.[i] !== 'string' || map.sourcesContent[i] === '') missing++;
    });
  }
  t.equal(missing, 0, 'every map has sourcesContent for each of its sources');

  // It loads by its name with require and import, the bin runs, and a stack trace maps
  // to TypeScript lines without lib/ present.
  for (const dep of ['debug', 'ms']) symlinkSync(join(root, 'node_modules', dep), join(app, 'node_modules', dep), 'dir');
  const node = (args: string[]) => spawnSync(process.execPath, args, { cwd: app, encoding: 'utf8' });
  const probe = `typeof m.attachSessionCache + ' ' + typeof m.registerMetrics`;
  t.equal(node(['-e', `const m = require('tls-resumption'); console.log(${probe})`]).stdout.trim(), 'function function');
  t.equal(node(['--input-type=module', '-e', `import * as m from 'tls-resumption'; console.log(${probe})`]).stdout.trim(), 'function function');
  const help = node([join(installed, 'bin', 'tls-resumption.js'), '--help']);
  t.equal(help.status, 0);
  t.match(help.stdout, /^Usage: tls-resumption check/);
  const trace = node(['--enable-source-maps', '-e', `try { require('tls-resumption').attachSessionCache({}) } catch (e) { console.log(e.code); console.log(e.stack) }`]);
  t.match(trace.stdout, /^ERR_TLS_RESUMPTION_NOT_A_TLS_SERVER\n/);
  t.match(trace.stdout, /lib\/server\/[a-z-]+\.ts:\d+:\d+/, 'the stack names TypeScript lines through the shipped maps');
});

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}
