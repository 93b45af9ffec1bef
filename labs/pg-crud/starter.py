"""pg-crud: add, change, delete and list contacts in PostgreSQL with psycopg2.

Connect with psycopg2.connect(os.environ["WIRELAB_DB_DSN"]). Use %s
parameters for every value, commit once, print 'name <email>' by name.
"""
import os

import psycopg2

DSN = os.environ.get("WIRELAB_DB_DSN", "dbname=wirelab")

NEW = [
    ("Grace Hopper", "grace@navy.example"),
    ("Siobhán O'Brien", "siobhan@example.ie"),
    ("Robert'); DROP TABLE contacts;--", "bobby@tables.example"),
]

# TODO
