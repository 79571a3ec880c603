// Interop with Confluent's official JavaScript client (@confluentinc/schemaregistry,
// Avro through avsc). The same commands as confluent_client.py; every command prints one
// JSON document on stdout and the Rust test decides what is right.
//
// flows REGISTRY_URL SUBJECT
//     Drives SchemaRegistryClient through the registry API on SUBJECT with three schemas
//     of a record Thing (v1, v2 adding a field with a default, and a breaking one adding
//     a field without), and with a schema that references another (interop-Customer and
//     interop-Address), each call with a client of its own so no answer comes from a
//     cache. Prints {"client", "steps": {name: {"ok": value} or {"error": {"status",
//     "code", "message"}}}}; a failing step does not stop the later ones.
//
// serialize REGISTRY_URL SCHEMA_FILE ORDER_JSON
//     Registers SCHEMA_FILE under orders-OrderCreated, then serialises ORDER_JSON with an
//     AvroSerializer that uses the subject's latest version, and with one that uses the
//     id registered. Prints {"client", "framed": {"latest": hex, "by id": hex}}.
//
// deserialize REGISTRY_URL
//     Reads records from stdin, one a line as `TOPIC HEX_VALUE`, and prints {"client",
//     "records": [each decoded by AvroDeserializer with the writer schema that its schema
//     id names in the registry]}.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

import {
  AvroDeserializer,
  AvroSerializer,
  RestError,
  SchemaRegistryClient,
  SerdeType,
  SubjectNameStrategyType,
} from '@confluentinc/schemaregistry';

const require = createRequire(import.meta.url);
const CLIENT = `@confluentinc/schemaregistry ${
  require('@confluentinc/schemaregistry/package.json').version
} (avsc ${require('avsc/package.json').version})`;
const TOPIC = 'orders';

// No retries: every answer is the registry's first, and a wrong one fails at once.
const client = (url) => new SchemaRegistryClient({ baseURLs: [url], maxRetries: 0 });

const thing = (...extra) => ({
  schemaType: 'AVRO',
  schema: JSON.stringify({
    type: 'record',
    name: 'Thing',
    namespace: 'interop',
    fields: [{ name: 'a', type: 'int' }, ...extra],
  }),
});
const V1 = thing();
// The same schema written differently: the registry parses schemas, so it is v1.
const V1_REORDERED = {
  schemaType: 'AVRO',
  schema: JSON.stringify({
    fields: [{ type: 'int', name: 'a' }],
    namespace: 'interop',
    name: 'Thing',
    type: 'record',
  }),
};
const V2 = thing({ name: 'b', type: 'string', default: 'x' });
const BREAKING = thing({ name: 'c', type: 'string' });

// A schema that references another registered under a subject of its own.
const ADDRESS = {
  schemaType: 'AVRO',
  schema: JSON.stringify({
    type: 'record',
    name: 'Address',
    namespace: 'interop',
    fields: [{ name: 'street', type: 'string' }],
  }),
};
const CUSTOMER = {
  schemaType: 'AVRO',
  schema: JSON.stringify({
    type: 'record',
    name: 'Customer',
    namespace: 'interop',
    fields: [
      { name: 'name', type: 'string' },
      { name: 'address', type: 'interop.Address' },
    ],
  }),
  references: [{ name: 'interop.Address', subject: 'interop-Address', version: 1 }],
};

function failure(e) {
  if (e instanceof RestError) {
    return { status: e.status, code: e.errorCode, message: e.message };
  }
  return { message: String(e?.stack ?? e) };
}

