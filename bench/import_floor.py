"""The emulator's floor for the import benchmark: how many organisations per second
DynamoDB Local accepts when a client only writes (no reads, no conditions, no audit),
20 items of 450 bytes per organisation (the generated file's average is 19.5 items
with the audit record and version items), 8 writers like the import. Prints figures,
asserts nothing. Usage: python import_floor.py [organisations]
"""
import concurrent.futures
import os
import sys
import time

import boto3

ORGS = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
ITEMS = 20
WRITERS = 8
TABLE = "bench-import-floor"

client = boto3.client("dynamodb")
try:
    client.delete_table(TableName=TABLE)
except client.exceptions.ResourceNotFoundException:
    pass
client.create_table(
    TableName=TABLE,
    KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
    AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in ("PK", "SK")],
    BillingMode="PAY_PER_REQUEST",
)
body = os.urandom(450)


def item(prefix, i, j):
    return {"PK": {"S": f"{prefix}#{i:08d}"}, "SK": {"S": f"K#{j:03d}"}, "Data": {"B": body}}


def batch(i):
    puts = [{"PutRequest": {"Item": item("BATCH", i, j)}} for j in range(ITEMS)]
    for k in range(0, ITEMS, 25):
        pending = {TABLE: puts[k : k + 25]}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems")


def transaction(i):
    client.transact_write_items(TransactItems=[{"Put": {"TableName": TABLE, "Item": item("TXN", i, j)}} for j in range(ITEMS)])


for name, write in (("BatchWriteItem", batch), ("TransactWriteItems, one per organisation", transaction)):
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(write, range(ORGS)))
    took = time.monotonic() - started
    print(f"floor, {name}: {ORGS} organisations x {ITEMS} items in {took:.1f} s = {ORGS / took:.0f} organisations/s")
client.delete_table(TableName=TABLE)
