"""Reads an Open311 endpoint with the `georeport` client library, in JSON and XML.

Reads {"endpoint", "jurisdiction", "service_code", "request_id"} on stdin and prints
what the library understood, per format, as JSON.
"""
import json
import sys

from georeport import GeoReport

case = json.load(sys.stdin)


def as_list(value):
    return value if isinstance(value, list) else [value]


seen = {}
for output_format in ("json", "xml"):
    client = GeoReport(case["endpoint"], jurisdiction=case["jurisdiction"], output_format=output_format)
    services = as_list(client.get_service_list())
    definition = client.get_service_definition(case["service_code"])
    attributes = definition["attributes"]
    if output_format == "xml":
        attributes = as_list(attributes["attribute"])
    requests = as_list(client.get_service_requests(service_code=case["service_code"], status="open"))
    one = client.get_service_request(case["request_id"])
    seen[output_format] = {
        "service_codes": sorted(service["service_code"] for service in services),
        "attribute_codes": [attribute["code"] for attribute in attributes],
        "request_ids": [request["service_request_id"] for request in requests],
        "one": {key: one[key] for key in ("service_request_id", "status", "service_code", "description")},
    }
print(json.dumps(seen))
