# Mistake: I loaded every product and kept the low ones in Python: the database sends everything, and the report slows down with the shop.
# fails: filters-in-sql
"""A wrong solution for the orm-inventory lab: see the two comment lines above."""
import os

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, joinedload

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


def main():
    engine = create_engine(URL)
    with Session(engine) as session:
        query = (
            select(Product)
            .options(joinedload(Product.supplier))
            .order_by(Product.name)
        )
        for product in session.scalars(query):
            if product.qty < 5:
                print(product.name, product.qty, product.supplier.name)
    engine.dispose()


if __name__ == "__main__":
    main()
