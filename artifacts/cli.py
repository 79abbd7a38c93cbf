"""The fetch.py command: checkpoints and data sets the recipes need, verified and resumable; releases of fine-tuned
runs.

    python fetch.py --list                                   # every known artefact
    python fetch.py funnel-transformer/xlarge [--to paddle]  # pretrained weights + tokenizer (converted on arrival)
    python fetch.py glue/qnli | squad/v2.0 | clue/afqmc | cluener     # data sets, laid out as the task scripts read
    python fetch.py hf://ORG/REPO@REVISION [--include GLOB]  # any hub repo (hf://datasets/ORG/REPO@REV: a data set)
    python fetch.py https://HOST/PATH --sha256 HEX           # any file or archive
    python fetch.py ... --dest DIR --offline --verify --mirror hf|aistudio|bos|https --endpoint URL
    python fetch.py --publish RUN_DIR --out RELEASE_DIR      # a task script's output folder as a release

The last line printed is the local path. Exit 0 only when every file is present and verified; 2 on any error.
"""
from __future__ import annotations

import argparse
import sys

from reprokit import KitError

from . import fetching
from reprokit.files import summary


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=summary(__doc__), formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.split("\n")[2:]))
    ap.add_argument("targets", nargs="*", help="registry names, hf://ORG/REPO@REV or https:// URLs")
    ap.add_argument("--list", action="store_true", help="list the registry")
    ap.add_argument("--dest", help="where artefacts go (default: $REPROKIT_HOME or ~/.cache/reprokit)")
    ap.add_argument("--offline", action="store_true", help="use only what was fetched before; fail if missing")
    ap.add_argument("--verify", action="store_true", help="re-hash cached files instead of checking their sizes")
    ap.add_argument("--mirror", choices=["hf", "aistudio", "bos", "https"], help="use only this kind of source")
    ap.add_argument("--endpoint", help="hub endpoint (a mirror of huggingface.co; default: HF_ENDPOINT)")
    ap.add_argument("--include", action="append", help="hf://: only files matching this glob (repeatable)")
    ap.add_argument("--sha256", help="https://: the file's expected sha256")
    ap.add_argument("--to", choices=["paddle", "torch"], help="models: also convert to this layout on arrival")
    ap.add_argument("--registry", action="append", default=[], help="an extra registry file (repeatable)")
    ap.add_argument("--publish", metavar="RUN_DIR", help="turn a task script's output folder into a release")
    ap.add_argument("--out", help="--publish: the release folder (must not exist)")
    ap.add_argument("--name", help="--publish: the release's name (ORG/NAME) in its registry entry and upload calls")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    args = ap.parse_args(argv)
    try:
        if args.list:
            print("\n".join(fetching.list_registry(fetching.load_registry(args.registry), args.dest)))
            return 0
        if args.publish:
            from .publish import publish
            if not args.out:
                raise KitError("--publish needs --out RELEASE_DIR")
            print(publish(args.publish, args.out, name=args.name))
            return 0
        if not args.targets:
            raise KitError("name what to fetch (python fetch.py --list shows the registry)")
        out = None
        for target in args.targets:
            out = fetching.fetch(target, args.dest, offline=args.offline, verify=args.verify, mirror=args.mirror,
                                 endpoint=args.endpoint, include=args.include, sha256=args.sha256,
                                 registry_files=args.registry, progress=not args.quiet)
            if args.to:
                out = convert_on_arrival(out, args.to)
            print(out)
        return 0
    except KitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def convert_on_arrival(folder, to: str):
    """A fetched checkpoint in the other layout beside it (`<folder>-<layout>`), converted once."""
    from pathlib import Path

    from reprokit.checkpoint import find_weights
    from reprokit.convert import convert
    folder = Path(folder)
    layout, _ = find_weights(folder)
    if layout == to:
        return folder
    out = folder.with_name(f"{folder.name}-{to}")
    if not out.exists():
        convert(folder, out, to=to)
    return out


if __name__ == "__main__":
    raise SystemExit(main())