async function flows(url, subject) {
  const steps = {};
  const step = async (name, call) => {
    try {
      steps[name] = { ok: (await call(client(url))) ?? null };
    } catch (e) {
      steps[name] = { error: failure(e) };
    }
  };
  await step('register v1', (c) => c.register(subject, V1));
  await step('getIdFullResponse v1', (c) => c.getIdFullResponse(subject, V1));
  await step('getVersion v1', (c) => c.getVersion(subject, V1));
  await step('getId v1 with its keys reordered', (c) => c.getId(subject, V1_REORDERED));
  await step('testSubjectCompatibility v2', (c) => c.testSubjectCompatibility(subject, V2));
  await step('testCompatibility v2 with version 1', (c) => c.testCompatibility(subject, 1, V2));
  await step('testSubjectCompatibility breaking', (c) =>
    c.testSubjectCompatibility(subject, BREAKING),
  );
  await step('register v2', (c) => c.register(subject, V2));
  await step('register v2 again', (c) => c.register(subject, V2));
  await step('register breaking', (c) => c.register(subject, BREAKING));
  await step('getLatestSchemaMetadata', (c) => c.getLatestSchemaMetadata(subject));
  await step('getSchemaMetadata 1', (c) => c.getSchemaMetadata(subject, 1));
  await step('getAllSubjects', (c) => c.getAllSubjects());
  await step('getAllVersions', (c) => c.getAllVersions(subject));
  const v1Id = steps['register v1'].ok;
  await step('getBySubjectAndId v1 id', (c) => c.getBySubjectAndId(subject, v1Id));
  await step('getDefaultCompatibility', (c) => c.getDefaultCompatibility());
  await step('updateCompatibility FULL', (c) => c.updateCompatibility(subject, 'FULL'));
  await step('getCompatibility', (c) => c.getCompatibility(subject));
  await step('getId unregistered', (c) => c.getId(subject, BREAKING));
  await step('getLatestSchemaMetadata unknown subject', (c) =>
    c.getLatestSchemaMetadata('interop-None'),
  );
  await step('getBySubjectAndId unknown id', (c) => c.getBySubjectAndId(subject, 999999));
  await step('getSchemaMetadata unknown', (c) => c.getSchemaMetadata(subject, 99));
  await step('register referenced', (c) => c.register('interop-Address', ADDRESS));
  await step('register with a reference', (c) => c.register('interop-Customer', CUSTOMER));
  const customerId = steps['register with a reference'].ok;
  await step('getBySubjectAndId with a reference', (c) =>
    c.getBySubjectAndId('interop-Customer', customerId),
  );
  await step('getIdFullResponse with a reference', (c) =>
    c.getIdFullResponse('interop-Customer', CUSTOMER),
  );
  await step('serialize and deserialize with a reference', async (c) => {
    const conf = { subjectNameStrategy: () => 'interop-Customer' };
    const serializer = new AvroSerializer(c, SerdeType.VALUE, {
      ...conf,
      useLatestVersion: true,
      autoRegisterSchemas: false,
    });
    const customer = { name: 'Ada', address: { street: '1 Main St' } };
    const framed = await serializer.serialize(TOPIC, customer);
    return new AvroDeserializer(client(url), SerdeType.VALUE, conf).deserialize(TOPIC, framed);
  });
  await step('deleteSubject referenced', (c) => c.deleteSubject('interop-Address'));
  await step('deleteSubjectVersion 2', (c) => c.deleteSubjectVersion(subject, 2));
  await step('getAllVersions after deleteSubjectVersion', (c) => c.getAllVersions(subject));
  await step('getSchemaMetadata 2 including deleted', (c) => c.getSchemaMetadata(subject, 2, true));
  await step('deleteSubject', (c) => c.deleteSubject(subject));
  await step('getAllSubjects after deleteSubject', (c) => c.getAllSubjects());
  await step('getBySubjectAndId v1 id after deleteSubject', (c) => c.getBySubjectAndId(subject, v1Id));
  await step('deleteSubject permanently', (c) => c.deleteSubject(subject, true));
  await step('getBySubjectAndId v1 id after permanent delete', (c) =>
    c.getBySubjectAndId(subject, v1Id),
  );
  return { client: CLIENT, steps };
}

async function serialize(url, schemaFile, orderJson) {
  const subject = `${TOPIC}-OrderCreated`;
  const schema = { schemaType: 'AVRO', schema: readFileSync(schemaFile, 'utf8') };
  const order = JSON.parse(orderJson);
  const id = await client(url).register(subject, schema);
  const framed = {};
  // With the subject's latest version, and with the schema id just registered.
  for (const [mode, conf] of [
    ['latest', { useLatestVersion: true }],
    ['by id', { useSchemaId: id }],
  ]) {
    const serializer = new AvroSerializer(client(url), SerdeType.VALUE, {
      ...conf,
      autoRegisterSchemas: false,
      // The topic-record-name strategy needs the schema, which the serializer has yet
      // to fetch; the subject is the one orderflow uses for OrderCreated.
      subjectNameStrategy: () => subject,
    });
    framed[mode] = (await serializer.serialize(TOPIC, order)).toString('hex');
  }
  return { client: CLIENT, framed };
}

async function deserialize(url) {
  const deserializer = new AvroDeserializer(client(url), SerdeType.VALUE, {
    subjectNameStrategyType: SubjectNameStrategyType.TOPIC_RECORD,
  });
  const records = [];
  for (const line of readFileSync(0, 'utf8').split('\n')) {
    if (line.trim()) {
      const [topic, value] = line.trim().split(/\s+/);
      records.push(await deserializer.deserialize(topic, Buffer.from(value, 'hex')));
    }
  }
  return { client: CLIENT, records };
}

const [command, ...args] = process.argv.slice(2);
const commands = { flows, serialize, deserialize };
const result = await commands[command](...args);
process.stdout.write(`${JSON.stringify(result)}\n`);
