// Validates an AsyncAPI document with the official parser (relative $refs resolved from its
// folder). Prints one JSON line: errors, warnings, the diagnostics, and what it found.
const { Parser, fromFile } = require('@asyncapi/parser');

(async () => {
  const parser = new Parser();
  const { document, diagnostics } = await fromFile(parser, process.argv[2]).parse();
  const errors = diagnostics.filter((d) => d.severity === 0);
  const warnings = diagnostics.filter((d) => d.severity === 1);
  console.log(JSON.stringify({
    errors: errors.length,
    warnings: warnings.length,
    diagnostics: diagnostics.map((d) => ({ severity: d.severity, code: d.code, message: d.message, path: d.path })),
    messages: document ? document.allMessages().all().map((m) => m.name()) : [],
    operations: document ? document.operations().all().map((o) => [o.id(), o.action(), o.channels().all().map((c) => c.address())]) : [],
  }));
  process.exit(errors.length ? 1 : 0);
})();
