"""`python -m simulator`: run the ESP simulator standalone (the dev stack's port 8025)."""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import uvicorn

from simulator.app import create_app
from simulator.scenario import PRESETS, load_scenario
from simulator.webhooks import EventSigner, WebhookConfig, WebhookDispatcher

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8025
DEFAULT_API_KEY = "SG.dev-simulator-key"
DEFAULT_SCENARIO = "default"

logger = logging.getLogger("simulator")


def parse_args(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> argparse.Namespace:
    """Options, defaulting to `NURTURE_SIMULATOR_*` and `NURTURE_SENDGRID_API_KEY`."""
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
    parser.add_argument(
        "--webhook-url",
        default=env.get("NURTURE_SIMULATOR_WEBHOOK_URL") or None,
        help="where to POST signed Event Webhook batches (off when unset)",
    )
    parser.add_argument(
        "--inbound-url",
        default=env.get("NURTURE_SIMULATOR_INBOUND_URL") or None,
        help="where to POST Inbound Parse replies (off when unset)",
    )
    parser.add_argument(
        "--scenario",
        default=env.get("NURTURE_SIMULATOR_SCENARIO", DEFAULT_SCENARIO),
        help=f"a preset ({', '.join(PRESETS)}) or a scenario JSON file",
    )
    parser.add_argument(
        "--webhook-private-key-file",
        type=Path,
        default=env.get("NURTURE_SIMULATOR_WEBHOOK_PRIVATE_KEY_FILE") or None,
        help="PEM EC P-256 key that signs event webhooks (default: a new key per start)",
    )
    seed = env.get("NURTURE_SIMULATOR_SEED")
    parser.add_argument(
        "--seed",
        type=int,
        default=int(seed) if seed else None,
        help="seed for the scenario's draws (default: the scenario's, else random)",
    )
    parser.add_argument(
        "--flush-seconds",
        type=float,
        default=float(env.get("NURTURE_SIMULATOR_FLUSH_SECONDS", 1.0)),
        help="post a batch at most this long after its first event",
    )
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--log-level", default="info")
    return parser.parse_args(argv)


def build_dispatcher(args: argparse.Namespace) -> WebhookDispatcher:
    """The webhook dispatcher the options describe."""
    signer = (
        EventSigner.from_pem(args.webhook_private_key_file.read_bytes())
        if args.webhook_private_key_file
        else EventSigner.generate()
    )
    return WebhookDispatcher(
        WebhookConfig(
            events_url=args.webhook_url,
            inbound_url=args.inbound_url,
            batch_size=args.batch_size,
            flush_seconds=args.flush_seconds,
        ),
        load_scenario(args.scenario),
        signer,
        seed=args.seed,
    )


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    webhooks = build_dispatcher(args)
    if webhooks.enabled:
        logger.info(
            "webhooks on scenario=%s seed=%d events_url=%s inbound_url=%s public_key=%s",
            webhooks.scenario.name,
            webhooks.planner.seed,
            webhooks.config.events_url or "-",
            webhooks.config.inbound_url or "-",
            webhooks.public_key,
        )
        webhooks.start()
    try:
        uvicorn.run(
            create_app(args.api_key, webhooks=webhooks),
            host=args.host,
            port=args.port,
            log_level=args.log_level,
            access_log=False,  # query strings may hold addresses (?recipient=)
        )
    finally:
        webhooks.stop()


if __name__ == "__main__":
    main()
