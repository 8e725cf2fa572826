"""Document conversion to Markdown: real files of every supported type, made here with their own libraries."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
import openpyxl
import pytest
from fpdf import FPDF
from PIL import Image
from pptx import Presentation
from pypdf import PdfReader, PdfWriter

from synthgen.core.errors import UserError
from synthgen.sources.convert import SUPPORTED_SUFFIXES, Converted, convert_file, pages_of
from synthgen.sources.markdown import markdown_sections
from synthgen.sources.pdf import pdf_pages_markdown

REAL_PDF = Path(__file__).parent / "data" / "shared-mime-info-spec.pdf"


class _Manual(FPDF):
    """A manual with a running header and a page-number footer on every page, as office tools print them."""

    def header(self) -> None:
        self.set_font("Helvetica", "I", 9)
        self.cell(0, 8, "Pump Manual - internal", align="C", new_x="LMARGIN", new_y="NEXT")

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", "I", 9)
        self.cell(0, 10, f"Page {self.page_no()} of {{nb}}", align="C")


def make_pdf(path: Path) -> Path:
    """Four pages: chapters 1, 2 and 4 have a 20 pt title, a 14 pt section and 11 pt body text; page 3 is blank
    apart from the running header and footer. Body lines include Markdown syntax that must stay text."""
    pdf = _Manual()
    for chapter in (1, 2, 3, 4):
        pdf.add_page()
        if chapter == 3:
            continue
        pdf.set_font("Helvetica", "B", 20)
        pdf.cell(0, 12, f"Chapter {chapter} Pumps", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 11)
        pdf.multi_cell(0, 6, f"Marker{chapter} opens the chapter. The pump moves water uphill. " * 3, align="L")
        pdf.ln(4)
        pdf.set_font("Helvetica", "B", 14)
        pdf.cell(0, 10, "Safety", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 11)
        pdf.multi_cell(0, 6, "# hash comment line\n```\nWear gloves near the impeller.", align="L")
    pdf.output(str(path))
    return path


def make_image_only_pdf(path: Path) -> Path:
    """A two-page 'scan': each page only an image, no text layer."""
    image = path.with_suffix(".png")
    Image.new("RGB", (200, 100), "white").save(image)
    pdf = FPDF()
    for _ in range(2):
        pdf.add_page()
        pdf.image(str(image), x=10, y=10, w=100)
    pdf.output(str(path))
    return path


def make_docx(path: Path) -> Path:
    """A Word file with heading styles, body paragraphs and a table."""
    document = docx.Document()
    document.add_heading("Pump Guide", level=1)
    document.add_paragraph("Read this before installing.")
    document.add_heading("Installation", level=2)
    document.add_paragraph("Bolt the pump to the floor.")
    table = document.add_table(rows=2, cols=2)
    for row, cells in enumerate((("part", "qty"), ("valve", "3"))):
        for column, text in enumerate(cells):
            table.cell(row, column).text = text
    document.save(str(path))
    return path


def make_pptx(path: Path) -> Path:
    """A two-slide deck with titles and bullet text."""
    deck = Presentation()
    for title, body in (("Quarterly plan", "Ship the new pump"), ("Risks", "Valve supplier delays")):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
    deck.save(str(path))
    return path


def make_xlsx(path: Path) -> Path:
    """A workbook with two sheets of rows."""
    book = openpyxl.Workbook()
    parts = book.active
    assert parts is not None
    parts.title = "Parts"
    parts.append(["part", "qty"])
    parts.append(["valve", 3])
    prices = book.create_sheet("Prices")
    prices.append(["part", "eur"])
    prices.append(["valve", 12.5])
    book.save(str(path))
    return path


def make_html(path: Path) -> Path:
    """A web page with a script, headings and a table."""
    path.write_text(
        "<html><head><title>Pumps</title><script>track()</script><style>p{}</style></head><body>"
        "<h1>Pumps</h1><p>All about pumps.</p><h2>Sizes</h2>"
        "<table><tr><th>model</th><th>litres</th></tr><tr><td>P1</td><td>40</td></tr></table></body></html>",
        encoding="utf-8",
    )
    return path


def make_epub(path: Path) -> Path:
    """A minimal valid EPUB 3 with two chapters in its spine (second chapter listed first in the manifest)."""
    chapter = '<html xmlns="http://www.w3.org/1999/xhtml"><body><h1>{0}</h1><p>{1}</p></body></html>'
    with zipfile.ZipFile(path, "w") as book:
        book.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
        book.writestr(
            "META-INF/container.xml",
            '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
            '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
            "</rootfiles></container>",
        )
        book.writestr(
            "OEBPS/content.opf",
            '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">'
            '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">pump-book</dc:identifier>'
            "<dc:title>Pump Book</dc:title><dc:creator>Ann Smith</dc:creator><dc:language>en</dc:language></metadata>"
            '<manifest><item id="c2" href="c2.xhtml" media-type="application/xhtml+xml"/>'
            '<item id="c1" href="c1.xhtml" media-type="application/xhtml+xml"/></manifest>'
            '<spine><itemref idref="c1"/><itemref idref="c2"/></spine></package>',
        )
        book.writestr("OEBPS/c1.xhtml", chapter.format("Priming", "Fill the casing first."))
        book.writestr("OEBPS/c2.xhtml", chapter.format("Storage", "Drain before winter."))
    return path


def header_paths(markdown: str) -> list[tuple[str, ...]]:
    """The header paths the project's Markdown splitter finds in `markdown`."""
    return [section.header_path for section in markdown_sections(markdown, range(1, 7))]


