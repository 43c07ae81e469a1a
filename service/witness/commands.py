"""`clubfund witness serve --key FILE --state FILE --log-key VKEY [--name N]`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ledger.errors import LedgerError
from ledger.signed_notes import ED25519_TYPE, parse_verifier_key


def cmd_witness_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.witness.server import (
        WitnessState,
        create_witness_app,
        load_witness_key,
        witness_verifier_key,
    )

    try:
        log_keys = [parse_verifier_key(text) for text in args.log_key]
    except LedgerError as error:
        raise SystemExit(f"--log-key: {error.detail}") from error
    for log_key in log_keys:
        if log_key.key_type != ED25519_TYPE:
            raise SystemExit(f"--log-key {log_key.name}: a log's key is of type 0x01 (Ed25519)")
    key = load_witness_key(args.key)
    state = WitnessState(args.state)
    vkey = witness_verifier_key(args.name, key)
    print(f"witness {args.name} listening on http://{args.host}:{args.port}/add-checkpoint",
          flush=True)
    print(f"witness verifier key (give it to the log as CLUBFUND_WITNESSES): {vkey}", flush=True)
    uvicorn.run(create_witness_app(args.name, key, log_keys, state), host=args.host,
                port=args.port, log_level="warning")
    return 0


def add_witness_commands(commands: Any) -> None:
    witness = commands.add_parser("witness", help="run a tlog-witness that cosigns checkpoints")
    actions = witness.add_subparsers(dest="witness_command", required=True)
    serve = actions.add_parser("serve", help="serve POST /add-checkpoint (C2SP tlog-witness)")
    serve.add_argument("--key", type=Path, required=True,
                       help="the witness's Ed25519 private key (base64 of 32 bytes); "
                            "created if missing")
    serve.add_argument("--state", type=Path, required=True,
                       help="JSON file of the latest cosigned size and root per log")
    serve.add_argument("--log-key", action="append", required=True,
                       help="a log's verifier key (from /.well-known/clubfund/audit-keys)")
    serve.add_argument("--name", default="witness.localhost",
                       help="the witness's key name (no spaces, no '+')")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8700)
    serve.set_defaults(run=cmd_witness_serve)
