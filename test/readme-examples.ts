// Every ```ts block of README.md must work as written. Each block is type-checked with
// the real compiler, as a module of its own, against lib/ (the 'tls-resumption' import is
// pointed at lib/index.ts), with only this scaffolding: the values a reader already has
// in hand where the example starts (a server, its key and certificate, a Redis client,
// ...), declared below. Node modules are not scaffolded: an example that uses `https` or
// `cluster` must import them. A block may instead name a runnable twin in examples/ in a
// comment (`// runnable: examples/client.ts`); then that file must exist and type-check
// with the rest of the project (npm run typecheck), and is run by whoever runs examples.
//
// KNOWN_BROKEN lists blocks (by their first line) that do not type-check as written,
// reported to the README's owner; the test fails when one of them starts to work, so the
// list only shrinks.
import t from 'tap';
import * as ts from 'typescript';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** The ```ts blocks, with the line each starts on. */
const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => ({
  code: m[1] as string,
  line: readme.slice(0, m.index).split('\n').length + 1,
}));

/** What a reader has in hand where the README's examples start. Global, so a block's own declarations shadow them. */
const SCAFFOLD = `
declare const server: import('node:https').Server;
declare const key: Buffer;
declare const cert: Buffer;
declare const app: import('node:http').RequestListener;
declare const redisClient: import('redis').RedisClientType;
declare const store: import('../lib/index.js').RedisStore;
declare const newest: Buffer;
declare const older: Buffer;
declare const host: string;
declare const port: number;
declare const servername: string;
declare const cache: import('../lib/index.js').SessionCache;
declare const sessions: import('../lib/index.js').ClientSessionCache;
`;

/** The package's value exports, read from lib/index.ts. */
const EXPORTS = [
  ...new Set(
    [...readFileSync(join(root, 'lib', 'index.ts'), 'utf8').matchAll(/^export\s*\{([^}]*)\}/gm)]
      .flatMap((m) => (m[1] as string).split(','))
      .map((n) => n.trim())
      .filter((n) => n !== '' && !n.startsWith('type '))
      .map((n) => n.split(/\s+as\s+/).at(-1) as string),
  ),
];

const KNOWN_BROKEN: readonly string[] = [
];

const scaffoldPath = join(root, 'test', '__readme_scaffold.d.ts');
const blockPath = (i: number) => join(root, 'test', `__readme_block_${i}.ts`);

/** Type-checks every block in one program (virtual files, nothing written); diagnostics per block. */
function typeCheck(sources: string[]): string[][] {
  const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (!config) throw new Error('cannot read tsconfig.json');
  const options: ts.CompilerOptions = { ...config.options, noEmit: true };
  const virtual = new Map<string, string>([[scaffoldPath, SCAFFOLD]]);
  sources.forEach((code, i) => virtual.set(blockPath(i), code));
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language, onError, create) => {
    const text = virtual.get(resolve(name));
    return text !== undefined ? ts.createSourceFile(name, text, language, true) : getSourceFile(name, language, onError, create);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => virtual.has(resolve(name)) || fileExists(name);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => virtual.get(resolve(name)) ?? readFile(name);
  const program = ts.createProgram([...virtual.keys()], options, host);
  return sources.map((_, i) => {
    const file = program.getSourceFile(blockPath(i));
    if (!file) return ['the block was not compiled'];
    return [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)].map((d) => {
      const at = d.start !== undefined ? file.getLineAndCharacterOfPosition(d.start).line + 1 : 0;
      return `block line ${at}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
    });
  });
}

t.test('README.md has TypeScript examples', async (t) => {
  t.ok(blocks.length >= 5, `${blocks.length} blocks`);
  t.ok(EXPORTS.includes('attachSessionCache') && EXPORTS.includes('registerMetrics'), 'the exports are read');
});

t.test('every README TypeScript example type-checks as written, or names a runnable twin', async (t) => {
  const twins = blocks.map((b) => /\/\/\s*runnable:\s*(examples\/[\w./-]+\.ts)/.exec(b.code)?.[1]);
  const checked = blocks.map((b) => {
    const code = b.code.replace(/from 'tls-resumption'/g, "from '../lib/index.js'");
    if (code.includes("from '../lib/index.js'")) return code;
    // A block that continues an earlier one (no import of its own) gets the package's
    // exports it uses, as the reader has them from the block before.
    const used = EXPORTS.filter((name) => new RegExp(`\\b${name}\\b`).test(code));
    return used.length === 0 ? code : `import { ${used.join(', ')} } from '../lib/index.js';\n${code}`;
  });
  const diagnostics = typeCheck(checked);
  blocks.forEach((block, i) => {
    const first = block.code.split('\n')[0] as string;
    const name = `README.md line ${block.line}: ${first}`;
    const twin = twins[i];
    if (twin !== undefined) {
      t.ok(existsSync(join(root, twin)), `${name}: its twin ${twin} exists`);
      return;
    }
    const problems = diagnostics[i] as string[];
    if (KNOWN_BROKEN.includes(first)) {
      t.not(problems.length, 0, `${name}: still fails as listed in KNOWN_BROKEN (once it works, take it off the list)`);
      if (problems.length > 0) t.comment(`known broken, ${name}:\n  ${problems.join('\n  ')}`);
      return;
    }
    t.same(problems, [], name);
  });
});
