"""pg-transfer: a reference solution."""
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
        print(f"refused: account {payer} cannot pay {amount}; nothing was moved", file=sys.stderr)
        sys.exit(1)
    finally:
        conn.close()
    print(f"moved {amount} from {payer} to {payee}")


if __name__ == "__main__":
    main()
