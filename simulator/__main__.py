"""`python -m simulator`: run the ESP simulator standalone (the dev stack's port 8025)."""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Mapping, Sequence

import uvicorn

from simulator.app import create_app

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8025
DEFAULT_API_KEY = "SG.dev-simulator-key"


def parse_args(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> argparse.Namespace:
    """Options, defaulting to `NURTURE_SIMULATOR_PORT` and `NURTURE_SENDGRID_API_KEY`."""
    env = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(
        prog="python -m simulator", description="SendGrid-compatible ESP simulator."
    )
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument(
        "--port", type=int, default=int(env.get("NURTURE_SIMULATOR_PORT", DEFAULT_PORT))
    )
    parser.add_argument(
        "--api-key",
        default=env.get("NURTURE_SENDGRID_API_KEY", DEFAULT_API_KEY),
        help="the key clients must send as 'Authorization: Bearer <key>'",
    )
    parser.add_argument("--log-level", default="info")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    uvicorn.run(
        create_app(args.api_key),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,  # query strings may hold addresses (?recipient=)
    )


if __name__ == "__main__":
    main()
