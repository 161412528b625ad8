// Parse LogQL queries with Grafana's own grammar (@grafana/lezer-logql) and report syntax errors.
// Run it with node: node tests/lint/logql_parse.mjs < queries.json
//
// Input (stdin): a JSON array of query strings.
// Output (stdout): a JSON array, one entry per query, in order:
//   {"index": N, "ok": true|false, "errors": [{"from": OFFSET, "to": OFFSET, "message": "..."}]}
// Exit status: 0 when every query was parsed (whatever the verdict), 2 on bad input,
// 3 when the grammar package cannot be loaded.
//
// Where the grammar is found, first match wins:
//   --modules DIR            a directory holding node_modules/@grafana/lezer-logql
//   $TCC_LOGQL_MODULES       the same, from the environment
//   $TCC_CACHE/logql         (tests/lint/setup.sh installs it there)
//   ~/.cache/telemetry.claude_code/logql
//   the directory of this script (a plain `npm install` next to it)
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function candidates() {
  const dirs = [];
  const i = process.argv.indexOf('--modules');
  if (i !== -1 && process.argv[i + 1]) dirs.push(process.argv[i + 1]);
  if (process.env.TCC_LOGQL_MODULES) dirs.push(process.env.TCC_LOGQL_MODULES);
  if (process.env.TCC_CACHE) dirs.push(join(process.env.TCC_CACHE, 'logql'));
  dirs.push(join(homedir(), '.cache', 'telemetry.claude_code', 'logql'));
  dirs.push(dirname(fileURLToPath(import.meta.url)));
  return dirs;
}

function loadParser() {
  for (const dir of candidates()) {
    if (!existsSync(join(dir, 'node_modules', '@grafana', 'lezer-logql'))) continue;
    const require = createRequire(join(dir, 'package.json'));
    return require('@grafana/lezer-logql').parser;
  }
  return null;
}

function describe(query, from, to) {
  const line = query.slice(0, from).split('\n').length;
  const col = from - query.lastIndexOf('\n', from - 1);
  const near = query.slice(from, Math.max(to, from + 1)).slice(0, 30);
  if (from >= query.length) return `${line}:${col}: unexpected end of query`;
  return `${line}:${col}: syntax error near ${JSON.stringify(near)}`;
}

function check(parser, query) {
  const errors = [];
  if (typeof query !== 'string' || query.trim() === '') {
    return [{ from: 0, to: 0, message: 'empty query' }];
  }
  const tree = parser.parse(query);
  tree.iterate({
    enter(node) {
      if (node.type.isError) {
        errors.push({ from: node.from, to: node.to, message: describe(query, node.from, node.to) });
      }
    },
  });
  // A query the grammar cannot start at all yields a tree with no LogQL node.
  if (errors.length === 0 && tree.topNode.firstChild === null) {
    errors.push({ from: 0, to: query.length, message: '1:1: not a LogQL query' });
  }
  return errors;
}

let input;
try {
  input = JSON.parse(readFileSync(0, 'utf8'));
  if (!Array.isArray(input)) throw new Error('expected a JSON array of strings');
} catch (err) {
  process.stderr.write(`logql_parse: bad input: ${err.message}\n`);
  process.exit(2);
}

const parser = loadParser();
if (parser === null) {
  process.stderr.write(
    'logql_parse: @grafana/lezer-logql not found; run tests/lint/setup.sh or set TCC_LOGQL_MODULES\n',
  );
  process.exit(3);
}

const out = input.map((query, index) => {
  const errors = check(parser, query);
  return { index, ok: errors.length === 0, errors };
});
process.stdout.write(JSON.stringify(out) + '\n');
