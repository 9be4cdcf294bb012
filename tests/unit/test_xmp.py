"""XMP sidecars (core/sidecars/xmp.py) on copies of sidecars digiKam and darktable wrote
(tests/data/xmp/README.md says where they come from)."""
from __future__ import annotations

import hashlib
import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from clipdesk.core.sidecars import xmp

DATA = Path(__file__).resolve().parents[1] / "data" / "xmp"
DIGIKAM = DATA / "digikam-aurora.jpg.xmp"
DARKTABLE = DATA / "darktable-aurora.jpg.xmp"
OURS = {xmp.SUBJECT, xmp.DESCRIPTION, xmp.RATING, xmp.AUTO} | {name for name, _ in xmp.MIRRORS}


def photo_with(sidecar: Path, folder: Path, name: str = "aurora.jpg") -> bytes:
    """A photo (some JPEG-looking bytes) with a copy of `sidecar` beside it."""
    photo = folder / name
    photo.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg \xff\xd9")
    shutil.copyfile(sidecar, folder / (name + ".xmp"))
    return os.fsencode(photo)


def digest(path: bytes | Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def canonical(element: ET.Element, drop: set[str]) -> tuple:
    """A parsed tree without the properties clipdesk owns (elements or attributes of an
    rdf:Description), whitespace between elements ignored."""
    is_desc = element.tag == f"{{{xmp.RDF}}}Description"
    attrs = sorted((k, v) for k, v in element.attrib.items() if not (is_desc and k in drop))
    children = [canonical(c, drop) for c in element if not (is_desc and c.tag in drop)]
    return element.tag, attrs, (element.text or "").strip(), children


def others(path: bytes | Path) -> tuple:
    return canonical(ET.parse(path).getroot(), OURS)


@pytest.mark.parametrize("sidecar", [DIGIKAM, DARKTABLE], ids=["digikam", "darktable"])
def test_writing_keeps_every_field_the_other_tool_wrote(sidecar, tmp_path):
    photo = photo_with(sidecar, tmp_path)
    photo_before = digest(photo)
    assert xmp.write(photo, ["beach", "aurora"], caption="Green lights over a beach")

    path = xmp.sidecar_path(photo)
    assert others(path) == others(sidecar)
    ns = {"x": "adobe:ns:meta/"}
    assert ET.parse(path).getroot().get(f"{{{ns['x']}}}xmptk") == "XMP Core 4.4.0-Exiv2"
    assert digest(photo) == photo_before  # the photo itself is never written
    again = xmp.read(path)
    # their keywords stay (Aurora once: tags match without regard to case), ours are added
    assert [k.lower() for k in again.keywords] == \
        [k.lower() for k in xmp.read(os.fsencode(sidecar)).keywords] + ["beach"]
    assert again.caption == "Green lights over a beach"


def test_their_prefixes_and_packet_wrapper_survive(tmp_path):
    photo = photo_with(DIGIKAM, tmp_path)
    xmp.write(photo, ["beach"])
    text = Path(os.fsdecode(xmp.sidecar_path(photo))).read_text(encoding="utf-8")
    assert text.startswith('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>')
    assert text.rstrip().endswith('<?xpacket end="w"?>')
    for prefix in ("digiKam:TagsList", "MicrosoftPhoto:LastKeywordXMP", "lr:hierarchicalSubject",
                   "acdsee:categories", "stEvt:action"):
        assert prefix in text
    assert "ns0:" not in text


def test_digikam_hierarchies_get_the_new_tags_too(tmp_path):
    """digiKam reads its TagsList before dc:subject: a tag only in dc:subject would not
    show there."""
    photo = photo_with(DIGIKAM, tmp_path)
    xmp.write(photo, ["beach"])
    root = ET.parse(xmp.sidecar_path(photo)).getroot()
    for name, _ in xmp.MIRRORS:
        items = [li.text for li in root.iter(name) for li in li.iter(f"{{{xmp.RDF}}}li")]
        assert items[-1] == "beach" and "Aurora" in items, name


def test_a_reject_is_rating_minus_one_and_undoing_it_clears_it(tmp_path):
    photo = photo_with(DARKTABLE, tmp_path)
    assert xmp.read(xmp.sidecar_path(photo)).rating == 1
    xmp.write(photo, [], rejected=True)
    assert xmp.read(xmp.sidecar_path(photo)).rating == -1
    xmp.write(photo, [], rejected=False)
    assert xmp.read(xmp.sidecar_path(photo)).rating == 0
    fresh = os.fsencode(tmp_path / "new.jpg")
    xmp.write(fresh, [], rejected=True)
    assert xmp.read(xmp.sidecar_path(fresh)).rating == -1


def test_darktable_own_tags_are_not_read_as_keywords():
    keywords = xmp.read(os.fsencode(DARKTABLE)).keywords
    assert sorted(keywords) == ["Aurora", "Iceland", "Nature", "Places", "Reykjavik"]


def test_removed_tags_leave_every_list(tmp_path):
    photo = photo_with(DIGIKAM, tmp_path)
    xmp.write(photo, ["beach"], removed=["places", "beach"])
    assert "Places" not in xmp.read(xmp.sidecar_path(photo)).keywords
    assert b"Places</rdf:li>" not in Path(os.fsdecode(xmp.sidecar_path(photo))).read_bytes()
    assert b">beach<" not in Path(os.fsdecode(xmp.sidecar_path(photo))).read_bytes()


def test_a_second_write_with_nothing_new_leaves_the_file_alone(tmp_path):
    photo = photo_with(DIGIKAM, tmp_path)
    assert xmp.write(photo, ["beach"], caption="x")
    before = digest(xmp.sidecar_path(photo)), os.stat(xmp.sidecar_path(photo)).st_mtime_ns
    assert not xmp.write(photo, ["Beach"], caption="x")
    assert (digest(xmp.sidecar_path(photo)),
            os.stat(xmp.sidecar_path(photo)).st_mtime_ns) == before


def test_nothing_to_say_writes_no_sidecar(tmp_path):
    photo = os.fsencode(tmp_path / "plain.jpg")
    assert not xmp.write(photo, [])
    assert not os.path.exists(xmp.sidecar_path(photo))


def test_a_new_sidecar_is_xmp_other_tools_read(tmp_path):
    photo = os.fsencode(tmp_path / "IMG_1.JPG")
    xmp.write(photo, ["red", "circle"], caption="A red circle", rejected=True)
    assert os.path.exists(tmp_path / "IMG_1.JPG.xmp")
    root = ET.parse(tmp_path / "IMG_1.JPG.xmp").getroot()
    assert root.tag == "{adobe:ns:meta/}xmpmeta"
    bag = root.find(f".//{xmp.SUBJECT}/{{{xmp.RDF}}}Bag")
    assert bag is not None and [li.text for li in bag] == ["red", "circle"]
    assert xmp.read(xmp.sidecar_path(photo)) == xmp.Sidecar(("red", "circle"), "A red circle", -1)
    assert not list(tmp_path.glob("*.tmp"))  # the temp file was renamed into place


@pytest.mark.parametrize("content, says", [
    (b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF", "not valid XML"),
    (b"", "not valid XML"),
    (b"<html><body>saved as .xmp</body></html>", "no rdf:RDF"),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', "refused"),
])
def test_a_malformed_sidecar_is_one_clear_error_and_is_left_alone(tmp_path, content, says):
    photo = os.fsencode(tmp_path / "broken.jpg")
    sidecar = xmp.sidecar_path(photo)
    Path(os.fsdecode(sidecar)).write_bytes(content)
    with pytest.raises(xmp.SidecarError, match=says) as caught:
        xmp.read(sidecar)
    assert "broken.jpg.xmp" in str(caught.value)
    with pytest.raises(xmp.SidecarError):
        xmp.write(photo, ["red"])
    assert Path(os.fsdecode(sidecar)).read_bytes() == content


def test_sidecar_names_follow_digikam_and_darktable():
    assert xmp.sidecar_path(b"/p/IMG_1.CR2") == b"/p/IMG_1.CR2.xmp"
    assert xmp.photo_of(b"/p/IMG_1.CR2.xmp") == b"/p/IMG_1.CR2"
    assert xmp.photo_of(b"/p/IMG_1.xmp") is None  # Lightroom's naming: not ours to guess
    assert xmp.photo_of(b"/p/IMG_1.jpg") is None


def test_a_sidecar_in_another_encoding_is_written_back_as_utf8(tmp_path):
    photo = os.fsencode(tmp_path / "old.jpg")
    text = ('<?xml version="1.0" encoding="UTF-16"?>\n<x:xmpmeta xmlns:x="adobe:ns:meta/">'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            '<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Été</rdf:li></rdf:Alt></dc:title>'
            '</rdf:Description></rdf:RDF></x:xmpmeta>')
    Path(os.fsdecode(xmp.sidecar_path(photo))).write_text(text, encoding="utf-16")
    xmp.write(photo, ["plage"])
    written = Path(os.fsdecode(xmp.sidecar_path(photo))).read_bytes()
    assert b"UTF-16" not in written and "Été" in written.decode("utf-8")
    latin = tmp_path / "latin.jpg.xmp"
    latin.write_text(text.replace("UTF-16", "ISO-8859-1"), encoding="latin-1")
    xmp.write(os.fsencode(tmp_path / "latin.jpg"), ["plage"])
    written = latin.read_bytes()
    assert written.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<x:xmpmeta')
    assert "Été" in written.decode("utf-8")
    assert xmp.read(xmp.sidecar_path(photo)).keywords == ("plage",)


def exiv2_keys(path: bytes | Path) -> dict[str, str]:
    """The XMP properties libexiv2 reads from a sidecar (what digiKam and darktable use)."""
    exiv2 = pytest.importorskip("exiv2")  # the dev extra installs it
    image = exiv2.ImageFactory.open(os.fsdecode(path))
    image.readMetadata()
    return {d.key(): str(d.value()) for d in image.xmpData()}


@pytest.mark.parametrize("sidecar", [DIGIKAM, DARKTABLE], ids=["digikam", "darktable"])
def test_libexiv2_reads_the_merged_sidecar_with_the_other_tools_properties(sidecar, tmp_path):
    photo = photo_with(sidecar, tmp_path)
    xmp.write(photo, ["beach"], removed=["places"], caption="Green lights", rejected=True)
    before, after = exiv2_keys(sidecar), exiv2_keys(xmp.sidecar_path(photo))
    ours = {"Xmp.dc.subject", "Xmp.dc.description", "Xmp.xmp.Rating",
            "Xmp.lr.hierarchicalSubject", "Xmp.digiKam.TagsList",
            "Xmp.MicrosoftPhoto.LastKeywordXMP", "Xmp.mediapro.CatalogSets"}
    assert {k: v for k, v in after.items() if k not in ours} == \
        {k: v for k, v in before.items() if k not in ours}
    assert after["Xmp.dc.subject"].endswith(", beach") and "Places" not in after["Xmp.dc.subject"]
    assert after["Xmp.dc.description"] == 'lang="x-default" Green lights'
    assert after["Xmp.xmp.Rating"] == "-1"
    fresh = os.fsencode(tmp_path / "new.jpg")
    xmp.write(fresh, ["red", "circle"], caption="A red circle")
    assert exiv2_keys(xmp.sidecar_path(fresh))["Xmp.lr.hierarchicalSubject"] == "red, circle"


def rewrite_keywords_with_libexiv2(path: bytes, keywords: list[str]) -> None:
    """What digiKam does when a person edits the keywords: libexiv2 reads the sidecar,
    sets the lists and writes it all back."""
    exiv2 = pytest.importorskip("exiv2")  # the dev extra installs it
    image = exiv2.ImageFactory.open(os.fsdecode(path))
    image.readMetadata()
    data = image.xmpData()
    for key in ("Xmp.dc.subject", "Xmp.lr.hierarchicalSubject"):
        value = exiv2.XmpArrayValue(exiv2.TypeId.xmpBag)
        for keyword in keywords:
            value.read(keyword)
        data[key] = value
    image.setXmpData(data)
    image.writeMetadata()


def test_automatic_keywords_stay_automatic_after_another_tool_rewrites_the_file(tmp_path):
    photo = os.fsencode(tmp_path / "IMG_1.JPG")
    xmp.write(photo, ["beach", "sunset", "sea"], auto=["sunset", "sea"])
    path = xmp.sidecar_path(photo)
    written = xmp.read(path)
    assert written.keywords == ("beach", "sunset", "sea")
    assert written.auto == ("sunset", "sea")
    # other tools show them as plain keywords
    assert exiv2_keys(path)["Xmp.dc.subject"] == "beach, sunset, sea"

    # a person, in digiKam: takes "sea" out, adds "Harbour"
    rewrite_keywords_with_libexiv2(path, ["beach", "sunset", "Harbour"])
    after = xmp.read(path)
    assert set(after.keywords) == {"beach", "sunset", "Harbour"}
    assert after.auto == ("sunset",) and after.auto_removed == ("sea",)

    # writing the automatic tags again does not bring back what the person took out
    xmp.write(photo, ["beach", "sunset", "sea"], auto=["sunset", "sea"])
    again = xmp.read(path)
    assert "sea" not in again.keywords and again.auto == ("sunset",)


def test_a_keyword_someone_else_wrote_is_not_marked_automatic(tmp_path):
    photo = photo_with(DIGIKAM, tmp_path)  # digiKam's sidecar has Aurora and Nature
    xmp.write(photo, ["aurora", "nature", "sky"], auto=["aurora", "sky"])
    assert xmp.read(xmp.sidecar_path(photo)).auto == ("sky",)
    xmp.write(photo, ["sky"])  # a person's tag now: no longer marked
    assert xmp.read(xmp.sidecar_path(photo)).auto == ()
    assert b"AutoKeywords" not in Path(os.fsdecode(xmp.sidecar_path(photo))).read_bytes()
