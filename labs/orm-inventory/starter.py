"""orm-inventory: products with fewer than 5 in stock, with their supplier.

Print '<name> <qty> <supplier>' for each, ordered by name, in one or two
queries (let the database filter; load the suppliers with the products).
"""
import os

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, joinedload  # noqa: F401

from sqlalchemy import Column, ForeignKey, Integer, String
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()


class Supplier(Base):
    __tablename__ = "suppliers"
    id = Column(Integer, primary_key=True)
    name = Column(String(40), nullable=False)


class Product(Base):
    __tablename__ = "products"
    id = Column(Integer, primary_key=True)
    name = Column(String(40), nullable=False)
    qty = Column(Integer, nullable=False)
    supplier_id = Column(Integer, ForeignKey("suppliers.id"), nullable=False)
    supplier = relationship(Supplier)


URL = os.environ.get("WIRELAB_DB_URL", "postgresql://localhost/shop").replace("postgresql://", "postgresql+psycopg2://")

# TODO
