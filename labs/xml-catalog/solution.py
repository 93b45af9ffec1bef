"""A solution for the xml-catalog lab: the available cars of the XML
catalogue, posted to the REST API as JSON with numbers and booleans."""
import os
import xml.etree.ElementTree as ET

import requests

BASE = os.environ.get("WIRELAB_API_URL", "http://localhost:3000")
NS = {"g": "urn:wirelab:garage"}


def to_bool(text):
    if text not in ("true", "false"):
        raise ValueError(f"not a boolean: {text!r}")
    return text == "true"


def import_catalog():
    resp = requests.get(BASE + "/catalog.xml", timeout=5)
    resp.raise_for_status()
    root = ET.fromstring(resp.content)
    imported = 0
    with requests.Session() as http:
        for car in root.findall("g:car", NS):
            if car.get("status") != "available":
                continue
            body = {
                "id": int(car.get("id")),
                "brand": car.find("g:brand", NS).text,
                "model": car.find("g:model", NS).text,
                "production_year": int(car.find("g:year", NS).text),
                "convertible": to_bool(car.find("g:convertible", NS).text),
            }
            http.post(BASE + "/cars", json=body, timeout=5).raise_for_status()
            imported += 1
    print(f"imported {imported} cars")


if __name__ == "__main__":
    import_catalog()
