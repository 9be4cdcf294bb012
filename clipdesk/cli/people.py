"""People: faces found on this computer, grouped into people, named and corrected.

    clipdesk people                    every person: id, photos, name
    clipdesk people find               turn faces on; look at the photos not looked at yet
    clipdesk people name 3 Anna        name person 3 (their faces now stay theirs)
    clipdesk people merge 5 7 --into 3 people 5 and 7 are person 3
    clipdesk people show 3             person 3's faces (face id, photo)
    clipdesk people in IMG             the faces in a photo and their people
    clipdesk people move 42 [--to 3]   face 42 to person 3 (or to a person of its own)
    clipdesk people not 42             face 42 is not its person (it is grouped again)
    clipdesk people off                faces off: every face, descriptor and name deleted
Then `clipdesk search "Anna beach 2019"`."""
from __future__ import annotations

import argparse
import contextlib
import os
import sys

from clipdesk.cli.common import add_json_option, drive, open_library, print_json, say_problems
from clipdesk.core.types import Problem
from clipdesk.wording import plural


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("people", help="people: faces found on this computer, named, searched",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(run=cmd_list)
    add_json_option(p)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    a = actions.add_parser("find", help="turn faces on and look for them in the photos "
                           "not looked at yet (then each index run does)")
    a.set_defaults(run=cmd_find)
    add_json_option(a)
    a = actions.add_parser("off", help="turn faces off: delete every face, descriptor, "
                           "person and name")
    a.set_defaults(run=cmd_off)
    a = actions.add_parser("name", help="name a person (no NAME: unnamed again)")
    a.add_argument("person", type=int, metavar="ID")
    a.add_argument("name", nargs="*", metavar="NAME")
    a.set_defaults(run=cmd_name)
    a = actions.add_parser("merge", help="these people are one person")
    a.add_argument("people", type=int, nargs="+", metavar="ID")
    a.add_argument("--into", type=int, required=True, metavar="ID", help="the one they are")
    a.set_defaults(run=cmd_merge)
    a = actions.add_parser("show", help="a person's faces: face id and photo")
    a.add_argument("person", type=int, metavar="ID")
    add_json_option(a)
    a.set_defaults(run=cmd_show)
    a = actions.add_parser("in", help="the faces in a photo and their people")
    a.add_argument("image", metavar="IMG")
    add_json_option(a)
    a.set_defaults(run=cmd_in)
    a = actions.add_parser("move", help="put a face in another person, or one of its own")
    a.add_argument("face", type=int, metavar="FACE")
    a.add_argument("--to", type=int, metavar="ID", help="the person (default: a new one)")
    a.set_defaults(run=cmd_move)
    a = actions.add_parser("not", help='"not this person": the face leaves its person '
                           "for good")
    a.add_argument("face", type=int, metavar="FACE")
    a.set_defaults(run=cmd_not)


def cmd_list(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        people = lib.people.people()
        if args.json:
            print_json([{"id": p.id, "name": p.name, "photos": p.photos} for p in people])
        elif not people:
            looked, _ = lib.people.counts()
            print("No people yet" + ("" if looked else
                                     " (clipdesk people find looks for faces)"))
        for p in [] if args.json else people:
            print(f"{p.id:6d}  {p.photos:6d}  {p.name or '(unnamed)'}")
    return 0


def cmd_find(args: argparse.Namespace) -> int:
    """Ctrl-C stops after the photo in hand: the faces found stay, the next run goes on."""
    with open_library(args) as lib:
        problems: list[Problem] = []
        before = lib.people.counts()
        with contextlib.closing(lib.people.find()) as job:
            drive(say_problems(job, problems), "Finding faces")
        looked, faces = lib.people.counts()
        people = len(lib.people.people())
        if args.json:
            print_json({"looked_now": looked - before[0], "faces_now": faces - before[1],
                        "photos": looked, "faces": faces, "people": people,
                        "problems": len(problems)})
        else:
            print(f"Looked at {plural(looked - before[0], 'photo')} now, "
                  f"{plural(faces - before[1], 'face')} found; "
                  f"{plural(faces, 'face')} in all, {plural(people, 'person')}")
    return 1 if problems else 0


def cmd_off(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        lib.people.turn_off()
    print("Faces are off: every face, descriptor, person and name is deleted")
    return 0


def cmd_name(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        lib.people.name(args.person, " ".join(args.name))
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        lib.people.merge(args.people, args.into)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        faces = lib.people.faces_of(args.person)
        paths = lib.photos.paths(photo for _, photo in faces)
        shown = [(face, paths[photo]) for face, photo in faces if photo in paths]
        if args.json:
            print_json([{"face": f, "path": os.fsdecode(p)} for f, p in shown])
        for face, path in [] if args.json else shown:
            sys.stdout.buffer.write(f"{face:6d}  ".encode() + path + b"\n")
    return 0


def cmd_in(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        photo_id = lib.photos.id_of(args.image)
        faces = lib.people.in_photo(photo_id)
        if args.json:
            print_json([{"face": f.id, "box": list(f.box), "person": f.person_id,
                         "name": f.name} for f in faces])
        for f in [] if args.json else faces:
            print(f"{f.id:6d}  person {f.person_id}  {f.name or '(unnamed)'}")
    return 0


def cmd_move(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        person = lib.people.move(args.face, args.to)
    print(f"Face {args.face} is in person {person}")
    return 0


def cmd_not(args: argparse.Namespace) -> int:
    with open_library(args) as lib:
        lib.people.not_person(args.face)
    return 0
