"""The SQLite store: location, schema, connection, blobs and the run repository."""

from .blobs import BlobStore, sha256_hex
from .connection import Store
from .location import StoreLocation, resolve_store
from .runs import RunRepository
from .schema import SCHEMA_VERSION

__all__ = ["BlobStore", "RunRepository", "SCHEMA_VERSION", "Store", "StoreLocation", "resolve_store", "sha256_hex"]
