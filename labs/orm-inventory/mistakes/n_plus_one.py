# Mistake: I read product.supplier in the loop without loading the suppliers: every new supplier costs one more SELECT (N+1 queries).
# fails: few-queries
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
            .where(Product.qty < 5)
            .order_by(Product.name)
        )
        for product in session.scalars(query):
            print(product.name, product.qty, product.supplier.name)
    engine.dispose()


if __name__ == "__main__":
    main()
