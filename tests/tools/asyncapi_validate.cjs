// Validates an AsyncAPI document read from stdin with the AsyncAPI Initiative's own parser (@asyncapi/parser),
// which checks it against the specification's JSON Schema and runs its rule set. Prints each diagnostic as one
// JSON line ({severity, code, message, path}) and exits 1 if any is an error. The parser is found through
// NODE_PATH (scripts/setup --dev installs it under .venv/node/).
const { Parser } = require("@asyncapi/parser");

async function main() {
  let text = "";
  for await (const chunk of process.stdin) text += chunk;
  const { document, diagnostics } = await new Parser().parse(text);
  const severities = ["error", "warning", "information", "hint"];
  for (const d of diagnostics) {
    console.log(JSON.stringify({ severity: severities[d.severity], code: d.code, message: d.message, path: d.path }));
  }
  const errors = diagnostics.filter((d) => d.severity === 0);
  if (errors.length || !document) process.exit(1);
  console.log(JSON.stringify({ ok: true, version: document.version(), messages: document.allMessages().length }));
}

main().catch((error) => {
  console.error(String(error && error.stack ? error.stack : error));
  process.exit(2);
});
