"""FetchFile: replace each FlowFile's content with a file's, then tidy the file away.

The file is moved or deleted (Completion Strategy) only after the session holding its
content has committed: until then a crash or rollback leaves the file where it was.
"""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.errors import Problem, ProcessException
from headwater.flowfile import FlowFile
from headwater.processor import InputRequirement, Processor, Property, Relationship

NONE, MOVE, DELETE = "None", "Move File", "Delete File"
RENAME, REPLACE, KEEP_EXISTING, FAIL = "Rename", "Replace File", "Keep Existing", "Fail"
LOG_LEVELS = {
    "TRACE": 5,
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARN": logging.WARNING,
    "ERROR": logging.ERROR,
    "FATAL": logging.CRITICAL,
    "NONE": 0,
}


def _renamed(name: str) -> str:
    """``name`` made unique: ``report-<uuid>.csv``."""
    stem, dot, suffix = name.rpartition(".")
    if not stem:
        return f"{name}-{uuid.uuid4()}"
    return f"{stem}-{uuid.uuid4()}{dot}{suffix}"


class FetchFile(Processor):
    """Reads a file named by each incoming FlowFile (usually from ListFile) into that
    FlowFile's content; then leaves, moves or deletes the file."""

    tags = ("local", "files", "filesystem", "ingest", "ingress", "get", "source", "input", "fetch")
    input_requirement = InputRequirement.REQUIRED

    SUCCESS = Relationship("success", "FlowFiles whose file was fetched.")
    NOT_FOUND = Relationship("not.found", "FlowFiles whose file does not exist.")
    PERMISSION_DENIED = Relationship("permission.denied", "FlowFiles whose file may not be read.")
    FAILURE = Relationship(
        "failure", "FlowFiles whose file could not be fetched for another reason."
    )

    file_to_fetch = Property(
        "File to Fetch",
        "The full name of the file to fetch",
        default="${absolute.path}/${filename}",
        required=True,
        expression=True,
    )
    completion = Property(
        "Completion Strategy",
        "What to do with the file once fetched",
        default=NONE,
        required=True,
        allowed=(NONE, MOVE, DELETE),
    )
    move_directory = Property(
        "Move Destination Directory",
        "Where Move File puts the file (created if missing)",
        expression=True,
    )
    move_conflict = Property(
        "Move Conflict Strategy",
        "What Move File does when the destination already has a file of that name",
        default=RENAME,
        required=True,
        allowed=(RENAME, REPLACE, KEEP_EXISTING, FAIL),
    )
    not_found_level = Property(
        "Log level when file not found",
        "Level to log at when the file does not exist",
        default="ERROR",
        required=True,
        allowed=tuple(LOG_LEVELS),
    )
    denied_level = Property(
        "Log level when permission denied",
        "Level to log at when the file may not be read",
        default="ERROR",
        required=True,
        allowed=tuple(LOG_LEVELS),
    )

    @classmethod
    def custom_validate(cls, values: Mapping[str, str]) -> list[Problem]:
        if values.get(cls.completion.name) == MOVE and not values.get(cls.move_directory.name):
            return [
                Problem(
                    f"properties.{cls.move_directory.name}",
                    "is required when Completion Strategy is Move File",
                )
            ]
        return []

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        done: list[tuple[Path, Path | None]] = []
        for ff in session.get_batch():
            try:
                path = Path(context.evaluate(self.file_to_fetch, ff))
                destination = self._destination(context, ff, path)
            except ProcessException as exc:
                self._fail(context, session, ff, self.FAILURE, str(exc), logging.ERROR)
                continue
            started = time.monotonic()
            try:
                with path.open("rb") as source:
                    ff = session.import_from(ff, source)
            except FileNotFoundError:
                level = LOG_LEVELS[context[self.not_found_level]]
                self._fail(context, session, ff, self.NOT_FOUND, f"{path} not found", level)
                continue
            except PermissionError:
                level = LOG_LEVELS[context[self.denied_level]]
                reason = f"no permission to read {path}"
                self._fail(context, session, ff, self.PERMISSION_DENIED, reason, level)
                continue
            except OSError as exc:
                self._fail(context, session, ff, self.FAILURE, str(exc), logging.ERROR)
                continue
            millis = int((time.monotonic() - started) * 1000)
            session.provenance.fetch(ff, path.absolute().as_uri(), millis=millis)
            session.transfer(ff, self.SUCCESS)
            done.append((path, destination))
        if not done or context[self.completion] == NONE:
            return
        session.commit()
        for path, destination in done:
            self._complete(context, path, destination)

    def _destination(self, context: ProcessContext, ff: FlowFile, path: Path) -> Path | None:
        """Where Move File will put ``path``; fails early under the Fail strategy."""
        if context[self.completion] != MOVE:
            return None
        directory = Path(context.evaluate(self.move_directory, ff))
        target = directory / path.name
        if context[self.move_conflict] == FAIL and target.exists():
            raise ProcessException(f"{target} already exists and Move Conflict Strategy is Fail")
        return target

    def _fail(
        self,
        context: ProcessContext,
        session: ProcessSession,
        ff: FlowFile,
        relationship: Relationship,
        reason: str,
        level: int,
    ) -> None:
        if level:
            context.logger.log(level, "routing %s to %s: %s", ff.uuid, relationship, reason)
        ff = session.put_attribute(ff, "error.message", reason)
        session.provenance.route(ff, relationship, details=reason)
        session.transfer(session.penalize(ff), relationship)

    def _complete(self, context: ProcessContext, path: Path, destination: Path | None) -> None:
        """Delete or move a fetched file; failures are logged, the data is already in."""
        try:
            if destination is None:
                path.unlink()
                return
            destination.parent.mkdir(parents=True, exist_ok=True)
            if destination.exists():
                strategy = context[self.move_conflict]
                if strategy == KEEP_EXISTING:
                    path.unlink()
                    return
                if strategy == RENAME:
                    destination = destination.with_name(_renamed(destination.name))
                elif strategy == FAIL:
                    raise FileExistsError(f"{destination} appeared since the fetch")
            shutil.move(path, destination)
        except OSError as exc:
            context.logger.warning("fetched %s but could not tidy it away: %s", path, exc)
