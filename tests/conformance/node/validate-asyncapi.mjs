// Parses AsyncAPI documents with the AsyncAPI Initiative's own parser (@asyncapi/parser) and reports what it
// says about each one.
//
// stdin:  {"files": ["/absolute/path/asyncapi-x.json", ...]}
// stdout: {"documents": [{"file": ..., "parsed": true|false, "version": "3.0.0"|null,
//          "diagnostics": [{"severity": "error"|"warning"|"info"|"hint", "code": ..., "message": ...,
//                           "path": "channels/x/..."}]}]}
//
// parse() runs the parser's validation (the AsyncAPI JSON Schema plus its Spectral rules) and then parses every
// message payload with the schema parser its schemaFormat names; a document with an error-severity diagnostic
// is not parsed. A document that could not be read at all ends the script with a non-zero exit.

import { readFile } from "node:fs/promises";
import { DiagnosticSeverity, Parser } from "@asyncapi/parser";

const SEVERITY = {
  [DiagnosticSeverity.Error]: "error",
  [DiagnosticSeverity.Warning]: "warning",
  [DiagnosticSeverity.Information]: "info",
  [DiagnosticSeverity.Hint]: "hint",
};

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

function described(diagnostic) {
  return {
    severity: SEVERITY[diagnostic.severity] ?? String(diagnostic.severity),
    code: String(diagnostic.code ?? ""),
    message: diagnostic.message,
    path: (diagnostic.path ?? []).join("/"),
  };
}

async function parsed(parser, file) {
  const text = await readFile(file, "utf8");
  const { document, diagnostics } = await parser.parse(text, { source: file });
  return {
    file,
    parsed: document !== undefined,
    version: document ? document.version() : null,
    diagnostics: diagnostics.map(described),
  };
}

const given = await readStdin();
if (!Array.isArray(given.files) || given.files.length === 0) {
  throw new Error('expected {"files": [path, ...]} on stdin');
}
const parser = new Parser();
const documents = [];
for (const file of given.files) documents.push(await parsed(parser, file));
process.stdout.write(JSON.stringify({ documents }) + "\n");
