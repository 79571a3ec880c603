"""Interop with the official Confluent Python client (confluent-kafka).

serialize REGISTRY_URL SCHEMA_FILE ORDER_JSON
    Serialises ORDER_JSON as OrderCreated with AvroSerializer against orderflow's
    registry (registering or looking up the schema under orders-OrderCreated) and
    prints the Confluent-framed bytes as hex.

deserialize REGISTRY_URL BUS_DB
    Reads every record of the `orders` topic from orderflow's embedded bus and prints
    each as one JSON line, decoded by AvroDeserializer with the writer schema that the
    record's schema id names in orderflow's registry.
"""

import json
import sqlite3
import sys

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

CONTEXT = SerializationContext("orders", MessageField.VALUE)


def topic_record_name(ctx, record_name):
    return f"{ctx.topic}-{record_name}"


def serialize(url, schema_file, order_json):
    client = SchemaRegistryClient({"url": url})
    with open(schema_file) as f:
        schema = f.read()
    serializer = AvroSerializer(
        client,
        schema,
        conf={"auto.register.schemas": True, "subject.name.strategy": topic_record_name},
    )
    print(serializer(json.loads(order_json), CONTEXT).hex())


def deserialize(url, bus_db):
    client = SchemaRegistryClient({"url": url})
    deserializer = AvroDeserializer(client)
    db = sqlite3.connect(bus_db)
    rows = db.execute("SELECT value FROM records WHERE topic = 'orders' ORDER BY seq")
    for (value,) in rows:
        print(json.dumps(deserializer(value, CONTEXT)))


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"serialize": serialize, "deserialize": deserialize}[command](*args)
