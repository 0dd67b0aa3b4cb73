"""Parses each XML document of a JSON object {name: text} with expat, which refuses
every character XML 1.0 does not allow; prints the names that parsed."""
import json
import sys
import xml.parsers.expat

documents = json.load(sys.stdin)
for name, text in documents.items():
    parser = xml.parsers.expat.ParserCreate()
    try:
        parser.Parse(text.encode("utf-8"), True)
    except xml.parsers.expat.ExpatError as error:
        sys.exit(f"{name} is not well-formed XML: {error}")
    print(name)
