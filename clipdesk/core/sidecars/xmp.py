"""XMP sidecars: `NAME.EXT.xmp` beside a photo (digiKam's and darktable's naming), the way
other photo tools read a person's tags, caption and rating without touching the photo.

Tags go to dc:subject (flat, rdf:Bag) and lr:hierarchicalSubject ('|' paths), and to
digiKam:TagsList, MicrosoftPhoto:LastKeywordXMP and mediapro:CatalogSets where a sidecar
already has them (digiKam reads TagsList before dc:subject); the caption to
dc:description (rdf:Alt, x-default); a reject to xmp:Rating -1. A sidecar that exists is
merged: every other property, namespace and attribute another tool wrote is kept, and
the file is replaced atomically. Sidecars are untrusted input: parsed with defusedxml
(no DTDs, no entities); sidecar_files.py opens (only regular files) and replaces them.
Keywords clipdesk wrote as automatic are listed in clipdesk:AutoKeywords too, so reading
them back keeps them automatic while other tools show them as plain keywords.
"""
from __future__ import annotations

import os
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import defusedxml.ElementTree as SafeET

from clipdesk.core.sidecars import files as sidecar_files
from clipdesk.core.sidecars import regions
from clipdesk.core.sidecars.files import LeftAlone, SidecarError

__all__ = ["LeftAlone", "Sidecar", "SidecarError", "photo_of", "read", "sidecar_path", "write"]

SUFFIX = b".xmp"
MAX_BYTES = 32 << 20  # darktable histories run to a few MB; more is not a sidecar

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XML = "http://www.w3.org/XML/1998/namespace"
NS = {
    "x": "adobe:ns:meta/",
    "rdf": RDF,
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "lr": "http://ns.adobe.com/lightroom/1.0/",
    "digiKam": "http://www.digikam.org/ns/1.0/",
    "MicrosoftPhoto": "http://ns.microsoft.com/photo/1.0/",
    "mediapro": "http://ns.iview-multimedia.com/mediapro/1.0/",
    "clipdesk": "http://ns.clipdesk.org/xmp/1.0/",
    **regions.PREFIXES,  # named faces: MWG regions (regions.py)
}


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


SUBJECT = _q("dc", "subject")
DESCRIPTION = _q("dc", "description")
RATING = _q("xmp", "Rating")
HIERARCHICAL = _q("lr", "hierarchicalSubject")
AUTO = _q("clipdesk", "AutoKeywords")  # the keywords clipdesk wrote as its own guesses
# hierarchical keyword lists other tools keep in step with dc:subject: (name, separator)
MIRRORS = ((HIERARCHICAL, "|"), (_q("digiKam", "TagsList"), "/"),
           (_q("MicrosoftPhoto", "LastKeywordXMP"), "/"), (_q("mediapro", "CatalogSets"), "|"))
# what darktable files under its own tags (darktable|format|jpg): not a person's keywords
TOOL_TAG_ROOTS = ("darktable",)

_CONTAINERS = {_q("rdf", "Bag"), _q("rdf", "Seq"), _q("rdf", "Alt")}
_LI, _DESC, _RDF = _q("rdf", "li"), _q("rdf", "Description"), _q("rdf", "RDF")
_HEAD = re.compile(rb"\A(\s*<\?xml[^>]*\?>)?(\s*<\?xpacket begin[^>]*\?>)?")
_TAIL = re.compile(rb"<\?xpacket end[^>]*\?>\s*\Z")
_NEW_HEAD = b'<?xml version="1.0" encoding="UTF-8"?>'
_prefix_lock = threading.Lock()  # ElementTree's prefix map is process-wide


def sidecar_path(photo: bytes) -> bytes:
    """The sidecar of a photo: the photo's whole name plus .xmp (IMG_1.JPG.xmp)."""
    return photo + SUFFIX


def photo_of(sidecar: bytes) -> bytes | None:
    """The photo a sidecar belongs to (IMG_1.JPG for IMG_1.JPG.xmp), None if not one."""
    if not sidecar.lower().endswith(SUFFIX) or b"." not in os.path.basename(sidecar)[:-4]:
        return None
    return sidecar[:-len(SUFFIX)]


