"""Interop with the official Confluent Python client (confluent-kafka).

Every command prints one JSON document on stdout; the Rust test decides what is right.

flows REGISTRY_URL SUBJECT
    Drives SchemaRegistryClient through the registry API on SUBJECT with three schemas
    of a record Thing (v1, v2 adding a field with a default, and a breaking one adding a
    field without), and with a schema that references another (interop-Customer and
    interop-Address), each call with a client of its own so no answer comes from a
    cache.
    Prints {"client": "confluent-kafka X.Y.Z", "steps": {name: {"ok": value} or
    {"error": {"status", "code", "message"}}}}; a failing step does not stop the later
    ones.

serialize REGISTRY_URL SCHEMA_FILE ORDER_JSON
    Serialises ORDER_JSON as OrderCreated with AvroSerializer and SCHEMA_FILE under the
    topic-record-name subject, orders-OrderCreated: auto-registering the schema, and
    with auto-registration off (the schema looked up). Prints {"client": ...,
    "framed": {"registered": hex, "looked up": hex}}, the Confluent-framed bytes.

deserialize REGISTRY_URL
    Reads records from stdin, one a line as `TOPIC HEX_VALUE`, and prints {"client": ...,
    "records": [each decoded by AvroDeserializer with the writer schema that its schema
    id names in the registry]}.

consume BOOTSTRAP TOPIC REGISTRY_URL ORDER_ID...
    Reads TOPIC on the Kafka cluster at BOOTSTRAP (host:port[,host:port]) from the
    beginning with a Consumer of a fresh group, decoding each value with AvroDeserializer,
    until it has read an OrderCreated keyed by each ORDER_ID or a minute has passed.
    Prints {"client": ..., "records": [{"key", "partition", "offset", "schema" (the
    writer schema's name, from the registry), "value"}]}.
"""

import json
import sys
import time
import traceback
import uuid
from importlib.metadata import version

from confluent_kafka import Consumer, KafkaException, libversion
from confluent_kafka.schema_registry import (
    Schema,
    SchemaReference,
    SchemaRegistryError,
    SchemaRegistryClient,
    topic_record_subject_name_strategy,
)
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

CLIENT = (
    f"confluent-kafka {version('confluent-kafka')} (librdkafka {libversion()[0]}, "
    f"fastavro {version('fastavro')})"
)
CONTEXT = SerializationContext("orders", MessageField.VALUE)


def client(url):
    # No retries: every answer is the registry's first, and a wrong one fails at once.
    return SchemaRegistryClient({"url": url, "max.retries": 0})


def thing(*extra):
    fields = [{"name": "a", "type": "int"}, *extra]
    return Schema(
        json.dumps({"type": "record", "name": "Thing", "namespace": "interop", "fields": fields}),
        "AVRO",
    )


V1 = thing()
# The same schema written differently: the registry parses schemas, so it is v1.
V1_REORDERED = Schema(
    json.dumps({"fields": [{"type": "int", "name": "a"}], "namespace": "interop", "name": "Thing", "type": "record"}),
    "AVRO",
)
V2 = thing({"name": "b", "type": "string", "default": "x"})
BREAKING = thing({"name": "c", "type": "string"})

# A schema that references another registered under a subject of its own.
ADDRESS = Schema(
    json.dumps(
        {"type": "record", "name": "Address", "namespace": "interop", "fields": [{"name": "street", "type": "string"}]}
    ),
    "AVRO",
)
CUSTOMER = Schema(
    json.dumps(
        {
            "type": "record",
            "name": "Customer",
            "namespace": "interop",
            "fields": [{"name": "name", "type": "string"}, {"name": "address", "type": "interop.Address"}],
        }
    ),
    "AVRO",
    [SchemaReference("interop.Address", "interop-Address", 1)],
)


def registered(r):
    """A RegisteredSchema as JSON."""
    return {
        "id": r.schema_id,
        "subject": r.subject,
        "version": r.version,
        "schema": r.schema.schema_str if r.schema else None,
        "schemaType": r.schema.schema_type if r.schema else None,
    }


