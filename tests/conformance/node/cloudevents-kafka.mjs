// CloudEvents on Kafka as the official JavaScript SDK (npm `cloudevents`) writes and reads them, over kafkajs.
//
// One JSON document on stdin chooses the action; stdout carries only the one JSON result (kafkajs logs go to
// stderr). Anything the SDK or the broker refused ends the script with a non-zero exit and the reason on stderr.
//
// produce
//   stdin:  {"action": "produce", "bootstrap": "host:port", "topic": "client.events",
//            "mode": "structured" | "binary", "events": [{CloudEvent attributes, extensions and "data"}],
//            "within": seconds (optional, default 30)}
//   Each event is built with `new CloudEvent(...)` (which validates it) and turned into a Kafka message by the
//   SDK's Kafka binding, `Kafka.structured(ce)` or `Kafka.binary(ce)`. Either way the key is the `partitionkey`
//   extension (no key without it) and the record's timestamp is the event's `time`.
//     structured: one header, content-type "application/cloudevents+json; charset=utf-8"; the value is the
//       event as JSON (extensions included; the SDK rewrites `time` to milliseconds in UTC, "...T10:00:00.000Z").
//     binary: content-type = `datacontenttype`, and one `ce_<name>` header per attribute the event has,
//       extensions, `datacontenttype` and `partitionkey` included, each as its string (`time` as given); the
//       value is `data`: text or bytes as they are, anything else as its JSON text.
//   All are sent in one batch, in order, by an idempotent producer (acks=-1, one request in flight) with
//   kafkajs's default partitioner, Java's murmur2 like the platform's own producer.
//   stdout: {"sent": [event ids, in the order given]}
//
// consume
//   stdin:  {"action": "consume", "bootstrap": "host:port", "topic": "rupture.suspected",
//            "where": {attribute: value, ...}, "expected": N, "within": seconds (optional, default 30)}
//   Reads the topic from the beginning in a fresh consumer group (committing nothing), turns each record into
//   an event with the SDK's `Kafka.toEvent(message)`, then validates it with `ce.validate()` (the binding
//   builds the event unchecked), and keeps the events whose attributes equal (as strings) every value in
//   `where`. Records the SDK cannot read are skipped: the topic is shared.
//   stdout: {"events": [ce.toJSON(), ...]} as soon as N matched: the first N read. Each carries the record key
//   as the `partitionkey` extension, and `time` in milliseconds in UTC as the SDK writes it.
//   After `within` seconds with fewer, exits 1 saying how many matched, and why the SDK refused the records
//   that mention every `where` value.
//
// Past `within` plus a grace to disconnect, either action gives up with exit 3.

import { randomUUID } from "node:crypto";
import { CloudEvent, Kafka as CloudEventsKafka } from "cloudevents";
import { Kafka as KafkaClient, Partitioners, logLevel } from "kafkajs";

const GRACE_SECONDS = 15;
const LEVEL_NAMES = {
  [logLevel.ERROR]: "error",
  [logLevel.WARN]: "warn",
  [logLevel.INFO]: "info",
  [logLevel.DEBUG]: "debug",
};

// kafkajs logs through console by default, and console.info writes to stdout.
const toStderr = () => ({ namespace, level, log }) => {
  process.stderr.write(JSON.stringify({ level: LEVEL_NAMES[level], namespace, ...log }) + "\n");
};

