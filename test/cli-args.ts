import t from 'tap';
import { parseCommand, CHECK_DEFAULTS, MAX_COUNT } from '../lib/cli/args.js';
import { parseTarget, siblingName, formatTarget } from '../lib/cli/target.js';

t.test('parseTarget accepts host:port, bare hosts, IPv6 and https URLs', async (t) => {
  t.same(parseTarget('example.com:8443'), { ok: true, target: { host: 'example.com', port: 8443 } });
  t.same(parseTarget('example.com'), { ok: true, target: { host: 'example.com', port: 443 } });
  t.same(parseTarget('example.com.:443'), { ok: true, target: { host: 'example.com', port: 443 } });
  t.same(parseTarget('127.0.0.1:1'), { ok: true, target: { host: '127.0.0.1', port: 1 } });
  t.same(parseTarget('[::1]:8443'), { ok: true, target: { host: '::1', port: 8443 } });
  t.same(parseTarget('[::1]'), { ok: true, target: { host: '::1', port: 443 } });
  t.same(parseTarget('::1'), { ok: true, target: { host: '::1', port: 443 } });
  t.same(parseTarget('https://example.com/path?q=1'), { ok: true, target: { host: 'example.com', port: 443 } });
  t.same(parseTarget('https://example.com:9443/'), { ok: true, target: { host: 'example.com', port: 9443 } });
  t.same(parseTarget('https://[::1]:9443/'), { ok: true, target: { host: '::1', port: 9443 } });
});

t.test('parseTarget rejects malformed addresses with a reason naming the problem', async (t) => {
  const reason = (input: string) => {
    const r = parseTarget(input);
    return r.ok ? 'accepted' : r.reason;
  };
  t.match(reason(''), /no address/);
  t.match(reason('example.com:0'), /"0" is not a port/);
  t.match(reason('example.com:65536'), /"65536" is not a port/);
  t.match(reason('example.com:http'), /"http" is not a port/);
  t.match(reason('example.com:'), /"" is not a port/);
  t.match(reason('a:b:c'), /ambiguous/);
  t.match(reason('exa mple.com:443'), /not a valid host name/);
  t.match(reason('-bad-.com:443'), /not a valid host name/);
  t.match(reason('[example.com]:443'), /not an IPv6 address/);
  t.match(reason('http://example.com/'), /names no port/);
  t.match(reason('https://exa mple.com/'), /not a valid URL/);
});

t.test('formatTarget brackets IPv6 literals', async (t) => {
  t.equal(formatTarget({ host: '::1', port: 443 }), '[::1]:443');
  t.equal(formatTarget({ host: 'a.example', port: 8443 }), 'a.example:8443');
});

t.test('siblingName makes a name under the same parent, or under .invalid', async (t) => {
  t.equal(siblingName('www.example.com'), 'tls-resumption-check.example.com');
  t.equal(siblingName('a.example'), 'tls-resumption-check.example');
  t.equal(siblingName('localhost'), 'tls-resumption-check.invalid');
  t.equal(siblingName(undefined), 'tls-resumption-check.invalid');
  t.equal(siblingName('tls-resumption-check.example'), 'tls-resumption-check-other.example');
});

t.test('parseCommand fills defaults and uses the host as SNI unless it is an IP', async (t) => {
  const named = parseCommand(['check', 'a.example:8443']);
  if (named.kind !== 'check') throw new Error(`expected check, got ${named.kind}`);
  t.same(named.options, {
    target: { host: 'a.example', port: 8443 },
    servername: 'a.example',
    otherServername: undefined,
    json: false,
    count: CHECK_DEFAULTS.count,
    timeoutMs: CHECK_DEFAULTS.timeoutSeconds * 1000,
    insecure: false,
    caFile: undefined,
  });
  t.ok(Object.isFrozen(named.options));

  const ip = parseCommand(['check', '127.0.0.1:8443']);
  t.equal(ip.kind === 'check' && ip.options.servername, undefined);
});

t.test('parseCommand reads every option', async (t) => {
  const c = parseCommand([
    'check', '127.0.0.1:8443', '--servername', 'a.example', '--other-servername', 'b.example',
    '--json', '--count', '3', '--timeout', '0.5', '--insecure', '--ca', 'ca.pem',
  ]);
  if (c.kind !== 'check') throw new Error(`expected check, got ${c.kind}`);
  t.same(c.options, {
    target: { host: '127.0.0.1', port: 8443 },
    servername: 'a.example',
    otherServername: 'b.example',
    json: true,
    count: 3,
    timeoutMs: 500,
    insecure: true,
    caFile: 'ca.pem',
  });
});

t.test('parseCommand answers --help and -h', async (t) => {
  t.same(parseCommand(['--help']), { kind: 'help' });
  t.same(parseCommand(['check', '-h']), { kind: 'help' });
});

t.test('parseCommand turns every bad input into a one-line usage error', async (t) => {
  const cases: [string[], RegExp][] = [
    [[], /no command given/],
    [['frob'], /unknown command "frob"/],
    [['check'], /needs an address/],
    [['check', 'a.example', 'b.example'], /unexpected argument "b.example"/],
    [['check', 'a.example', '--bogus'], /^unknown option --bogus$/],
    [['check', 'a.example', '--count'], /argument missing/],
    [['check', 'a.example', '--count', '0'], /--count must be a whole number from 1 to 100/],
    [['check', 'a.example', '--count', String(MAX_COUNT + 1)], /--count/],
    [['check', 'a.example', '--count', '2.5'], /--count/],
    [['check', 'a.example', '--timeout', '0'], /--timeout must be/],
    [['check', 'a.example', '--timeout', 'soon'], /--timeout must be/],
    [['check', 'a.example', '--timeout', ''], /--timeout must be/],
    [['check', 'a.example', '--servername', '10.0.0.1'], /SNI cannot carry an IP address/],
    [['check', 'a.example', '--servername', 'bad name'], /not a valid host name/],
    [['check', 'a.example', '--other-servername', 'A.example'], /must differ/],
    [['check', 'a.example', '--ca', ''], /--ca needs a file name/],
    [['check', 'a.example:99999'], /not a port/],
  ];
  for (const [argv, message] of cases) {
    const c = parseCommand(argv);
    t.equal(c.kind, 'usage-error', argv.join(' '));
    if (c.kind === 'usage-error') {
      t.match(c.message, message, argv.join(' '));
      t.notMatch(c.message, /\n/, 'one line');
    }
  }
});

t.test('a usage error remembers --json so it can be reported as JSON', async (t) => {
  t.same(parseCommand(['check', '--json']), {
    kind: 'usage-error',
    message: 'check needs an address: tls-resumption check <host[:port]>',
    json: true,
  });
});
