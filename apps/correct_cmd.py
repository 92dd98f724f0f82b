"""``lavr correct IMAGE --text "..."``: check a text about an image and correct it.

The text can be any model's answer or caption. Each claim it makes is
checked with the vision experts (detector, colour expert, OCR); refuted
claims are removed or fixed and supported objects get their boxes inline as
``entity([x1, y1, x2, y2])`` (normalised).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

#: Largest ``--text-file`` accepted, in bytes.
MAX_TEXT_FILE_BYTES = 1_000_000


def add_parser(sub: Any) -> None:
    """Register the ``correct`` subcommand."""
    p = sub.add_parser("correct", help="check a text about an image claim by claim and correct it")
    p.add_argument("image", help="image file (PNG, JPEG, WebP, TIFF, ...)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--text", help="the text to check, e.g. an MLLM's answer")
    src.add_argument("--text-file", metavar="PATH", help="read the text from a file ('-': stdin)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object (corrected, claims with text/verdict/boxes, ...)")
    p.add_argument("--save-annotated", metavar="PATH",
                   help="write the image with each claim's boxes drawn")
    p.add_argument("--policy", choices=("keep", "mark", "remove"), default="mark",
                   help="unverifiable claims: keep, mark with (unverified) (default) or remove")
    p.add_argument("--no-boxes", action="store_true", help="do not attach boxes inline")
    p.add_argument("--detector", default="auto",
                   help="auto (default), shapes, coco, yolo-world, yoloe or a .pt path")
    p.add_argument("--device", default="auto", help="auto (default), cpu or cuda")
    p.set_defaults(func=run)


def _read_text(args: argparse.Namespace) -> str:
    from lavr.core_model.errors import InputError

    if args.text is not None:
        text = args.text
    elif args.text_file == "-":
        stream = getattr(sys.stdin, "buffer", None)
        data = stream.read(MAX_TEXT_FILE_BYTES + 1) if stream is not None else \
            sys.stdin.read(MAX_TEXT_FILE_BYTES + 1).encode("utf-8", "surrogateescape")
        if len(data) > MAX_TEXT_FILE_BYTES:
            raise InputError(f"stdin: more than {MAX_TEXT_FILE_BYTES} bytes of text to check")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"stdin: not UTF-8 text (byte {exc.start}: {exc.reason})") from exc
    else:
        from lavr.core_model.textfiles import read_text_file

        # a pipe or device (/dev/zero) is refused, not read; no UTF-8 or NUL bytes: one line
        text = read_text_file(args.text_file, what="text file",
                              max_bytes=MAX_TEXT_FILE_BYTES)
    if "\x00" in text:
        raise InputError(f"{args.text_file or '--text'}: holds NUL bytes; give plain text")
    if not text.strip():
        raise InputError("the text to check is empty")
    return text.strip()


def _print_human(result: Any) -> None:
    print(f"Original:  {result.original}")
    print("Claims:")
    if not result.claims:
        print("  (none the experts can check)")
    for k in result.claims:
        line = f"  {k.id} [{k.verdict}] {k.kind}: {k.text}"
        if k.verdict == "refuted" and k.truth:
            line += f" → {k.truth}"
        elif k.verdict == "unverifiable":
            line += f" ({k.reason})"
        print(line)
    print(f"Corrected: {result.corrected}")
    for note in result.notes:
        print(f"  note: {note}")


def run(args: argparse.Namespace) -> int:
    """The ``lavr correct`` command."""
    from lavr.agents import VisualAgent
    from lavr.agents.settings import RunSettings

    settings = RunSettings.checked(detector=args.detector, device=args.device, verify=False,
                                   save_annotated=args.save_annotated)
    text = _read_text(args)
    agent = VisualAgent(detector=settings.detector, device=settings.device, verify=False)
    result = agent.correct(args.image, text, policy=args.policy, attach_boxes=not args.no_boxes)
    if args.save_annotated:
        result.save_annotated(args.save_annotated)
    if args.json:
        print(result.to_json())
        return 0
    _print_human(result)
    if args.save_annotated:
        print(f"(annotated image written to {args.save_annotated})")
    return 0
