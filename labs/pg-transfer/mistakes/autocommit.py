# Mistake: I turned autocommit on: each UPDATE is its own transaction, so the credit stays when the debit is refused.
# fails: nothing-moved, one-transaction, rolls-back
"""A wrong solution for the pg-transfer lab: see the two comment lines above."""
import os
import sys
from decimal import Decimal

import psycopg2

DSN = os.environ.get("WIRELAB_BANK_DSN", "dbname=bank")


def transfer(conn, payer, payee, amount):
    with conn.cursor() as cur:
        cur.execute("UPDATE accounts SET balance = balance + %s WHERE id = %s", (amount, payee))
        cur.execute("UPDATE accounts SET balance = balance - %s WHERE id = %s", (amount, payer))


def main():
    payer, payee, amount = int(sys.argv[1]), int(sys.argv[2]), Decimal(sys.argv[3])
    conn = psycopg2.connect(DSN)
    conn.autocommit = True  # every statement commits on its own
    try:
        transfer(conn, payer, payee, amount)
    except psycopg2.errors.CheckViolation:
        conn.rollback()  # nothing to roll back: the credit is already committed
        print(f"refused: account {payer} cannot pay {amount}; nothing was moved", file=sys.stderr)
        sys.exit(1)
    finally:
        conn.close()
    print(f"moved {amount} from {payer} to {payee}")


if __name__ == "__main__":
    main()
