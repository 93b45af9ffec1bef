"""pg-transfer: move money between two accounts, atomically.

Usage: transfer.py FROM TO AMOUNT. Credit TO, then debit FROM, in one
transaction (psycopg2.connect(os.environ["WIRELAB_BANK_DSN"])). If the
debit is refused (CheckViolation), roll back, say so on stderr, exit 1.
"""
import os
import sys

import psycopg2

DSN = os.environ.get("WIRELAB_BANK_DSN", "dbname=bank")

# TODO
