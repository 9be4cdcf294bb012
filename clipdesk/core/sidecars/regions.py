"""Named faces in XMP as MWG face regions (mwg-rs:Regions, the Metadata Working Group's
schema that digiKam, Lightroom, darktable and Picasa read and write). Each region is a
centre, width and height in fractions of the photo (stArea:unit normalized) with a Name
and Type Face; tools write a region's fields as attributes or as child elements, and a
region as rdf:li holding an rdf:Description or fields of its own: both are read.

Merged, never clobbered: every region already there stays as it is (another tool's name
for a face included); a named face gets a region of its own only where no face region
covers its centre. Boxes are in the upright photo's frame (after EXIF orientation), as
clipdesk finds them; tools have disagreed on the frame of rotated photos (digiKam fixed
its own), and this was not checked against them on a rotated photo."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

RS = "http://www.metadataworkinggroup.com/schemas/regions/"
AREA = "http://ns.adobe.com/xmp/sType/Area#"
DIM = "http://ns.adobe.com/xap/1.0/sType/Dimensions#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
PREFIXES = {"mwg-rs": RS, "stArea": AREA, "stDim": DIM}
Box = tuple[float, float, float, float]  # x0, y0, x1, y1: fractions of the photo

_REGIONS, _LIST, _NAME, _TYPE = f"{{{RS}}}Regions", f"{{{RS}}}RegionList", f"{{{RS}}}Name", \
    f"{{{RS}}}Type"
_AREA = f"{{{RS}}}Area"
_BAG, _LI, _DESC = f"{{{RDF}}}Bag", f"{{{RDF}}}li", f"{{{RDF}}}Description"
_PARSE = f"{{{RDF}}}parseType"


def _field(node: ET.Element, name: str) -> str | None:
    """A struct field written as an attribute, a child's text, or in a nested Description."""
    if name in node.attrib:
        return node.attrib[name]
    for holder in (node, node.find(_DESC)):
        if holder is not None:
            child = holder.find(name)
            if child is not None and (child.text or "").strip():
                return (child.text or "").strip()
            if holder is not node and name in holder.attrib:
                return holder.attrib[name]
    return None


def _regions(descs: Sequence[ET.Element]) -> list[ET.Element]:
    """Each region (the element holding its fields)."""
    found = []
    for desc in descs:
        for li in desc.findall(f"{_REGIONS}/{_LIST}/{_BAG}/{_LI}") + desc.findall(
                f"{_REGIONS}/{_DESC}/{_LIST}/{_BAG}/{_LI}"):
            inner = li.find(_DESC)
            found.append(inner if inner is not None else li)
    return found


def _box(region: ET.Element) -> Box | None:
    area = region.find(_AREA)
    if area is None:
        return None
    try:
        x, y, w, h = (float(_field(area, f"{{{AREA}}}{k}") or "nan") for k in "xywh")
    except ValueError:
        return None
    if not all(0.0 <= v <= 1.0 for v in (x, y, w, h)):  # nan, pixels, nonsense
        return None
    return (x - w / 2, y - h / 2, x + w / 2, y + h / 2)


def read_faces(descs: Sequence[ET.Element]) -> list[tuple[str, Box]]:
    """(name, box) of each named face region."""
    faces = []
    for region in _regions(descs):
        name, kind, box = _field(region, _NAME), _field(region, _TYPE), _box(region)
        if name and name.strip() and (kind or "Face") == "Face" and box is not None:
            faces.append((" ".join(name.split()), box))
    return faces


def covers(box: Box, other: Box) -> bool:
    """Whether `box` holds the centre of `other` (the same face, told by two tools)."""
    cx, cy = (other[0] + other[2]) / 2, (other[1] + other[3]) / 2
    return box[0] <= cx <= box[2] and box[1] <= cy <= box[3]


def merge_faces(descs: Sequence[ET.Element], faces: Sequence[tuple[str, Box]],
                size: tuple[int, int] | None) -> None:
    """Add a region for each named face no face region covers yet (`size`: the upright
    photo's pixels, for AppliedToDimensions when the regions are new)."""
    present = [b for r in _regions(descs) if (b := _box(r)) is not None]
    new = [(n, b) for n, b in faces if not any(covers(p, b) or covers(b, p) for p in present)]
    if not new:
        return
    holder = next((d for d in descs if d.find(_REGIONS) is not None), descs[0])
    regions = holder.find(_REGIONS)
    if regions is None:
        regions = ET.SubElement(holder, _REGIONS, {_PARSE: "Resource"})
        if size:
            ET.SubElement(regions, f"{{{RS}}}AppliedToDimensions", {
                f"{{{DIM}}}w": str(size[0]), f"{{{DIM}}}h": str(size[1]),
                f"{{{DIM}}}unit": "pixel"})
    inner = regions.find(_DESC)
    parent = inner if inner is not None else regions
    listing = parent.find(_LIST)
    if listing is None:
        listing = ET.SubElement(parent, _LIST)
    bag = listing.find(_BAG)
    if bag is None:
        bag = ET.SubElement(listing, _BAG)
    for name, (x0, y0, x1, y1) in new:
        li = ET.SubElement(bag, _LI, {_PARSE: "Resource"})
        ET.SubElement(li, _NAME).text = name
        ET.SubElement(li, _TYPE).text = "Face"
        ET.SubElement(li, _AREA, {
            f"{{{AREA}}}x": f"{(x0 + x1) / 2:.5f}", f"{{{AREA}}}y": f"{(y0 + y1) / 2:.5f}",
            f"{{{AREA}}}w": f"{x1 - x0:.5f}", f"{{{AREA}}}h": f"{y1 - y0:.5f}",
            f"{{{AREA}}}unit": "normalized"})
