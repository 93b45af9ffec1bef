# Mistake: I searched for "car" without the catalogue's namespace, so findall() found no car at all and nothing was posted.
# fails: post-json, only-available, prints-count
"""A wrong solution for the xml-catalog lab: see the two comment lines above."""
import os
import xml.etree.ElementTree as ET

import requests

BASE = os.environ.get("WIRELAB_API_URL", "http://localhost:3000")

resp = requests.get(BASE + "/catalog.xml", timeout=5)
resp.raise_for_status()
root = ET.fromstring(resp.content)
imported = 0
for car in root.findall("car"):
    if car.get("status") != "available":
        continue
    body = {
        "id": int(car.get("id")),
        "brand": car.find("brand").text,
        "model": car.find("model").text,
        "production_year": int(car.find("year").text),
        "convertible": car.find("convertible").text == "true",
    }
    requests.post(BASE + "/cars", json=body, timeout=5).raise_for_status()
    imported += 1
print(f"imported {imported} cars")
