"""PutFile: write each FlowFile's content to a file, atomically.

The content goes to a hidden temporary file in the target directory (``.name.<uuid>``,
which GetFile's default filter skips), gets its permissions, owner and times, and is
then renamed into place, so a reader never sees a partial file. Under ``replace`` the
rename overwrites; under ``fail`` and ``ignore`` it is a hard link that refuses to
overwrite, so two writers of the same name cannot both win.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from headwater.context import ProcessContext
from headwater.engine.session import ProcessSession
from headwater.errors import ProcessException
from headwater.expression.javadate import parse_date
from headwater.flowfile import FlowFile
from headwater.processor import InputRequirement, Processor, Property, Relationship
from headwater.processors.files import TIME_FORMAT
from headwater.storage.filesystem import plain_filename
from headwater.units import parse_bool, parse_non_negative_int

REPLACE, IGNORE, FAIL = "replace", "ignore", "fail"
_SYMBOLIC = re.compile(r"[r-][w-][xsS-][r-][w-][xsS-][r-][w-][xtT-]")


def parse_permissions(text: str) -> int:
    """A file mode from ``rw-r-----`` or octal ``640`` / ``0640``."""
    text = text.strip()
    if _SYMBOLIC.fullmatch(text):
        return sum(1 << (8 - i) for i, char in enumerate(text) if char not in "-ST")
    if re.fullmatch(r"0?[0-7]{3}", text):
        return int(text, 8)
    raise ValueError(f"expected permissions such as 'rw-r-----' or '0640', got {text!r}")


class PutFile(Processor):
    """Writes the content of each FlowFile to the local file system, named by its
    ``filename`` attribute."""

    tags = ("put", "local", "copy", "archive", "files", "filesystem")
    input_requirement = InputRequirement.REQUIRED

    SUCCESS = Relationship("success", "Files written (or ignored as already there).")
    FAILURE = Relationship("failure", "Files that could not be written (reason in error.message).")

    directory = Property(
        "Directory",
        "The directory to write files to, such as /data/${path}",
        required=True,
        expression=True,
    )
    conflict = Property(
        "Conflict Resolution Strategy",
        "What to do when a file of the same name is already there",
        default=FAIL,
        required=True,
        allowed=(REPLACE, IGNORE, FAIL),
    )
    create_dirs = Property(
        "Create Missing Directories",
        "Create the directory when missing; if false, such FlowFiles go to failure",
        default="true",
        required=True,
        parse=parse_bool,
    )
    max_files = Property(
        "Maximum File Count",
        "The most files the directory may hold; when full, FlowFiles go to failure",
        parse=parse_non_negative_int,
    )
    last_modified = Property(
        "Last Modified Time",
        f"Modification time to give the file, as {TIME_FORMAT}, e.g. ${{file.lastModifiedTime}}",
        expression=True,
    )
    permissions = Property(
        "Permissions",
        "Permissions to give the file, as rw-r----- or 0640, e.g. ${file.permissions}",
        expression=True,
        parse=parse_permissions,
    )
    owner = Property("Owner", "Owner to give the file, e.g. ${file.owner}", expression=True)
    group = Property("Group", "Group to give the file, e.g. ${file.group}", expression=True)

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        for ff in session.get_batch():
            started = time.monotonic()
            try:
                target, written = self._put(context, session, ff)
            except (ProcessException, OSError) as exc:
                reason = str(exc)
                context.logger.warning("routing %s to failure: %s", ff.uuid, reason)
                ff = session.put_attribute(ff, "error.message", reason)
                session.transfer(session.penalize(ff), self.FAILURE)
                continue
            if written:
                millis = int((time.monotonic() - started) * 1000)
                session.provenance.send(ff, target.absolute().as_uri(), millis=millis)
            session.transfer(ff, self.SUCCESS)

    def _put(
        self, context: ProcessContext, session: ProcessSession, ff: FlowFile
    ) -> tuple[Path, bool]:
        """Write ``ff``; the target and whether it was written (False: ignored)."""
        directory = Path(context.evaluate(self.directory, ff))
        name = plain_filename(ff.filename)
        if not directory.is_dir():
            if not context[self.create_dirs]:
                raise ProcessException(f"directory {directory} does not exist")
            directory.mkdir(parents=True, exist_ok=True)
        limit = context.get(self.max_files)
        if limit is not None and sum(1 for _ in os.scandir(directory)) >= limit:
            raise ProcessException(f"directory {directory} already holds {limit} files or more")
        target = directory / name
        strategy = context[self.conflict]
        if target.exists() and strategy != REPLACE:
            if strategy == IGNORE:
                context.logger.info("%s exists; ignoring %s", target, ff.uuid)
                return target, False
            raise ProcessException(f"{target} already exists")
        temp = directory / f".{name}.{ff.uuid}"
        try:
            with temp.open("xb") as out:
                session.export_to(ff, out)
                out.flush()
                os.fsync(out.fileno())
            self._describe(context, ff, temp)
            if strategy == REPLACE:
                os.replace(temp, target)
                return target, True
            try:
                os.link(temp, target)
            except FileExistsError:
                if strategy == IGNORE:
                    return target, False
                raise ProcessException(f"{target} already exists") from None
            return target, True
        finally:
            temp.unlink(missing_ok=True)

    def _describe(self, context: ProcessContext, ff: FlowFile, path: Path) -> None:
        """Times, permissions and ownership; like NiFi, a failure here is logged and the
        file is still delivered."""
        try:
            modified = (
                context.evaluate(self.last_modified, ff)
                if context.is_set(self.last_modified)
                else ""
            )
            if modified:
                moment = parse_date(modified, TIME_FORMAT, None).timestamp()
                os.utime(path, (moment, moment))
            if context.is_set(self.permissions):
                path.chmod(context.evaluate(self.permissions, ff))
            owner = context.evaluate(self.owner, ff) if context.is_set(self.owner) else ""
            group = context.evaluate(self.group, ff) if context.is_set(self.group) else ""
            if owner or group:
                os.chown(path, _uid(owner), _gid(group))
        except (ProcessException, OSError, KeyError) as exc:
            context.logger.warning("wrote %s but could not set its attributes: %s", path, exc)


def _uid(owner: str) -> int:
    if not owner:
        return -1
    import pwd

    return int(owner) if owner.isdigit() else pwd.getpwnam(owner).pw_uid


def _gid(group: str) -> int:
    if not group:
        return -1
    import grp

    return int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
