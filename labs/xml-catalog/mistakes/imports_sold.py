# Mistake: I imported every car of the catalogue, the sold ones too, without looking at the status attribute.
# fails: post-json, only-available, prints-count
"""A wrong solution for the xml-catalog lab: see the two comment lines above."""
import os
import xml.etree.ElementTree as ET

import requests

BASE = os.environ.get("WIRELAB_API_URL", "http://localhost:3000")
NS = {"g": "urn:wirelab:garage"}

resp = requests.get(BASE + "/catalog.xml", timeout=5)
resp.raise_for_status()
root = ET.fromstring(resp.content)
imported = 0
for car in root.findall("g:car", NS):
    body = {
        "id": int(car.get("id")),
        "brand": car.find("g:brand", NS).text,
        "model": car.find("g:model", NS).text,
        "production_year": int(car.find("g:year", NS).text),
        "convertible": car.find("g:convertible", NS).text == "true",
    }
    requests.post(BASE + "/cars", json=body, timeout=5).raise_for_status()
    imported += 1
print(f"imported {imported} cars")