@dataclass(frozen=True)
class Sidecar:
    """What a sidecar says about a photo: keywords (leaf names, as written, a tool's own
    tags left out), the caption (x-default) and the rating (-1: rejected). Of the
    keywords, `auto` are those clipdesk wrote as automatic; `auto_removed` are automatic
    ones it wrote that are gone from the keywords (a person took them out elsewhere)."""

    keywords: tuple[str, ...] = ()
    caption: str | None = None
    rating: int | None = None
    auto: tuple[str, ...] = ()
    auto_removed: tuple[str, ...] = ()
    faces: tuple[tuple[str, regions.Box], ...] = ()  # named face regions: (name, box)


@dataclass
class _Packet:
    root: ET.Element
    prefixes: dict[str, str]  # prefix -> namespace, as the file declared them
    head: bytes
    tail: bytes
    mode: int  # the permission bits a replacement gets
    writable: bool = True  # False: a read-only sidecar, left as it is


def read(path: bytes) -> Sidecar:
    """The keywords, caption and rating of the sidecar at `path` (SidecarError if it
    cannot be read or is not XMP)."""
    descs = _descriptions(_load(path, must_exist=True).root)
    keywords = _keywords(descs)
    present = {k.casefold() for k in keywords}
    marked = _items(descs, AUTO) or []
    auto = {k.casefold() for k in marked}
    return Sidecar(keywords=tuple(keywords), caption=_alt_default(descs, DESCRIPTION),
                   rating=_rating(descs), auto=tuple(k for k in keywords if k.casefold() in auto),
                   auto_removed=tuple(k for k in marked if k.casefold() not in present),
                   faces=tuple(regions.read_faces(descs)))


def write(photo: bytes, tags: Sequence[str], removed: Collection[str] = (),
          caption: str | None = None, rejected: bool = False,
          auto: Collection[str] = (), faces: Sequence[tuple[str, regions.Box]] = (),
          size: tuple[int, int] | None = None) -> bool:
    """Merge `tags` (added where missing), `removed` (taken out, any case), the caption
    (when given) and the reject into the photo's sidecar, creating it if needed. Those of
    `tags` also in `auto` are automatic: marked so, and not added again once a person
    took them out in another tool; named `faces` become face regions where none is (`size`:
    the photo's pixels). The photo is never opened. Returns False when the
    sidecar already said all that; LeftAlone when it is not a regular file, or read-only."""
    path = sidecar_path(photo)
    packet = _load(path, must_exist=False)
    descs = _descriptions(packet.root)
    before = _canonical(packet.root)
    gone = {t.casefold() for t in removed}
    marked = _items(descs, AUTO) or []
    present = {k.casefold() for k in _keywords(descs)}
    taken_out = {k.casefold() for k in marked} - present  # by a person, in another tool
    automatic = {t.casefold() for t in auto}
    tags = [t for t in tags if t.casefold() not in gone
            and not (t.casefold() in automatic and t.casefold() in taken_out)]
    _merge_keywords(descs, tags, gone)
    _mark_automatic(descs, marked, [t for t in tags if t.casefold() not in present], tags,
                    automatic)
    if caption:
        _set_alt_default(descs, DESCRIPTION, caption)
    regions.merge_faces(descs, faces, size)
    rating = _rating(descs)
    if rejected:
        _set_simple(descs, RATING, "-1")
    elif rating is not None and rating < 0:  # no longer rejected
        _set_simple(descs, RATING, "0")
    if _canonical(packet.root) == before:
        return False  # nothing new (and no empty sidecar for a photo with nothing to say)
    if not packet.writable:
        raise sidecar_files.read_only(path)
    sidecar_files.replace(path, _serialize(packet), packet.mode)
    return True


def _mark_automatic(descs: list[ET.Element], marked: list[str], added: list[str],
                    tags: list[str], automatic: set[str]) -> None:
    """clipdesk:AutoKeywords: what it marked before (a keyword gone from the lists stays
    marked: that records a person's removal elsewhere), less the tags now a person's,
    plus the automatic tags this write `added` (one already there is someone's keyword)."""
    person = {t.casefold() for t in tags} - automatic
    kept = [k for k in marked if k.casefold() not in person]
    have = {k.casefold() for k in kept}
    new = [t for t in added if t.casefold() in automatic and t.casefold() not in have]
    if kept + new:
        _set_array(descs, AUTO, kept + new, "Bag")
        return
    desc, element = _prop(descs, AUTO)
    if element is not None:
        desc.remove(element)


