"""The report's styles: no third-party style file in the repository; the ACL-like .bst derived from the
installed plainnat.bst; the Makefile uses the official acl.sty / acl_natbib.bst when they are in report/."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import need_tools

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "report"
sys.path.insert(0, str(REPORT))

import acl_bst  # noqa: E402

OFFICIAL = ("acl.sty", "acl_natbib.bst")  # the user's copies of the official ACL files (git-ignored)
# Lines that open third-party style files: natbib's plainnat.bst (LPPL) and the official ACL files.
THIRD_PARTY_MARKERS = ("Copyright 1993-2007 Patrick W Daly", "A modification of `plain.bst' for use with natbib",
                       "This is the LaTex style file for *ACL", "BibTeX style file for ACL")

BIB = r"""@article{a1, author={Ann Alpha and Bob Beta}, title={An article}, journal={Journal},
  volume={3}, pages={1--10}, year={2001}, month=jan}
@misc{m1, author={Max Nu}, title={A web page}, howpublished={Online}, year={2012}, month={April}}
@inproceedings{p1, author={Gus Eta}, title={A paper}, booktitle={Proceedings of X}, pages={1--2},
  year={2007}, month=mar, address={Town}, publisher={ACL}}
"""


def derived_bst(tmp_path: Path) -> Path:
    need_tools("kpsewhich")
    out = tmp_path / "acl-local.bst"
    assert acl_bst.main([str(out)]) == 0
    return out


def test_repository_has_no_third_party_style_files():
    found = []
    for path in REPORT.rglob("*"):
        rel = path.relative_to(REPORT)
        if not path.is_file() or rel.parts[0] == "build" or rel.as_posix() in OFFICIAL:
            continue
        assert path.suffix not in (".bst", ".cls"), f"report/{rel}: style files are derived or user-supplied"
        if path.suffix in (".sty", ".tex", ".py", ".md", "") or path.name == "Makefile":
            text = path.read_text(errors="replace")
            found += [f"report/{rel}: {m}" for m in THIRD_PARTY_MARKERS if m in text]
    assert found == []
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert all(f"report/{name}" in ignored for name in OFFICIAL)


def test_derived_bst_puts_the_year_after_the_authors_and_drops_the_month(tmp_path):
    need_tools("bibtex")
    bst = derived_bst(tmp_path)
    assert "written by report/acl_bst.py" in bst.read_text(encoding="latin-1").splitlines()[0]
    (tmp_path / "t.bib").write_text(BIB)
    (tmp_path / "t.aux").write_text("\\citation{*}\n\\bibdata{t}\n\\bibstyle{acl-local}\n")
    proc = subprocess.run(["bibtex", "t"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout
    bbl = (tmp_path / "t.bbl").read_text()
    assert "Ann Alpha and Bob Beta.\n\\newblock 2001.\n\\newblock An article.\n\\newblock \\emph{Journal}, 3" in bbl
    assert "Max Nu.\n\\newblock 2012.\n\\newblock A web page.\n\\newblock Online." in bbl
    assert "Gus Eta.\n\\newblock 2007.\n\\newblock A paper.\n\\newblock In \\emph{Proceedings of X}, pages 1--2, " \
           "Town. ACL." in bbl
    assert not any(month in bbl for month in ("January", "April", "March"))


@pytest.mark.parametrize("damage, message", [
    (lambda t: t.replace("  month empty$\n", "  month missing$\n", 1), "month clause"),
    (lambda t: t.replace("format.title \"title\" output.check", "format.titel \"title\" output.check"), "no title"),
    (lambda t: t.replace("FUNCTION {techreport}", "FUNCTION {report}"), "techreport"),
])
def test_bst_script_fails_loudly_when_plainnat_has_another_shape(tmp_path, damage, message):
    need_tools("kpsewhich")
    plainnat = Path(subprocess.run(["kpsewhich", "plainnat.bst"], capture_output=True, text=True).stdout.strip())
    damaged = tmp_path / "plainnat.bst"
    damaged.write_text(damage(plainnat.read_text(encoding="latin-1")), encoding="latin-1")
    out = tmp_path / "out.bst"
    proc = subprocess.run([sys.executable, str(REPORT / "acl_bst.py"), str(out), "--plainnat", str(damaged)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and message in proc.stderr and not out.exists(), proc.stderr
    assert proc.stderr.count("\n") == 1  # one line, no traceback


def copy_report(dest: Path) -> Path:
    """The report's tracked sources (no report.pdf, no build/) in a scratch folder."""
    dest.mkdir()
    for p in REPORT.iterdir():
        if p.is_file() and p.suffix in (".tex", ".sty", ".bib", ".py") or p.name == "Makefile":
            shutil.copy(p, dest / p.name)
    shutil.copytree(REPORT / "generated", dest / "generated")
    return dest


@pytest.mark.parametrize("official", [False, True], ids=["local-styles", "official-acl-files"])
def test_make_pdf_uses_the_official_acl_files_when_present(tmp_path, official):
    assert (REPORT / "generated" / "macros.tex").exists(), "report/generated/ is committed: run make -C report"
    need_tools("make", "pdflatex", "bibtex", "kpsewhich")
    work = copy_report(tmp_path / "report")
    if official:  # stand-ins: an acl.sty that loads ours and says so, an acl_natbib.bst = the derived style
        (work / "acl.sty").write_text("\\ProvidesPackage{acl}[2000/01/01 test stand-in]\n\\DeclareOption*{}\n"
                                      "\\ProcessOptions\\relax\n\\RequirePackage{acl-local}\n")
        shutil.copy(derived_bst(tmp_path), work / "acl_natbib.bst")
    proc = subprocess.run(["make", "pdf", f"PYTHON={sys.executable}"], cwd=work, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (work / "report.pdf").read_bytes().startswith(b"%PDF")
    blg, log = (work / "build" / "report.blg").read_text(), (work / "build" / "report.log").read_text()
    if official:
        assert "The style file: acl_natbib.bst" in blg and "Package: acl 2000/01/01 test stand-in" in log
        assert not (work / "build" / "acl-local.bst").exists()
    else:
        assert "The style file: acl-local.bst" in blg and "Package: acl-local" in log
        assert "Package: acl 2000" not in log and (work / "build" / "acl-local.bst").exists()
