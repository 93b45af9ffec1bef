# Mistake: I never committed: my own SELECT saw the changes, and closing the connection threw them away.
# fails: stored, commits
"""A wrong solution for the pg-crud lab: see the two comment lines above."""
import os

import psycopg2

DSN = os.environ.get("WIRELAB_DB_DSN", "dbname=wirelab")

NEW = [
    ("Grace Hopper", "grace@navy.example"),
    ("Siobhán O'Brien", "siobhan@example.ie"),
    ("Robert'); DROP TABLE contacts;--", "bobby@tables.example"),
]


def main():
    conn = psycopg2.connect(DSN)
    try:
        if True:
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO contacts (name, email) VALUES (%s, %s)", NEW)
                cur.execute("UPDATE contacts SET email = %s WHERE name = %s",
                            ("ada@lovelace.example", "Ada Lovelace"))
                cur.execute("DELETE FROM contacts WHERE name = %s", ("Charles Babbage",))
                cur.execute("SELECT name, email FROM contacts ORDER BY name")
                for name, email in cur.fetchall():
                    print(f"{name} <{email}>")
    finally:
        conn.close()


if __name__ == "__main__":
    main()