# -- reading ------------------------------------------------------------------------------

def _load(path: bytes, must_exist: bool) -> _Packet:
    name = os.fsdecode(path)
    existing = sidecar_files.read_regular(path, MAX_BYTES)
    if existing is None:
        if must_exist:
            raise SidecarError(f"{name}: no such file")
        return _new_packet()
    data = existing.data
    prefixes: dict[str, str] = {}
    root: ET.Element | None = None
    try:
        for event, item in SafeET.iterparse(BytesIO(data), events=("start-ns", "start")):
            if event == "start-ns":
                prefixes.setdefault(*item)
            elif root is None:
                root = item
    except ET.ParseError as exc:
        raise SidecarError(f"{name}: not valid XML ({exc}); it was left as it is") from None
    except ValueError as exc:  # defusedxml: a DTD, entities, external references
        raise SidecarError(f"{name}: refused ({type(exc).__name__}); it was left as it is") \
            from None
    if root is None or _find_rdf(root) is None:
        raise SidecarError(f"{name}: not an XMP sidecar (no rdf:RDF); it was left as it is")
    head = _HEAD.match(data)
    tail = _TAIL.search(data)
    # the xpacket wrapper as it was; an XML declaration becomes ours (we write UTF-8)
    packet_head = (head.group(2) or b"").strip() if head else b""
    declared = head is not None and head.group(1) is not None
    return _Packet(root, prefixes, b"\n".join(p for p in (_NEW_HEAD * declared, packet_head) if p),
                   tail.group(0).strip() if tail else b"", existing.mode, existing.writable)


def _new_packet() -> _Packet:
    root = ET.Element(_q("x", "xmpmeta"), {_q("x", "xmptk"): "clipdesk"})
    rdf = ET.SubElement(root, _RDF)
    ET.SubElement(rdf, _DESC, {_q("rdf", "about"): ""})
    return _Packet(root, {}, _NEW_HEAD, b"", sidecar_files.new_file_mode())


def _find_rdf(root: ET.Element) -> ET.Element | None:
    return root if root.tag == _RDF else root.find(f".//{_RDF}")


def _descriptions(root: ET.Element) -> list[ET.Element]:
    """The top-level rdf:Description elements (a tool may split properties over several);
    at least one."""
    rdf = _find_rdf(root)
    assert rdf is not None  # _load checked it
    descs = rdf.findall(_DESC)
    if not descs:
        descs = [ET.SubElement(rdf, _DESC, {_q("rdf", "about"): ""})]
    return descs


def _prop(descs: list[ET.Element], name: str) -> tuple[ET.Element, ET.Element | None]:
    """The Description holding property `name` and its element (None: an attribute, or
    absent, then the first Description)."""
    for desc in descs:
        element = desc.find(name)
        if element is not None:
            return desc, element
        if name in desc.attrib:
            return desc, None
    return descs[0], None


def _items(descs: list[ET.Element], name: str) -> list[str] | None:
    """The rdf:li texts of an array property, None if it is absent."""
    _, element = _prop(descs, name)
    if element is None:
        return None
    container = next((c for c in element if c.tag in _CONTAINERS), None)
    if container is None:
        return [element.text.strip()] if element.text and element.text.strip() else []
    return [(li.text or "").strip() for li in container.findall(_LI) if (li.text or "").strip()]


def _keywords(descs: list[ET.Element]) -> list[str]:
    """A person's keywords: the leaves of the hierarchical lists and dc:subject, without
    the words a tool filed under its own root (darktable|format|jpg puts 'darktable',
    'format' and 'jpg' into dc:subject too)."""
    paths: list[list[str]] = []
    for name, sep in MIRRORS:
        paths += [[p.strip() for p in item.split(sep) if p.strip()]
                  for item in _items(descs, name) or []]
    tool_words = {w.casefold() for p in paths if p and p[0] in TOOL_TAG_ROOTS for w in p}
    person = [p for p in paths if p and p[0] not in TOOL_TAG_ROOTS]
    leaves = {p[-1].casefold() for p in person}
    found = [p[-1] for p in person]
    found += [k for k in _items(descs, SUBJECT) or []
              if k.casefold() not in tool_words or k.casefold() in leaves]
    unique: dict[str, str] = {}
    for keyword in found:
        unique.setdefault(keyword.casefold(), keyword)
    return list(unique.values())


