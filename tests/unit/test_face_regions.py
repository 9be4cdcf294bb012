"""Named faces in XMP sidecars as MWG face regions (core/sidecars/regions.py through
xmp.py): written where none is, read back in the forms tools write, never clobbered."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from clipdesk.core.sidecars import xmp
from tests.unit.test_xmp import DIGIKAM, digest, photo_with

# a region as fields of the rdf:li (Lightroom's and exiftool's form), and one as an
# rdf:Description with attributes inside the li (another common form)
TWO_TOOLS = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/"
 xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#">
<mwg-rs:Regions rdf:parseType="Resource"><mwg-rs:RegionList><rdf:Bag>
<rdf:li rdf:parseType="Resource"><mwg-rs:Name>Anna</mwg-rs:Name><mwg-rs:Type>Face</mwg-rs:Type>
<mwg-rs:Area stArea:x="0.25" stArea:y="0.3" stArea:w="0.1" stArea:h="0.2" stArea:unit="normalized"/>
</rdf:li>
<rdf:li><rdf:Description mwg-rs:Name="Ben" mwg-rs:Type="Face"><mwg-rs:Area>
<rdf:Description stArea:x="0.7" stArea:y="0.5" stArea:w="0.2" stArea:h="0.2"/></mwg-rs:Area>
</rdf:Description></rdf:li>
<rdf:li rdf:parseType="Resource"><mwg-rs:Name>the sea</mwg-rs:Name><mwg-rs:Type>Focus</mwg-rs:Type>
<mwg-rs:Area stArea:x="0.5" stArea:y="0.9" stArea:w="0.9" stArea:h="0.1"/></rdf:li>
</rdf:Bag></mwg-rs:RegionList></mwg-rs:Regions></rdf:Description></rdf:RDF></x:xmpmeta>
"""


def test_a_named_face_is_written_and_read_back(tmp_path: Path) -> None:
    photo = os.fsencode(tmp_path / "a.jpg")
    assert xmp.write(photo, [], faces=[("Anna Smith", (0.2, 0.1, 0.4, 0.5))], size=(600, 400))
    found = xmp.read(xmp.sidecar_path(photo)).faces
    assert [n for n, _ in found] == ["Anna Smith"]
    assert found[0][1] == pytest.approx((0.2, 0.1, 0.4, 0.5))
    assert b"mwg-rs:Regions" in Path(os.fsdecode(xmp.sidecar_path(photo))).read_bytes()
    assert not xmp.write(photo, [], faces=[("Anna Smith", (0.2, 0.1, 0.4, 0.5))])  # no change


def test_other_tools_regions_are_read_in_both_forms_and_never_clobbered(tmp_path: Path) -> None:
    photo = os.fsencode(tmp_path / "b.jpg")
    with open(xmp.sidecar_path(photo), "w") as f:
        f.write(TWO_TOOLS)
    faces = xmp.read(xmp.sidecar_path(photo)).faces
    assert [n for n, _ in faces] == ["Anna", "Ben"]  # the Focus region is not a face
    assert faces[1][1] == pytest.approx((0.6, 0.4, 0.8, 0.6))
    # our name for Ben's face does not replace theirs; a face no region covers is added
    xmp.write(photo, [], faces=[("Benjamin", (0.62, 0.42, 0.78, 0.58)),
                                ("Cleo", (0.05, 0.7, 0.15, 0.8))])
    assert [n for n, _ in xmp.read(xmp.sidecar_path(photo)).faces] == ["Anna", "Ben", "Cleo"]
    text = Path(os.fsdecode(xmp.sidecar_path(photo))).read_text()
    assert "the sea" in text and "Benjamin" not in text


def test_a_region_merged_into_a_digikam_sidecar_keeps_its_keywords(tmp_path: Path) -> None:
    photo = photo_with(DIGIKAM, tmp_path)
    before = xmp.read(xmp.sidecar_path(photo))
    original = digest(photo)
    assert xmp.write(photo, [], faces=[("Anna", (0.1, 0.1, 0.3, 0.4))])
    after = xmp.read(xmp.sidecar_path(photo))
    assert (after.keywords, after.caption, after.rating) == (
        before.keywords, before.caption, before.rating)
    assert [n for n, _ in after.faces] == ["Anna"]
    assert digest(photo) == original  # the photo itself is never opened for writing
