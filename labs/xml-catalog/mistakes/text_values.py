# Mistake: I copied the XML text into the JSON as it was, so the year and the convertible flag arrived as strings ("1962", "false").
# fails: cars-stored, typed-json
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
    if car.get("status") != "available":
        continue
    body = {"id": int(car.get("id"))}
    for field, tag in (("brand", "brand"), ("model", "model"), ("production_year", "year"), ("convertible", "convertible")):
        body[field] = car.find("g:" + tag, NS).text
    requests.post(BASE + "/cars", json=body, timeout=5).raise_for_status()
    imported += 1
print(f"imported {imported} cars")
