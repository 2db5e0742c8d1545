// Verifies one webhook request with the Standard Webhooks JavaScript library (npm `standardwebhooks`), as a
// receiver written in JavaScript does.
//
// stdin:  {"secret": "whsec_...", "body": "<the raw request body>", "headers": {"webhook-id": ..., ...}}
// stdout: {"verified": true, "payload": <the body as the library parsed it>}
//
// A request the library refuses (a wrong secret, a changed body, a timestamp outside its five minutes, a
// missing header) ends the script with exit code 1 and the library's error on stderr.

import { Webhook } from "standardwebhooks";

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

const given = await readStdin();
if (typeof given.secret !== "string" || typeof given.body !== "string" || typeof given.headers !== "object") {
  throw new Error('expected {"secret": string, "body": string, "headers": object} on stdin');
}
try {
  const payload = new Webhook(given.secret).verify(given.body, given.headers);
  process.stdout.write(JSON.stringify({ verified: true, payload }) + "\n");
} catch (error) {
  process.stderr.write(`${error.name}: ${error.message}\n`);
  process.exit(1);
}
