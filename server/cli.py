"""The ``lstmabar`` command: serve, demo, feedback export, train, data build, library check, batch."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path

from lstmabar.library.config import Config

# Training entry points live next to the models they train; each module has main(argv).
TRAINERS = {
    "lstmabar": "lstmabar.models.lstmabar.train",
    "lstmabar-v2": "lstmabar.models.lstmabar.train_v2",
    "match": "lstmabar.models.matching.train",
    "reward": "lstmabar.models.reward.train",
}


def _config(args: argparse.Namespace) -> Config:
    return Config.from_env(
        output_dir=Path(args.output_dir).expanduser() if getattr(args, "output_dir", None) else None,
        database_url=getattr(args, "database_url", None),
        embedder=getattr(args, "embedder", None),
        token=getattr(args, "token", None),
        workers=getattr(args, "workers", None),
        blob_store=getattr(args, "blob_store", None),
        stateless_http=True if getattr(args, "stateless", False) else None,
    )


def cmd_serve(args: argparse.Namespace) -> int:
    from .app import build_server

    config = _config(args)
    if args.http:  # a weak or missing token off loopback stops here, before the library is opened
        from .http import check_token

        check_token(args.host, config.token)
    server = build_server(config, preload=args.preload)
    if args.http:
        from .http import serve_http

        serve_http(server, host=args.host, port=args.port, token=config.token, stateless=config.stateless_http)
    else:
        server.run("stdio")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(Path(args.out), embedder=args.embedder)


def cmd_feedback(args: argparse.Namespace) -> int:
    from lstmabar.library.export import export_feedback
    from lstmabar.library.store import SoundLibrary

    lib = SoundLibrary(_config(args))
    try:
        n = export_feedback(lib, Path(args.out), fmt=args.format)
    finally:
        lib.close()
    print(f"wrote {n} rows to {args.out}", file=sys.stderr)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    module = importlib.import_module(TRAINERS[args.model])
    if args.model == "reward":
        _publish_reward(args.args)  # fetch the shared versions first, so the new one gets the next number
    rc = int(module.main(args.args) or 0)
    if args.model == "reward":
        _publish_reward(args.args)
    return rc


def _publish_reward(trainer_args: list[str]) -> None:
    """With a shared blob store, bring this machine's reward folder and the store in step: shared
    versions are fetched, and versions a trainer wrote here are handed to every replica (their sync
    loop fetches new ones about once a second). A no-op with the local store."""
    from lstmabar.library.store import SoundLibrary
    from lstmabar.server.state import sync_reward

    out = argparse.ArgumentParser(add_help=False)
    out.add_argument("--output-dir")
    out.add_argument("--database-url")
    known, _ = out.parse_known_args(trainer_args)
    lib = SoundLibrary(_config(known))
    try:
        moved = sync_reward(lib)
    finally:
        lib.close()
    if moved["uploaded"]:
        print(f"published {', '.join(moved['uploaded'])} to {lib.blobs.describe()}", file=sys.stderr)


def cmd_library(args: argparse.Namespace) -> int:
    import json

    from lstmabar.library.store import SoundLibrary

    lib = SoundLibrary(_config(args))
    try:
        report = lib.check(remove=args.remove, grace_s=args.grace_s)
    finally:
        lib.close()
    print(json.dumps(report, indent=2))
    left = [k for k in report["orphan_blobs"] if k not in report["removed"]]
    return 1 if left or report["rows_without_blob"] else 0



def cmd_batch(args: argparse.Namespace) -> int:
    from .batch import run_batch_cli

    return run_batch_cli(args, _config(args))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lstmabar", description="MCP server for sound design.")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging (stderr)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run the MCP server (stdio by default)")
    s.add_argument("--http", action="store_true", help="serve streamable HTTP instead of stdio")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8765)
    s.add_argument("--token", help="bearer token (default: LSTMABAR_TOKEN); required off loopback: 16+ characters, no spaces")
    s.add_argument("--output-dir", help="library folder (default: LSTMABAR_OUTPUT_DIR)")
    s.add_argument("--database-url", help="SQLAlchemy URL (default: SQLite in the output folder)")
    s.add_argument("--embedder", help="lstmabar (default) or clap[:path-or-hub-id]")
    s.add_argument("--workers", type=int, help="tool calls computed at once (default 2)")
    s.add_argument("--preload", action="store_true", help="load the embedder at start-up")
    s.add_argument("--blob-store", help="local (default), database, or an fsspec URL (default: LSTMABAR_BLOB_STORE)")
    s.add_argument("--stateless", action="store_true", help="streamable HTTP without sessions, for replicas (default: LSTMABAR_STATELESS_HTTP)")
    s.set_defaults(func=cmd_serve)

    lb = sub.add_parser("library", help="`library check [--remove]`: blobs without a row and rows without a blob")
    lb.add_argument("library_action", choices=["check"])
    lb.add_argument("--remove", action="store_true", help="delete orphan blobs older than the grace period")
    lb.add_argument("--grace-s", type=float, default=None, help="skip blobs younger than this (default: 0 local, 600 for a shared store)")
    lb.add_argument("--output-dir")
    lb.add_argument("--database-url")
    lb.add_argument("--blob-store")
    lb.set_defaults(func=cmd_library)

    from .batch import add_parser as add_batch_parser

    add_batch_parser(sub)
    sub.choices["batch"].set_defaults(func=cmd_batch)

    d = sub.add_parser("demo", help="scripted session: start the server over stdio and drive it")
    d.add_argument("--out", default="out/demo", help="folder for WAV files and summary.json")
    d.add_argument("--embedder", default=None)
    d.set_defaults(func=cmd_demo)

    f = sub.add_parser("feedback", help="feedback dataset")
    fsub = f.add_subparsers(dest="feedback_command", required=True)
    e = fsub.add_parser("export", help="write the preference dataset")
    e.add_argument("--format", choices=["jsonl", "parquet"], default="jsonl")
    e.add_argument("--out", required=True)
    e.add_argument("--output-dir", help="library folder (default: LSTMABAR_OUTPUT_DIR)")
    e.add_argument("--database-url")
    e.set_defaults(func=cmd_feedback)

    r = sub.add_parser("reward", help="reward model from ratings: train, eval (held-out pairwise accuracy), export with predictions")
    r.add_argument("reward_action", choices=["train", "eval", "export"])
    r.add_argument("args", nargs=argparse.REMAINDER, help="passed to the reward trainer")
    r.set_defaults(func=None)

    c = sub.add_parser("data", help="training data: `data build --out DIR [--scale small|full] [--seed N]` renders the LSTMABAR v2 corpus")
    c.add_argument("data_action", choices=["build"])
    c.add_argument("args", nargs=argparse.REMAINDER, help="passed to the corpus builder (try `lstmabar data build --help`)")
    c.set_defaults(func=None)

    t = sub.add_parser("train", help="train a model; further arguments go to its trainer")
    t.add_argument("model", choices=sorted(TRAINERS))
    t.add_argument("args", nargs=argparse.REMAINDER, help="passed to the model's trainer (try --help)")
    t.set_defaults(func=None)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "train":
        return cmd_train(args)
    if args.command == "data":
        from lstmabar.models.lstmabar.corpus.build import main as build_main

        return int(build_main(args.args) or 0)
    if args.command == "reward":
        from lstmabar.models.reward.train import main as reward_main

        if args.reward_action in ("train", "eval", "export"):
            _publish_reward(args.args)  # the shared versions, before training (numbering) or reading them
        rc = int(reward_main([args.reward_action, *args.args]) or 0)
        if args.reward_action == "train":
            _publish_reward(args.args)
        return rc
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
