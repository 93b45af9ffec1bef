# Mistake: I debited first: the result is right here, but not what the task asked — and the credit that a rollback must undo is never made.
# fails: credit-then-debit
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
        cur.execute("UPDATE accounts SET balance = balance - %s WHERE id = %s", (amount, payer))
        cur.execute("UPDATE accounts SET balance = balance + %s WHERE id = %s", (amount, payee))


def main():
    payer, payee, amount = int(sys.argv[1]), int(sys.argv[2]), Decimal(sys.argv[3])
    conn = psycopg2.connect(DSN)
    try:
        transfer(conn, payer, payee, amount)
    except psycopg2.errors.CheckViolation:
        print(f"refused: account {payer} cannot pay {amount}; nothing was moved", file=sys.stderr)
        sys.exit(1)
    finally:
        conn.close()
    print(f"moved {amount} from {payer} to {payee}")


if __name__ == "__main__":
    main()
