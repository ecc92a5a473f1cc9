"""One filesystem layer over fsspec for the storage processors (file, s3, ftp, hdfs)."""

from headwater.storage.filesystem import (
    FAIL,
    IGNORE,
    REPLACE,
    Storage,
    StorageError,
    StorageNotFound,
    open_storage,
)

__all__ = [
    "FAIL",
    "IGNORE",
    "REPLACE",
    "Storage",
    "StorageError",
    "StorageNotFound",
    "open_storage",
]
