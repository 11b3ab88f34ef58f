// Validates AsyncAPI documents with the official parser (@asyncapi/parser), which checks each document against
// the official AsyncAPI JSON Schema (@asyncapi/specs) and resolves every $ref.
// Usage: node validate.mjs FILE.json...   Prints one JSON line per file: {"file", "valid", "errors": [...]}.
// Exit status: 0 when every document is valid, 1 otherwise.
import { readFileSync } from "node:fs";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";

const parser = new Parser();
let failed = false;
for (const file of process.argv.slice(2)) {
  const { document, diagnostics } = await parser.parse(readFileSync(file, "utf8"));
  const errors = diagnostics
    .filter((d) => d.severity === DiagnosticSeverity.Error)
    .map((d) => ({ message: d.message, path: d.path.join("/"), code: d.code }));
  const valid = document !== undefined && errors.length === 0;
  failed ||= !valid;
  console.log(JSON.stringify({ file, valid, errors }));
}
process.exit(failed ? 1 : 0);