def user_error(path: Path) -> str:
    """The one-line UserError message converting `path` raises."""
    with pytest.raises(UserError) as raised:
        convert_file(path, cache_dir=None)
    message = str(raised.value)
    assert "\n" not in message and str(path) in message and "fix:" in message
    return message


def test_pdf_pages_map_exact_spans_and_keep_headings(tmp_path: Path) -> None:
    converted = convert_file(make_pdf(tmp_path / "manual.pdf"), cache_dir=None)
    text = converted.markdown

    assert [span.page for span in converted.pages] == [1, 2, 4]  # the blank page 3 holds no text
    for span in converted.pages:
        page_text = text[span.start : span.end]
        assert page_text == page_text.strip() and page_text.startswith(f"# Chapter {span.page} Pumps")
        assert re.findall(r"Marker\d", page_text) == [f"Marker{span.page}"] * 3
    gaps = [text[a.end : b.start] for a, b in zip(converted.pages, converted.pages[1:], strict=False)]
    assert gaps == ["\n\n", "\n\n"]
    assert converted.pages[0].start == 0 and converted.pages[-1].end == len(text)

    assert "Pump Manual" not in text and "Page 1 of" not in text and "\f" not in text
    assert header_paths(text) == [
        ("Chapter 1 Pumps",),
        ("Chapter 1 Pumps", "Safety"),
        ("Chapter 2 Pumps",),
        ("Chapter 2 Pumps", "Safety"),
        ("Chapter 4 Pumps",),
        ("Chapter 4 Pumps", "Safety"),
    ]  # the body's '# hash comment line' and '```' stayed text: no extra header, no fence swallowing the rest
    assert text.count("\\# hash comment line") == 3


def test_pages_of_a_span(tmp_path: Path) -> None:
    converted = convert_file(make_pdf(tmp_path / "manual.pdf"), cache_dir=None)
    first, second, fourth = converted.pages

    assert pages_of(converted, first.start, first.end) == [1]
    assert pages_of(converted, first.end - 5, second.start + 5) == [1, 2]
    assert pages_of(converted, first.end, second.start) == []  # only the blank lines between two pages
    assert pages_of(converted, 0, len(converted.markdown)) == [1, 2, 4]
    assert pages_of(converted, fourth.start + 1, fourth.start + 2) == [4]
    assert pages_of(Converted("no pages"), 0, 8) == []


def test_real_world_pdf(tmp_path: Path) -> None:
    converted = convert_file(REAL_PDF, cache_dir=None)
    text = converted.markdown
    reader = PdfReader(REAL_PDF)

    assert [span.page for span in converted.pages] == list(range(1, len(reader.pages) + 1))
    for span in converted.pages:  # each span's longest line is on that page according to pypdf as well
        longest = max(text[span.start : span.end].splitlines(), key=len).lstrip("#\\ ")
        assert _squeeze(longest) in _squeeze(reader.pages[span.page - 1].extract_text())
    paths = header_paths(text)
    assert ("Shared MIME-info Database", "1. Introduction", "1.2. What is this spec?") in paths
    assert ("Shared MIME-info Database", "2. Unified system", "2.5. The magic files") in paths
    assert pages_of(converted, text.index("## 2. Unified system"), text.index("### 2.1. Directory layout")) == [2]
    # the running header is dropped from every page; the title stays, once, as the top header
    assert [line for line in text.splitlines() if line.lstrip("# ") == "Shared MIME-info Database"] == [
        "# Shared MIME-info Database"
    ]


