"""Baseline: a straightforward Python/boto3 open-data export over the same table layout.

Lists organisation ids from GSI1, reads each organisation partition (consistent
Query), builds the whole public JSON in memory, and writes it with one PutObject.
Bodies are zlib-compressed binary `Data` attributes (plain strings in older tables).
Usage: baseline_export.py TABLE BUCKET  (endpoints from AWS_ENDPOINT_URL_*)
"""
import hashlib, json, resource, sys, time, zlib
import boto3
from boto3.dynamodb.conditions import Key

ORG_FIELDS = ["OrganisationId", "Status", "OrganisationName", "CreatedOn", "LegalEntityName",
              "CountryOfRegistration", "CompanyRegister", "Tags", "Flags", "Size", "RegistrationNumber",
              "RegistrationId", "RegisteredName", "AddressLine1", "AddressLine2", "City", "Postcode",
              "Country", "ParentOrganisationReference"]


def flag_map(flags):
    out = {}
    for f in flags:
        if f.get("Status", "Active") == "Active" and f.get("AccessLevel") == 0 and "Name" in f:
            out.setdefault(f["Name"], [])
            if "Value" in f:
                out[f["Name"]].append(f["Value"])
    return dict(sorted(out.items()))


def decoded(item):
    data = item.get("Data")
    return json.loads(zlib.decompress(data.value) if hasattr(data, "value") else data)


def main(table_name, bucket):
    started = time.time()
    dynamodb = boto3.resource("dynamodb")
    table = dynamodb.Table(table_name)
    rcu = 0.0
    ids, kwargs = [], {"IndexName": "GSI1", "KeyConditionExpression": Key("GSI1PK").eq("ORGS"),
                       "ReturnConsumedCapacity": "TOTAL"}
    while True:
        page = table.query(**kwargs)
        rcu += page.get("ConsumedCapacity", {}).get("CapacityUnits", 0)
        ids += [i["GSI1SK"] for i in page["Items"]]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    result = []
    for org_id in ids:
        pk = "ORG#" + org_id.replace("%", "%25").replace("#", "%23")
        items, kwargs = [], {"KeyConditionExpression": Key("PK").eq(pk), "ConsistentRead": True,
                             "ReturnConsumedCapacity": "TOTAL"}
        while True:
            page = table.query(**kwargs)
            rcu += page.get("ConsumedCapacity", {}).get("CapacityUnits", 0)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        details, servers, resources, domain_claims, claims = None, [], {}, [], []
        for item in items:
            sk = item["SK"]
            if sk == "ORG":
                details = decoded(item)
            elif sk.startswith("AS#") and "#RES#" in sk:
                resources.setdefault(sk.split("#RES#")[0], []).append(decoded(item))
            elif sk.startswith("AS#"):
                servers.append((sk, decoded(item)))
            elif sk.startswith("DOMAINCLAIM#"):
                domain_claims.append(decoded(item))
            elif sk.startswith("CLAIM#"):
                claims.append(decoded(item))
        if details is None:
            continue
        org = {}
        for f in ORG_FIELDS:
            if f == "Tags":
                org["Tags"] = details.get("Tags", [])
            elif f == "Flags":
                org["Flags"] = flag_map(details.get("Flags", []))
            elif f in details:
                org[f] = details[f]
        out_servers = []
        for sk, s in servers:
            s = dict(s)
            s["ApiResources"] = resources.get(sk, [])
            s["Flags"] = flag_map(s.get("Flags", []))
            out_servers.append(s)
        org["AuthorisationServers"] = out_servers
        org["OrgDomainClaims"] = domain_claims
        for c in claims:
            c.pop("AuthorisationDomainID", None)
            c.pop("AuthorisationDomainRoleIdentifier", None)
        org["OrgDomainRoleClaims"] = claims
        result.append(org)
    body = json.dumps(result, separators=(",", ":"), ensure_ascii=False).encode()
    s3 = boto3.client("s3")
    try:
        s3.create_bucket(Bucket=bucket)
    except Exception:
        pass
    s3.put_object(Bucket=bucket, Key="participants", Body=body, ContentType="application/json")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"python baseline: {len(result)} organisations, {time.time() - started:.2f} s, peak RSS {rss:.1f} MiB, "
          f"{len(body)} bytes, {rcu:.1f} RCU, sha256 {hashlib.sha256(body).hexdigest()}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