function kafka(bootstrap) {
  return new KafkaClient({
    clientId: "cloudevents-js-conformance",
    brokers: bootstrap.split(","),
    logLevel: logLevel.WARN,
    logCreator: toStderr,
  });
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

// ---- produce --------------------------------------------------------------------------------------------

// The binding's message carries the attributes as they are in the event; a Kafka header value is bytes, so
// each is written as its string form, and an attribute the event does not have is no header at all.
function headerValues(headers) {
  return Object.fromEntries(
    Object.entries(headers)
      .filter(([, value]) => value !== undefined && value !== null)
      .map(([name, value]) => [name, Buffer.isBuffer(value) ? value : String(value)]),
  );
}

// Binary mode hands over `data` itself: bytes and text go as they are, anything else as its JSON text.
function valueBytes(value) {
  if (value === undefined || value === null) return null;
  if (typeof value === "string" || Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value);
  return JSON.stringify(value);
}

function kafkaMessage(bound) {
  return {
    key: bound.key ?? null,
    value: valueBytes(bound.value),
    headers: headerValues(bound.headers),
    timestamp: bound.timestamp,
  };
}

async function produce(given) {
  const bind = { structured: CloudEventsKafka.structured, binary: CloudEventsKafka.binary }[given.mode];
  if (!bind) throw new Error(`mode must be "structured" or "binary", not ${JSON.stringify(given.mode)}`);
  if (!Array.isArray(given.events) || given.events.length === 0) throw new Error("no events to produce");
  const events = given.events.map((attributes) => new CloudEvent(attributes));
  const messages = events.map((ce) => kafkaMessage(bind(ce)));
  const producer = kafka(given.bootstrap).producer({
    idempotent: true,
    maxInFlightRequests: 1, // what an idempotent producer needs to keep its sequence numbers in order
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  try {
    await producer.send({ topic: given.topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
  return { sent: events.map((ce) => ce.id) };
}

// ---- consume --------------------------------------------------------------------------------------------

// kafkajs hands over header values as bytes (several, when a name repeats); the binding reads strings.
function bindingMessage(record) {
  const headers = {};
  for (const [name, value] of Object.entries(record.headers ?? {})) {
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last !== undefined && last !== null) headers[name] = last.toString("utf8");
  }
  return {
    key: record.key === null || record.key === undefined ? undefined : record.key.toString("utf8"),
    value: record.value,
    headers,
    timestamp: record.timestamp,
  };
}

function matches(ce, where) {
  return Object.entries(where).every(
    ([name, value]) => ce[name] !== undefined && String(ce[name]) === String(value),
  );
}

function mentions(record, where) {
  const raw = [record.key, record.value, ...Object.values(record.headers ?? {})]
    .filter((part) => part !== null && part !== undefined)
    .map((part) => part.toString("utf8"))
    .join("\n");
  return Object.values(where).every((value) => raw.includes(String(value)));
}

async function consume(given) {
  const where = given.where ?? {};
  const expected = Number(given.expected ?? 1);
  const within = Number(given.within ?? 30);
  const found = [];
  const refused = []; // why the SDK refused records that look like the ones asked for
  let read = 0;
  let done;
  const finished = new Promise((resolve) => (done = resolve));
  const timer = setTimeout(() => done(false), within * 1000);

  const consumer = kafka(given.bootstrap).consumer({
    groupId: `cloudevents-js-${randomUUID()}`,
    allowAutoTopicCreation: false,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: given.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        if (found.length >= expected) return;
        read += 1;
        let ce;
        try {
          ce = CloudEventsKafka.toEvent(bindingMessage(message));
          if (Array.isArray(ce)) throw new Error("a batch of events, not one event");
          ce.validate();
        } catch (error) {
          if (mentions(message, where)) refused.push(`offset ${message.offset}: ${describe(error)}`);
          return;
        }
        if (matches(ce, where)) {
          found.push(ce.toJSON());
          if (found.length >= expected) done(true);
        }
      },
    });
    const complete = await finished;
    if (!complete) {
      const reasons = refused.length
        ? ` The SDK refused ${refused.length} record(s) mentioning them: ${refused.slice(-5).join("; ")}`
        : "";
      throw new Error(
        `found ${found.length} of ${expected} events matching ${JSON.stringify(where)} on ${given.topic} ` +
          `within ${within} s (${read} records read).${reasons}`,
      );
    }
    return { events: found.slice(0, expected) };
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
}

// The SDK's ValidationError already lists the schema's complaints in its message.
function describe(error) {
  return `${error?.name ?? "Error"}: ${String(error?.message ?? error).replace(/\s*\n\s*/g, " ")}`;
}

// ---- main -----------------------------------------------------------------------------------------------

// Bounded whatever kafkajs does: past its time (and a grace to disconnect), the script ends anyway.
function endBy(seconds) {
  setTimeout(() => {
    process.stderr.write(`gave up: not finished within ${seconds} s\n`);
    process.exit(3);
  }, seconds * 1000).unref();
}

async function main() {
  const given = await readStdin();
  if (typeof given.bootstrap !== "string" || typeof given.topic !== "string") {
    throw new Error('expected "bootstrap" and "topic" on stdin');
  }
  const actions = { produce, consume };
  const action = actions[given.action];
  if (!action) throw new Error(`action must be "produce" or "consume", not ${JSON.stringify(given.action)}`);
  endBy(Number(given.within ?? 30) + GRACE_SECONDS);
  return action(given);
}

try {
  const result = await main();
  process.stdout.write(JSON.stringify(result) + "\n", () => process.exit(0));
} catch (error) {
  process.stderr.write(`${describe(error)}\n`);
  process.exit(1);
}
