"""Make NLTK's WordNet usable, online or offline.

``ensure_wordnet()`` is the one entry point.  In order it tries:

1. NLTK's WordNet data if it is already installed somewhere on ``nltk.data.path``;
2. ``nltk.download("wordnet")`` -- but only after a quick (3 s) TCP
   reachability check of the download host, because ``nltk.download`` uses a
   120 s network timeout and would otherwise stall a firewalled machine;
3. offline: build an NLTK ``corpora/wordnet`` folder from Debian's WordNet 3.0
   database (packages ``wordnet-base`` and ``wordnet-sense-index``, files under
   ``/usr/share/wordnet``).  NLTK's reader also needs a ``lexnames`` file that
   Debian does not ship, so it is written from ``LEXNAMES`` below (lexnames(5WN)).
   The files are COPIED (NLTK refuses symlinks that leave its data roots) into
   ``$NLTK_DATA`` (first entry) or ``~/nltk_data``;
4. otherwise a RuntimeError that says what to install.

The data is identical to NLTK's own ``wordnet`` package (both are Princeton
WordNet 3.0), so results do not depend on which route was taken.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import warnings
from pathlib import Path

DEBIAN_WORDNET_DIR = Path(os.environ.get("WORDNET_DEBIAN_DIR", "/usr/share/wordnet"))
DOWNLOAD_HOST = ("raw.githubusercontent.com", 443)
REACHABILITY_TIMEOUT = 3.0

# lexnames(5WN): "file number <TAB> lexicographer file name <TAB> syntactic category"
# (1 noun, 2 verb, 3 adjective, 4 adverb).  Order matters: NLTK asserts line i has number i.
LEXNAMES = (
    ("adj.all", 3), ("adj.pert", 3), ("adv.all", 4), ("noun.Tops", 1),
    ("noun.act", 1), ("noun.animal", 1), ("noun.artifact", 1), ("noun.attribute", 1),
    ("noun.body", 1), ("noun.cognition", 1), ("noun.communication", 1), ("noun.event", 1),
    ("noun.feeling", 1), ("noun.food", 1), ("noun.group", 1), ("noun.location", 1),
    ("noun.motive", 1), ("noun.object", 1), ("noun.person", 1), ("noun.phenomenon", 1),
    ("noun.plant", 1), ("noun.possession", 1), ("noun.process", 1), ("noun.quantity", 1),
    ("noun.relation", 1), ("noun.shape", 1), ("noun.state", 1), ("noun.substance", 1),
    ("noun.time", 1), ("verb.body", 2), ("verb.change", 2), ("verb.cognition", 2),
    ("verb.communication", 2), ("verb.competition", 2), ("verb.consumption", 2),
    ("verb.contact", 2), ("verb.creation", 2), ("verb.emotion", 2), ("verb.motion", 2),
    ("verb.perception", 2), ("verb.possession", 2), ("verb.social", 2), ("verb.stative", 2),
    ("verb.weather", 2), ("adj.ppl", 3),
)
assert len(LEXNAMES) == 45

# Files NLTK's WordNetCorpusReader opens (its _FILES), all shipped by the two Debian packages
# except lexnames, which we write ourselves.
DEBIAN_FILES = (
    "cntlist.rev", "index.sense",
    "index.adj", "index.adv", "index.noun", "index.verb",
    "data.adj", "data.adv", "data.noun", "data.verb",
    "adj.exc", "adv.exc", "noun.exc", "verb.exc",
)
OPTIONAL_DEBIAN_FILES = ("cntlist", "frames.vrb", "sentidx.vrb", "sents.vrb")

INSTALL_HINT = (
    "WordNet is not available. Install it with one of:\n"
    "  online:  python -m nltk.downloader wordnet\n"
    "  offline (Debian/Ubuntu): apt-get install -y wordnet-base wordnet-sense-index\n"
    "           (ensure_wordnet() then builds ~/nltk_data/corpora/wordnet from /usr/share/wordnet)"
)

_READY = False


def lexnames_text() -> str:
    """The lexnames file exactly as WordNet 3.0 ships it: ``00\\tadj.all\\t3`` ... ``44\\tadj.ppl\\t3``."""
    return "".join(f"{i:02d}\t{name}\t{cat}\n" for i, (name, cat) in enumerate(LEXNAMES))


def debian_wordnet_available(source_dir: Path | str | None = None) -> bool:
    source_dir = Path(source_dir or DEBIAN_WORDNET_DIR)
    return all((source_dir / f).is_file() for f in DEBIAN_FILES)


def default_nltk_data_dir() -> Path:
    """First entry of $NLTK_DATA if set, else ~/nltk_data (a user-writable NLTK data root)."""
    env = os.environ.get("NLTK_DATA")
    if env:
        return Path(env.split(os.pathsep)[0]).expanduser()
    return Path.home() / "nltk_data"


def build_wordnet_from_debian(nltk_data_dir: Path | str | None = None,
                              source_dir: Path | str | None = None) -> Path:
    """Copy Debian's WordNet 3.0 files into ``<nltk_data_dir>/corpora/wordnet`` and add ``lexnames``.

    The folder is assembled in a temporary sibling and renamed into place, so a
    half-written folder is never visible.  Returns the folder path.
    """
    source_dir = Path(source_dir or DEBIAN_WORDNET_DIR)
    missing = [f for f in DEBIAN_FILES if not (source_dir / f).is_file()]
    if missing:
        raise RuntimeError(f"Debian WordNet files missing in {source_dir}: {missing}\n{INSTALL_HINT}")
    corpora = Path(nltk_data_dir or default_nltk_data_dir()).expanduser() / "corpora"
    corpora.mkdir(parents=True, exist_ok=True)
    target = corpora / "wordnet"
    tmp = Path(tempfile.mkdtemp(prefix=".wordnet-build-", dir=corpora))
    try:
        for name in DEBIAN_FILES + OPTIONAL_DEBIAN_FILES:
            src = source_dir / name
            if src.is_file():
                shutil.copyfile(src, tmp / name)  # real copies, never symlinks
        (tmp / "lexnames").write_text(lexnames_text(), encoding="utf-8")
        (tmp / "README").write_text(
            "Princeton WordNet 3.0, copied from Debian packages wordnet-base and "
            "wordnet-sense-index by pipeline/wordnet.py (lexnames added).\n", encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def load_reader(wordnet_dir: Path | str):
    """A fresh WordNetCorpusReader over ``wordnet_dir`` (used to verify a built folder)."""
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "multilingual functions are not available": irrelevant here
        return WordNetCorpusReader(str(wordnet_dir), None)


def _nltk_wordnet_works() -> bool:
    import nltk
    from nltk.corpus import wordnet as wn

    try:
        nltk.data.find("corpora/wordnet")
    except LookupError:
        try:
            nltk.data.find("corpora/wordnet.zip")
        except LookupError:
            return False
    try:
        return bool(wn.synsets("good"))
    except (LookupError, OSError, ValueError, AssertionError):
        return False


def _host_reachable() -> bool:
    """Quick TCP probe of the NLTK download host (REACHABILITY_TIMEOUT seconds at most)."""
    try:
        with socket.create_connection(DOWNLOAD_HOST, timeout=REACHABILITY_TIMEOUT):
            return True
    except OSError:
        return False


def _try_download() -> bool:
    if os.environ.get("NLTK_NO_DOWNLOAD") or not _host_reachable():
        return False
    import nltk

    try:
        ok = nltk.download("wordnet", quiet=True, raise_on_error=False)
    except Exception:  # any network/SSL/pathsec error: fall through to the offline route
        return False
    return bool(ok) and _nltk_wordnet_works()


def ensure_wordnet() -> None:
    """Make ``nltk.corpus.wordnet`` usable (see module docstring); cheap after the first call."""
    global _READY
    if _READY:
        return
    import nltk

    if not _nltk_wordnet_works() and not _try_download():
        if not debian_wordnet_available():
            raise RuntimeError(INSTALL_HINT)
        data_dir = default_nltk_data_dir()
        target = build_wordnet_from_debian(data_dir)
        # On the path before the check: NLTK 3.10's reader, for any folder, also opens the index.sense of the
        # 'corpora/wordnet' it finds first on nltk.data.path (WordNetCorpusReader.map_wn), which must be this one.
        if str(data_dir) not in nltk.data.path:
            nltk.data.path.insert(0, str(data_dir))
        if not load_reader(target).synsets("good"):
            raise RuntimeError(f"built {target} but WordNet did not load.\n{INSTALL_HINT}")
        if not _nltk_wordnet_works():
            raise RuntimeError(f"built {target} but nltk.corpus.wordnet still fails.\n{INSTALL_HINT}")
    _READY = True


def release_file_handles() -> None:
    """Close the data/count files NLTK's WordNet reader keeps open.

    Call before forking workers (``datasets.map(num_proc=...)``): the in-memory
    indices are shared copy-on-write, but an inherited open file shares its
    OS file offset between processes, so concurrent seek+read would race.
    Each process reopens the files lazily on its next look-up.
    """
    from nltk.corpus import wordnet as wn

    if type(wn).__name__ == "LazyCorpusLoader":  # not loaded yet: nothing open
        return
    for fh in list(getattr(wn, "_data_file_map", {}).values()):
        if fh is not None:
            fh.close()
    wn._data_file_map = {}
    for attr in ("_key_count_file", "_key_synset_file"):
        fh = getattr(wn, attr, None)
        if fh is not None:
            fh.close()
            setattr(wn, attr, None)