def _alt_default(descs: list[ET.Element], name: str) -> str | None:
    _, element = _prop(descs, name)
    if element is None:
        return None
    lis = element.findall(f"{_q('rdf', 'Alt')}/{_LI}")
    chosen = next((li for li in lis if li.get(f"{{{XML}}}lang") == "x-default"),
                  lis[0] if lis else None)
    text = chosen.text if chosen is not None else element.text
    return text.strip() or None if text else None


def _rating(descs: list[ET.Element]) -> int | None:
    desc, element = _prop(descs, RATING)
    text = element.text if element is not None else desc.get(RATING)
    try:
        return round(float(text)) if text is not None else None
    except ValueError:
        return None


# -- merging ------------------------------------------------------------------------------

def _merge_keywords(descs: list[ET.Element], tags: list[str], gone: set[str]) -> None:
    """Keep every keyword and path a person has not removed in clipdesk, add the tags
    that are missing; the hierarchical lists other tools keep get the same change."""
    subject = _items(descs, SUBJECT) or []
    kept = [k for k in subject if k.casefold() not in gone]
    have = {k.casefold() for k in kept}
    _set_array(descs, SUBJECT, kept + [t for t in tags if t.casefold() not in have], "Bag")
    for name, sep in MIRRORS:
        items = _items(descs, name)
        if items is None and name != HIERARCHICAL:
            continue  # only lists this sidecar already keeps (lr: always)
        items = items or []
        kept = [i for i in items if i.split(sep)[-1].strip().casefold() not in gone]
        have = {i.split(sep)[-1].strip().casefold() for i in kept}
        container = "Seq" if name == MIRRORS[1][0] else "Bag"
        _set_array(descs, name, kept + [t for t in tags if t.casefold() not in have],
                   container)


def _set_array(descs: list[ET.Element], name: str, values: list[str], kind: str) -> None:
    if _items(descs, name) == values:
        return
    desc, element = _prop(descs, name)
    if element is None:
        if not values:
            return
        element = ET.SubElement(desc, name)
    container = next((c for c in element if c.tag in _CONTAINERS), None)
    if container is None:
        element.text = None
        container = ET.SubElement(element, _q("rdf", kind))
    for li in container.findall(_LI):
        container.remove(li)
    for value in values:
        ET.SubElement(container, _LI).text = value


def _set_alt_default(descs: list[ET.Element], name: str, text: str) -> None:
    if _alt_default(descs, name) == text.strip():
        return
    desc, element = _prop(descs, name)
    if element is None:
        element = ET.SubElement(desc, name)
    alt = element.find(_q("rdf", "Alt"))
    if alt is None:
        element.text = None
        alt = ET.SubElement(element, _q("rdf", "Alt"))
    lang = f"{{{XML}}}lang"
    li = next((li for li in alt.findall(_LI) if li.get(lang) == "x-default"), None)
    if li is None:
        li = ET.Element(_LI, {lang: "x-default"})
        alt.insert(0, li)
    li.text = text


def _set_simple(descs: list[ET.Element], name: str, value: str) -> None:
    desc, element = _prop(descs, name)
    if element is not None:
        element.text = value
    else:
        desc.set(name, value)  # exiv2 writes simple values as attributes


# -- writing ------------------------------------------------------------------------------

def _canonical(element: ET.Element) -> Any:
    """A comparable form of a tree: whitespace between elements does not count."""
    return (element.tag, sorted(element.attrib.items()), (element.text or "").strip(),
            [_canonical(child) for child in element])


def _serialize(packet: _Packet) -> bytes:
    ET.indent(packet.root, space=" ")
    with _prefix_lock:  # the file's own prefixes (digiKam:, darktable:), not ns0:
        for prefix, uri in {**NS, **packet.prefixes}.items():
            if prefix and not re.fullmatch(r"ns\d+", prefix):
                ET.register_namespace(prefix, uri)
        body = ET.tostring(packet.root, encoding="unicode")
    parts = [packet.head, body.encode("utf-8"), packet.tail]
    return b"\n".join(p for p in parts if p) + b"\n"
