// The contract as a web page: contracts/asyncapi.json, its schema references resolved by
// the official AsyncAPI parser, rendered by the official AsyncAPI React component (its
// standalone bundle and default styles inlined: the page needs nothing from a network).
//
//   node contract-page.js [--document contracts/asyncapi.json] [--output page.html]
//   node contract-page.js --serve 8000 [--host 127.0.0.1]     # serves it at /
//
// It also serves the document itself at /asyncapi.json.
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { Parser, fromFile } = require('@asyncapi/parser');

function options(argv) {
  const given = {};
  for (let i = 0; i < argv.length; i += 2) given[argv[i].replace(/^--/, '')] = argv[i + 1];
  return {
    document: given.document || path.join(__dirname, '..', '..', 'contracts', 'asyncapi.json'),
    output: given.output,
    serve: given.serve === undefined ? undefined : Number(given.serve),
    host: given.host || '127.0.0.1',
  };
}

async function resolved(file) {
  const { document, diagnostics } = await fromFile(new Parser(), file).parse();
  const errors = diagnostics.filter((d) => d.severity === 0);
  if (!document || errors.length) {
    throw new Error(`${file} is not a valid AsyncAPI document: ${errors.map((e) => e.message).join('; ')}`);
  }
  // The parser's own output: every relative $ref (the JSON Schemas) resolved in place.
  const plain = JSON.parse(JSON.stringify(document.json(), (key, value) => (key.startsWith('x-parser-') ? undefined : value)));
  return plain;
}

function page(document) {
  const component = path.dirname(require.resolve('@asyncapi/react-component/package.json'));
  const script = fs.readFileSync(path.join(component, 'browser', 'standalone', 'index.js'), 'utf8');
  const styles = fs.readFileSync(path.join(component, 'styles', 'default.min.css'), 'utf8');
  const data = JSON.stringify(document).replace(/</g, '\\u003c');
  const title = `${document.info.title} ${document.info.version}`.replace(/[<&]/g, '');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>${styles}</style>
</head>
<body>
<div id="asyncapi"></div>
<script>${script.replace(/<\/script/gi, '<\\/script')}</script>
<script>
AsyncApiStandalone.render(
  { schema: ${data}, config: { show: { sidebar: true, errors: true } } },
  document.getElementById('asyncapi'),
);
</script>
</body>
</html>
`;
}

async function main() {
  const given = options(process.argv.slice(2));
  const document = await resolved(given.document);
  const html = page(document);
  if (given.serve === undefined) {
    if (given.output) fs.writeFileSync(given.output, html);
    else process.stdout.write(html);
    return;
  }
  const raw = fs.readFileSync(given.document);
  const server = http.createServer((request, response) => {
    if (request.url === '/' || request.url === '/index.html') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(html);
    } else if (request.url === '/asyncapi.json') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(raw);
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('not found\n');
    }
  });
  server.listen(given.serve, given.host, () => {
    console.log(JSON.stringify({ serving: `http://${given.host}:${server.address().port}/` }));
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error) => {
  console.error(`contract-page: ${error.message}`);
  process.exit(1);
});