def flows(url, subject):
    steps = {}

    def step(name, call):
        try:
            steps[name] = {"ok": call(client(url))}
        except SchemaRegistryError as e:
            steps[name] = {
                "error": {"status": e.http_status_code, "code": e.error_code, "message": e.error_message}
            }
        except Exception:  # noqa: BLE001 - every failure is reported, none stops the run
            steps[name] = {"error": {"message": traceback.format_exc()}}

    step("register v1", lambda c: c.register_schema(subject, V1))
    step("lookup_schema v1", lambda c: registered(c.lookup_schema(subject, V1)))
    step("register v1 with its keys reordered", lambda c: c.register_schema(subject, V1_REORDERED))
    step("test_compatibility v2 with latest", lambda c: c.test_compatibility(subject, V2))
    step("test_compatibility v2 with version 1", lambda c: c.test_compatibility(subject, V2, version=1))
    step(
        "test_compatibility v2 with latest, verbose",
        lambda c: c.test_compatibility(subject, V2, verbose=True),
    )
    step("test_compatibility breaking with latest", lambda c: c.test_compatibility(subject, BREAKING))
    step(
        "test_compatibility_all_versions breaking",
        lambda c: c.test_compatibility_all_versions(subject, BREAKING),
    )
    step("register v2", lambda c: c.register_schema(subject, V2))
    step("register v2 again", lambda c: c.register_schema(subject, V2))
    step("register breaking", lambda c: c.register_schema(subject, BREAKING))
    step("get_latest_version", lambda c: registered(c.get_latest_version(subject)))
    step("get_version 1", lambda c: registered(c.get_version(subject, 1)))
    step("get_subjects", lambda c: c.get_subjects())
    step("get_versions", lambda c: c.get_versions(subject))
    v1_id = steps["register v1"].get("ok")

    def by_id(c):
        s = c.get_schema(v1_id)
        return {"schema": s.schema_str, "schemaType": s.schema_type}

    step("get_schema v1 id", by_id)
    step(
        "get_schema_versions v1 id",
        lambda c: [{"subject": v.subject, "version": v.version} for v in c.get_schema_versions(v1_id)],
    )
    step("get_subjects_by_schema_id v1 id", lambda c: c.get_subjects_by_schema_id(v1_id))
    step("get_schema_types", lambda c: c.get_schema_types())
    step("get_compatibility global", lambda c: c.get_compatibility())
    step("set_compatibility FULL", lambda c: c.set_compatibility(subject, "FULL"))
    step("get_compatibility", lambda c: c.get_compatibility(subject))
    step("lookup_schema unregistered", lambda c: registered(c.lookup_schema(subject, BREAKING)))
    step("lookup_schema unknown subject", lambda c: registered(c.lookup_schema("interop-None", V1)))
    step("get_latest_version unknown subject", lambda c: registered(c.get_latest_version("interop-None")))
    step("get_schema unknown id", lambda c: c.get_schema(999999).schema_str)
    step("get_version unknown", lambda c: registered(c.get_version(subject, 99)))
    step("register referenced", lambda c: c.register_schema("interop-Address", ADDRESS))
    step("register with a reference", lambda c: c.register_schema("interop-Customer", CUSTOMER))
    customer_id = steps["register with a reference"].get("ok")
    step(
        "get_schema with a reference",
        lambda c: [r.to_dict() for r in c.get_schema(customer_id).references],
    )
    step("get_referenced_by", lambda c: c.get_referenced_by("interop-Address", 1))
    step("lookup_schema with a reference", lambda c: registered(c.lookup_schema("interop-Customer", CUSTOMER)))

    def round_trip(c):
        serializer = AvroSerializer(
            c,
            CUSTOMER,
            conf={"auto.register.schemas": False, "subject.name.strategy": lambda ctx, name: "interop-Customer"},
        )
        customer = {"name": "Ada", "address": {"street": "1 Main St"}}
        return AvroDeserializer(client(url))(serializer(customer, CONTEXT), CONTEXT)

    step("serialize and deserialize with a reference", round_trip)
    step("delete_subject referenced", lambda c: c.delete_subject("interop-Address"))
    step("delete_version 2", lambda c: c.delete_version(subject, 2))
    step("get_versions after delete_version", lambda c: c.get_versions(subject))
    step("get_versions including deleted", lambda c: c.get_versions(subject, deleted=True))
    step("delete_subject", lambda c: c.delete_subject(subject))
    step("get_subjects after delete_subject", lambda c: c.get_subjects())
    step("get_subjects including deleted", lambda c: c.get_subjects(deleted=True))
    step("get_schema v1 id after delete_subject", by_id)
    step("delete_subject permanently", lambda c: c.delete_subject(subject, permanent=True))
    step("get_schema v1 id after permanent delete", by_id)
    step("get_subjects including deleted after permanent delete", lambda c: c.get_subjects(deleted=True))
    print(json.dumps({"client": CLIENT, "steps": steps}))


def serialize(url, schema_file, order_json):
    with open(schema_file) as f:
        schema = f.read()
    order = json.loads(order_json)
    framed = {}
    # Registering the schema (or finding it registered), then, as a producer that may
    # not register, looking it up.
    for mode, register in [("registered", True), ("looked up", False)]:
        serializer = AvroSerializer(
            client(url),
            schema,
            conf={
                "auto.register.schemas": register,
                "subject.name.strategy": topic_record_subject_name_strategy,
            },
        )
        framed[mode] = serializer(order, CONTEXT).hex()
    print(json.dumps({"client": CLIENT, "framed": framed}))


def deserialize(url):
    deserializer = AvroDeserializer(client(url))
    records = []
    for line in sys.stdin:
        if line.strip():
            topic, value = line.split()
            records.append(deserializer(bytes.fromhex(value), SerializationContext(topic, MessageField.VALUE)))
    print(json.dumps({"client": CLIENT, "records": records}))


def consume(bootstrap, topic, url, *order_ids):
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"interop-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    registry = client(url)
    deserializer = AvroDeserializer(registry)
    names = {}
    wanted = set(order_ids)
    records = []
    deadline = time.monotonic() + 60
    consumer.subscribe([topic])
    try:
        while wanted and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                raise KafkaException(message.error())
            value = message.value()
            # Confluent's framing: a zero byte, then the writer schema's id.
            schema_id = int.from_bytes(value[1:5], "big")
            if schema_id not in names:
                name = json.loads(registry.get_schema(schema_id).schema_str)["name"]
                names[schema_id] = name.rsplit(".", 1)[-1]
            key = message.key().decode()
            records.append(
                {
                    "key": key,
                    "partition": message.partition(),
                    "offset": message.offset(),
                    "schema": names[schema_id],
                    "value": deserializer(value, SerializationContext(message.topic(), MessageField.VALUE)),
                }
            )
            if names[schema_id] == "OrderCreated":
                wanted.discard(key)
    finally:
        consumer.close()
    print(json.dumps({"client": CLIENT, "records": records}))


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"flows": flows, "serialize": serialize, "deserialize": deserialize, "consume": consume}[command](*args)
