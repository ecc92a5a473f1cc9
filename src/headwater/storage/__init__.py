"""One filesystem layer over fsspec for the storage processors (file, s3, ftp, hdfs)."""

from headwater.storage.filesystem import (
    APPEND,
    FAIL,
    IGNORE,
    REPLACE,
    PutResult,
    Storage,
    StorageConflict,
    StorageError,
    StorageNotFound,
    open_storage,
    plain_filename,
)

__all__ = [
    "APPEND",
    "FAIL",
    "IGNORE",
    "REPLACE",
    "PutResult",
    "Storage",
    "StorageConflict",
    "StorageError",
    "StorageNotFound",
    "open_storage",
    "plain_filename",
]
