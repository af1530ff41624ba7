"""Write an ACL-like author-year BibTeX style, derived at build time from the installed plainnat.bst.

The official ACL style (acl_natbib.bst) prints "Authors. Year. Title. Venue." with no month; natbib's
plainnat.bst prints the (month and) year near the end of each entry.  This script reads the TeX
installation's plainnat.bst (``kpsewhich plainnat.bst``) and applies two changes:

* ``format.date`` no longer prints the month;
* in every entry type the date is moved to right after the authors/editors, as its own block.

The result goes to the output path (the Makefile writes report/build/acl-local.bst), so the
repository holds no copy of plainnat.bst.  If plainnat.bst does not have the expected shape the
script exits with status 2 and says what it did not find; nothing is written then.

    python3 acl_bst.py OUT.bst [--plainnat PATH]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

# The entry types of plainnat.bst; each prints the date once (inproceedings in two branches).
ENTRY_TYPES = frozenset({"article", "book", "booklet", "inbook", "incollection", "inproceedings", "manual",
                         "mastersthesis", "misc", "phdthesis", "proceedings", "techreport", "unpublished"})

# A multi-line function: "FUNCTION {name}" then "{" at the start of the next line ... "}" alone at column 0.
FUNCTION = re.compile(r"^FUNCTION \{(?P<name>[\w.]+)\}\n\{(?P<body>.*?)\n\}$", re.M | re.S)
# format.date's month clause: month empty$ 'skip$ { month " " * swap$ * } if$
MONTH_CLAUSE = re.compile(r"\n\s*month\s+empty\$\s+'skip\$\s+\{\s*month\s+\"\s\"\s+\*\s+swap\$\s+\*\s*\}\s+if\$")
DATE_LINE = re.compile(r"^[ \t]*(format\.date\b.*)\n", re.M)
# The first statement of the title block: format.title / format.btitle, or misc's "title howpublished ...".
TITLE_LINE = re.compile(r"^[ \t]*(?:format\.b?title|title howpublished)\b", re.M)


class ShapeError(Exception):
    """plainnat.bst does not look as this script expects."""


def drop_month(body: str) -> str:
    body, n = MONTH_CLAUSE.subn("", body)
    if n != 1:
        raise ShapeError(f"FUNCTION {{format.date}}: expected one month clause, found {n}")
    return body


def date_after_authors(name: str, body: str) -> str:
    """Remove the entry's ``format.date ...`` line(s) and print the date as a block before the title."""
    dates = DATE_LINE.findall(body)
    if not dates or len(set(dates)) != 1:
        raise ShapeError(f"FUNCTION {{{name}}}: expected one kind of format.date line, found {dates}")
    body = DATE_LINE.sub("", body)
    title = TITLE_LINE.search(body)
    if title is None:
        raise ShapeError(f"FUNCTION {{{name}}}: no title line (format.title, format.btitle, title howpublished)")
    block = f"  new.block\n  {dates[0]}\n  new.block\n"
    return body[:title.start()] + block + body[title.start():]


def derive(plainnat: str) -> str:
    """The ACL-like style: ``plainnat`` with the month dropped and the year right after the authors."""
    patched: set[str] = set()

    def patch(m: re.Match) -> str:
        name, body = m["name"], m["body"]
        if name == "format.date":
            body = drop_month(body)
        elif "output.bibitem" in body and "format.date" in body:
            body = date_after_authors(name, body)
        else:
            return m[0]
        patched.add(name)
        return f"FUNCTION {{{name}}}\n{{{body}\n}}"

    out = FUNCTION.sub(patch, plainnat)
    if patched != ENTRY_TYPES | {"format.date"}:
        missing = sorted(ENTRY_TYPES | {"format.date"} - patched)
        extra = sorted(patched - ENTRY_TYPES - {"format.date"})
        raise ShapeError(f"functions not patched: {missing}; unexpected entry functions: {extra}")
    return out


def find_plainnat() -> Path:
    try:
        found = subprocess.run(["kpsewhich", "plainnat.bst"], capture_output=True, text=True, check=False).stdout
    except FileNotFoundError:
        found = ""
    if not found.strip():
        raise ShapeError("plainnat.bst not found by kpsewhich: install TeX's natbib "
                         "(Debian/Ubuntu: texlive-latex-base) or pass --plainnat PATH")
    return Path(found.strip())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="where to write the derived style (e.g. build/acl-local.bst)")
    ap.add_argument("--plainnat", type=Path, help="plainnat.bst to derive from (default: kpsewhich plainnat.bst)")
    args = ap.parse_args(argv)
    try:
        source = args.plainnat or find_plainnat()
        text = derive(source.read_text(encoding="latin-1"))
    except (ShapeError, OSError) as e:
        print(f"acl_bst.py: {e}", file=sys.stderr)
        return 2
    header = (f"%% acl-local.bst: written by report/acl_bst.py from {source}; do not edit.\n"
              "%% Changes to plainnat.bst: no month; the year follows the authors (ACL style).\n")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(header + text, encoding="latin-1")
    return 0


if __name__ == "__main__":
    sys.exit(main())
