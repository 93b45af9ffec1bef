# Mistake: I caught the error and carried on as if the transfer had worked: the database undid it, but my script says it moved the money and exits 0.
# fails: exit-refused
"""A wrong solution for the pg-transfer lab: see the two comment lines above."""
import os
import sys
from decimal import Decimal

import psycopg2

DSN = os.environ.get("WIRELAB_BANK_DSN", "dbname=bank")


def transfer(conn, payer, payee, amount):
    # `with conn` commits when the block ends and rolls back when an
    # exception leaves it: both UPDATEs or neither.
    with conn, conn.cursor() as cur:
        cur.execute("UPDATE accounts SET balance = balance + %s WHERE id = %s", (amount, payee))
        cur.execute("UPDATE accounts SET balance = balance - %s WHERE id = %s", (amount, payer))


def main():
    payer, payee, amount = int(sys.argv[1]), int(sys.argv[2]), Decimal(sys.argv[3])
    conn = psycopg2.connect(DSN)
    try:
        transfer(conn, payer, payee, amount)
    except psycopg2.errors.CheckViolation:
        pass
    finally:
        conn.close()
    print(f"moved {amount} from {payer} to {payee}")


if __name__ == "__main__":
    main()
