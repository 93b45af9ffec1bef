"""The sql service: PostgreSQL's protocol in front of SQLite, proven with
clients no one here wrote — psql, psycopg2, pg8000 and SQLAlchemy (Core and
ORM) — for connecting (trust, cleartext and md5), types, parameters,
transactions and the SQLSTATE codes drivers map to exceptions; every
statement journaled; junk on the port answered and survived."""
import decimal
import os
import socket
import struct
import subprocess
import unittest

import pg8000
import psycopg2
import psycopg2.errors

from wltest import SOURCE, ServedLab, main

FIXTURE = os.path.join(SOURCE, "tests", "integration", "pg_fixtures")


class Postgres(ServedLab):
    LAB = FIXTURE

    def connect(self, **kw):
        args = dict(host="127.0.0.1", port=self.up.port("db"), user="learner", password="secret", dbname="wirelab")
        args.update(kw)
        return psycopg2.connect(**args)

    def test_psql_runs_queries(self):
        env = dict(os.environ, PGPASSWORD="secret")
        r = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.up.port("db")), "-U", "learner", "-d", "wirelab",
                            "-At", "-c", "SELECT brand, year FROM cars WHERE id = 1", "-c", "SELECT 1 + 1"],
                           capture_output=True, text=True, env=env, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "Volvo|1985\n2\n")

    def test_psycopg2_types_and_parameters(self):
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT id, brand, price, sold, year FROM cars WHERE brand = %s", ("Volvo",))
            self.assertEqual(cur.fetchall(), [(1, "Volvo", decimal.Decimal("12000.5"), False, 1985)])
            cur.execute("INSERT INTO cars (brand, price) VALUES (%s, %s) RETURNING id", ("O'Brien's", 9.5))
            new_id = cur.fetchone()[0]
            self.assertEqual(cur.statusmessage, "INSERT 0 1")
            cur.execute("SELECT brand FROM cars WHERE id = %s", (new_id,))
            self.assertEqual(cur.fetchone(), ("O'Brien's",))
            conn.rollback()

    def test_errors_map_to_the_drivers_exceptions(self):
        conn = self.connect()
        cur = conn.cursor()
        with self.assertRaises(psycopg2.errors.UniqueViolation):
            cur.execute("INSERT INTO cars (brand) VALUES ('Volvo')")
        with self.assertRaises(psycopg2.errors.InFailedSqlTransaction):
            cur.execute("SELECT 1")
        conn.rollback()
        with self.assertRaises(psycopg2.errors.UndefinedTable):
            cur.execute("SELECT * FROM nope")
        conn.rollback()
        with self.assertRaises(psycopg2.errors.SyntaxError):
            cur.execute("SELEC 1")
        conn.rollback()
        with self.assertRaises(psycopg2.errors.NotNullViolation):
            cur.execute("INSERT INTO cars (price) VALUES (1)")
        conn.rollback()
        conn.close()

    def test_a_rollback_undoes_and_a_commit_keeps(self):
        conn = self.connect()
        cur = conn.cursor()
        cur.execute("INSERT INTO cars (brand) VALUES ('Ghost')")
        conn.rollback()
        cur.execute("SELECT count(*) FROM cars WHERE brand = 'Ghost'")
        self.assertEqual(cur.fetchone(), (0,))
        cur.execute("INSERT INTO cars (brand) VALUES ('Kept')")
        conn.commit()
        conn.close()
        with self.connect() as other, other.cursor() as c2:
            c2.execute("SELECT count(*) FROM cars WHERE brand = 'Kept'")
            self.assertEqual(c2.fetchone(), (1,))
        rows = self.journal_rows("SELECT verb, tag, tx_before, tx_after FROM sql WHERE text LIKE '%Ghost%' "
                                 "OR verb IN ('ROLLBACK') ORDER BY id LIMIT 2")
        self.assertEqual(rows[0], ("INSERT", "INSERT 0 1", "T", "T"))

    def test_an_open_reading_transaction_does_not_hold_up_another_commit(self):
        # psycopg2 opens a transaction with the first statement: a script with
        # two connections has one reading in a transaction while the other
        # writes. PostgreSQL lets the writer commit; so must wirelab.
        reader, writer = self.connect(), self.connect()
        try:
            rc = reader.cursor()
            rc.execute("SELECT count(*) FROM cars")
            self.assertEqual(reader.get_transaction_status(), psycopg2.extensions.TRANSACTION_STATUS_INTRANS)
            wc = writer.cursor()
            wc.execute("INSERT INTO cars (brand) VALUES ('Concurrent')")
            writer.commit()
            reader.commit()
            rc.execute("SELECT count(*) FROM cars WHERE brand = 'Concurrent'")
            self.assertEqual(rc.fetchone(), (1,))
            wc.execute("DELETE FROM cars WHERE brand = 'Concurrent'")
            writer.commit()
        finally:
            reader.close()
            writer.close()

    def test_pg8000_uses_real_parameters(self):
        conn = pg8000.connect(user="learner", password="secret", host="127.0.0.1", port=self.up.port("db"),
                              database="wirelab")
        cur = conn.cursor()
        cur.execute("SELECT id, brand, sold, year FROM cars WHERE year > %s", (1900,))
        self.assertEqual(cur.fetchall(), ([1, "Volvo", False, 1985],))
        cur.execute("SELECT count(*), max(brand) FROM cars")
        self.assertEqual(cur.fetchall()[0][1], "Volvo")
        conn.rollback()
        conn.close()
        rows = self.journal_rows("SELECT protocol, parameterised, params FROM sql WHERE text LIKE '%year > $1%'")
        self.assertEqual(rows, [("extended", 1, '["1900"]')])

    def test_sqlalchemy_core_and_orm(self):
        from sqlalchemy import Column, Integer, String, create_engine, func, select
        from sqlalchemy.orm import Session, declarative_base
        engine = create_engine(f"postgresql+psycopg2://learner:secret@127.0.0.1:{self.up.port('db')}/wirelab")
        Base = declarative_base()

        class Part(Base):
            __tablename__ = "parts"
            id = Column(Integer, primary_key=True)
            name = Column(String(50), nullable=False)
            qty = Column(Integer, default=0)

        Base.metadata.create_all(engine)
        Base.metadata.create_all(engine)  # the second time, the table is found
        with Session(engine) as s:
            s.add_all([Part(name="bolt", qty=3), Part(name="nut", qty=5)])
            s.commit()
            got = [(p.id, p.name, p.qty) for p in s.scalars(select(Part).order_by(Part.id))]
            self.assertEqual(got, [(1, "bolt", 3), (2, "nut", 5)])
            self.assertEqual(s.execute(select(func.count()).select_from(Part)).scalar(), 2)
        engine.dispose()

    def test_trust_and_cleartext_authentication(self):
        with psycopg2.connect(host="127.0.0.1", port=self.up.port("open"), user="anyone", dbname="x") as c:
            with c.cursor() as cur:
                cur.execute("SELECT current_user, version()")
                user, version = cur.fetchone()
                self.assertTrue(version.startswith("PostgreSQL 15"))
        with psycopg2.connect(host="127.0.0.1", port=self.up.port("plain"), user="app", password="pw", dbname="x"):
            pass
        with self.assertRaisesRegex(psycopg2.OperationalError, "password authentication failed"):
            psycopg2.connect(host="127.0.0.1", port=self.up.port("plain"), user="app", password="bad", dbname="x")
        with self.assertRaisesRegex(psycopg2.OperationalError, "password authentication failed"):
            self.connect(password="wrong")

    def test_junk_on_the_port_is_answered_and_survived(self):
        port = self.up.port("db")
        for junk in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", struct.pack("!ii", 8, 1234) ,
                     b"\x00\x00\x00\x05X" * 3, os.urandom(64)):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(junk)
                data = b""
                try:
                    while True:
                        b = s.recv(4096)
                        if not b:
                            break
                        data += b
                except socket.timeout:
                    self.fail(f"no answer and no close for {junk!r}")
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
            self.assertEqual(cur.fetchone(), (1,), "the service survives junk")

    def test_every_statement_is_journaled(self):
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT brand FROM cars WHERE id = %s", (1,))
        rows = self.journal_rows("SELECT text, protocol, tag, rows FROM sql WHERE text = 'SELECT brand FROM cars WHERE id = 1'")
        self.assertEqual(rows, [("SELECT brand FROM cars WHERE id = 1", "simple", "SELECT 1", 1)])


if __name__ == "__main__":
    main()
