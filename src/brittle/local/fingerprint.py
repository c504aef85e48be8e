"""Content fingerprints of local models: what decides their output, independent of where it lies.

A system's fingerprint goes into its baseline, so a retrained adapter or a changed checkpoint must
change it, while moving or renaming a folder or editing its README must not. Hence content hashes
of the files that are loaded, keyed by file name within the folder, and no folder names or paths.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from brittle.local.models import find_smollm2_gguf, unknown_model_error
from brittle.local.refs import LocalModelRef, missing_adapter_error, parse_local_model

FINGERPRINT_VERSION = "1"
_CHUNK = 1 << 20

# Files that do not change what a model says: model cards, notes, hidden files.
_IGNORED_SUFFIXES = (".md", ".rst")


def folder_files(folder: Path) -> list[Path]:
    """The files of a checkpoint or adapter folder that are loaded, sorted by name.

    Only the top level counts: ``from_pretrained``/``load_adapter`` read nothing below it, and
    trainer output folders keep ``checkpoint-*`` subfolders that would churn the hash.
    """
    return sorted(
        entry
        for entry in folder.iterdir()
        if entry.is_file()
        and not entry.name.startswith(".")
        and not entry.name.lower().endswith(_IGNORED_SUFFIXES)
    )


def stat_signature(folder: Path) -> tuple[tuple[str, int, int, int], ...]:
    """A cheap stand-in for the content: names, sizes, inode and modification times."""
    signature = []
    for path in folder_files(folder):
        stat = path.stat()
        signature.append((path.name, stat.st_size, stat.st_ino, stat.st_mtime_ns))
    return tuple(signature)


def _update_with_file(digest: hashlib._Hash, path: Path) -> None:
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)


def folder_sha256(folder: Path) -> str:
    """sha256 over (relative name, size, bytes) of each loaded file, in name order."""
    digest = hashlib.sha256()
    for path in folder_files(folder):
        digest.update(f"{path.name}\0{path.stat().st_size}\0".encode())
        _update_with_file(digest, path)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    _update_with_file(digest, path)
    return digest.hexdigest()


_memo_lock = threading.Lock()
_file_memo: dict[tuple[str, int, int], str] = {}
_folder_memo: dict[tuple[str, tuple[tuple[str, int, int, int], ...]], str] = {}


def _memo_file_sha256(path: Path) -> str:
    """The GGUF file is 98 MB: hash it once per process (per path, size and mtime)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _memo_lock:
        if key not in _file_memo:
            _file_memo[key] = file_sha256(path)
        return _file_memo[key]


def _memo_folder_sha256(folder: Path) -> str:
    """Checkpoint folders hold hundreds of MB: rehash only when a file's stat changes."""
    key = (str(folder), stat_signature(folder))
    with _memo_lock:
        if key not in _folder_memo:
            _folder_memo[key] = folder_sha256(folder)
        return _folder_memo[key]


def _base_fingerprint(ref: LocalModelRef) -> dict[str, str]:
    if ref.is_builtin:
        gguf = find_smollm2_gguf()
        return {
            "base": ref.base,
            "base_file": gguf.name,
            "base_size": str(gguf.stat().st_size),
            "base_sha256": _memo_file_sha256(gguf),
        }
    folder = Path(ref.base)
    if not (folder / "config.json").is_file():
        raise unknown_model_error(ref.base)
    return {"base": "checkpoint folder", "base_sha256": _memo_folder_sha256(folder)}


def adapter_sha256(folder: Path) -> str:
    """Not memoised: adapters are small, and a rewrite must show at once, even one that keeps
    the file size and lands in the same file-system timestamp tick."""
    return folder_sha256(folder)


def local_fingerprint(model: str) -> dict[str, str]:
    """Identity of what determines a ``local/`` model's output, for system fingerprints.

    Keys: ``provider`` (this scheme's version), ``base`` (``smollm2`` or ``checkpoint folder``)
    and ``base_sha256`` (for ``smollm2`` also the GGUF file's name and size), and with an adapter
    ``adapter_sha256``. Names and paths of folders are left out: the same files in another place
    or under another name give the same output, so they keep the same fingerprint (and response
    cache keys) across machines. Raises ModelError for an unknown base or a missing adapter.
    """
    ref = parse_local_model(model)
    fingerprint = {"provider": f"brittle-local/{FINGERPRINT_VERSION}"}
    fingerprint.update(_base_fingerprint(ref))
    if ref.adapter is not None:
        if not ref.adapter.is_dir():
            raise missing_adapter_error(ref.adapter)
        fingerprint["adapter_sha256"] = adapter_sha256(ref.adapter)
    return fingerprint