def _squeeze(text: str) -> str:
    """Text without whitespace, so two extractors' spacing choices compare equal."""
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize(
    ("make", "name", "expected_paths", "expected_text"),
    [
        (
            make_docx,
            "guide.docx",
            [("Pump Guide",), ("Pump Guide", "Installation")],
            ["Read this before installing.", "| valve | 3 |"],
        ),
        (make_pptx, "deck.pptx", [("Quarterly plan",), ("Risks",)], ["Ship the new pump", "Valve supplier delays"]),
        (make_xlsx, "stock.xlsx", [("Parts",), ("Prices",)], ["| valve | 3 |", "| valve | 12.5 |"]),
        (make_html, "pumps.html", [("Pumps",), ("Pumps", "Sizes")], ["All about pumps.", "| P1 | 40 |"]),
        (make_html, "pumps.HTM", [("Pumps",), ("Pumps", "Sizes")], ["All about pumps.", "| P1 | 40 |"]),
        (make_epub, "book.epub", [("Priming",), ("Storage",)], ["Fill the casing first.", "Ann Smith"]),
    ],
)
def test_office_and_web_formats_keep_their_structure(
    tmp_path: Path,
    make: Callable[[Path], Path],
    name: str,
    expected_paths: list[tuple[str, ...]],
    expected_text: list[str],
) -> None:
    converted = convert_file(make(tmp_path / name), cache_dir=None)

    assert [path for path in header_paths(converted.markdown) if path] == expected_paths
    for snippet in expected_text:
        assert snippet in converted.markdown
    assert converted.pages == ()
    assert "track()" not in converted.markdown


def test_encrypted_pdf(tmp_path: Path) -> None:
    writer = PdfWriter(clone_from=make_pdf(tmp_path / "plain.pdf"))
    writer.encrypt(user_password="secret", algorithm="AES-128")
    locked = tmp_path / "locked.pdf"
    writer.write(locked)

    assert "password-protected" in user_error(locked)


def test_damaged_pdfs(tmp_path: Path) -> None:
    whole = make_pdf(tmp_path / "whole.pdf").read_bytes()
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(whole[: len(whole) // 2])
    not_pdf = tmp_path / "notes.pdf"
    not_pdf.write_text("these are notes, not a PDF\n" * 20)

    assert "damaged or not a PDF" in user_error(truncated)
    assert "damaged or not a PDF" in user_error(not_pdf)


def test_pdf_without_text_layer(tmp_path: Path) -> None:
    assert "OCR it first" in user_error(make_image_only_pdf(tmp_path / "scan.pdf"))


@pytest.mark.parametrize("suffix", [".docx", ".pptx", ".xlsx", ".epub"])
def test_damaged_zip_based_documents(tmp_path: Path, suffix: str) -> None:
    whole = make_docx(tmp_path / "whole.docx").read_bytes()
    damaged = tmp_path / f"damaged{suffix}"
    damaged.write_bytes(whole[: len(whole) // 2])

    assert f"save it again as {suffix}" in user_error(damaged)


def test_unsupported_and_empty_files(tmp_path: Path) -> None:
    notes = tmp_path / "notes.odt"
    notes.write_bytes(b"anything")
    empty = tmp_path / "empty.html"
    empty.write_text("<html><body><script>only()</script> </body></html>")

    message = user_error(notes)
    assert "'.odt'" in message and all(suffix in message for suffix in SUPPORTED_SUFFIXES)
    assert "has no text" in user_error(empty)
    assert "cannot read the file" in user_error(tmp_path / "missing.pdf")


def test_cache_converts_each_content_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []

    def counting(path: Path, content: bytes) -> list[str]:
        calls.append(path)
        return pdf_pages_markdown(path, content)

    monkeypatch.setattr("synthgen.sources.convert.pdf_pages_markdown", counting)
    cache = tmp_path / "cache"
    source = make_pdf(tmp_path / "manual.pdf")
    copy = tmp_path / "elsewhere" / "renamed.pdf"
    copy.parent.mkdir()
    copy.write_bytes(source.read_bytes())

    first = convert_file(source, cache_dir=cache)
    assert convert_file(source, cache_dir=cache) == first
    assert convert_file(copy, cache_dir=cache) == first  # same content, other path: still one conversion
    assert calls == [source]
    (entry,) = (cache / "converted").iterdir()
    assert entry.name.endswith(".pdf.json") and not list(cache.rglob("*.tmp"))

    entry.write_text('{"stamp": "trunc')  # a corrupt entry is converted again and rewritten
    assert convert_file(source, cache_dir=cache) == first
    assert len(calls) == 2 and json.loads(entry.read_text())["markdown"] == first.markdown

    assert convert_file(source, cache_dir=None) == first  # no cache: always converts
    assert len(calls) == 3


def test_cache_entry_from_another_converter_version_is_redone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    source = make_html(tmp_path / "pumps.html")
    convert_file(source, cache_dir=cache)
    (entry,) = (cache / "converted").iterdir()
    stale = json.loads(entry.read_text()) | {"markdown": "stale text", "stamp": "0/old"}
    entry.write_text(json.dumps(stale))

    assert "All about pumps." in convert_file(source, cache_dir=cache).markdown
    assert json.loads(entry.read_text())["stamp"] != "0/old"
