"""``kiosk-federation``: run and administer the federation server.

The database is ``--database URL`` or ``$BORNE_FEDERATION_DB`` (default ``sqlite:///federation.db``;
in production ``postgresql+psycopg://user@host/borne``). Every command migrates it first.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from sync.server.db import DEFAULT_URL

PUBLISH_IN_SERVER = "BORNE_FEDERATION_PUBLISH_IN_SERVER"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk-federation", description="Borne federation server.")
    parser.add_argument("--database", default=os.environ.get("BORNE_FEDERATION_DB", DEFAULT_URL))
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server (API, dashboard, export)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8800)
    serve.add_argument("--insecure-cookies", action="store_true", help="plain-http test only: no Secure cookies")
    serve.add_argument(
        "--no-publish",
        action="store_true",
        default=os.environ.get(PUBLISH_IN_SERVER, "1") == "0",
        help=f"leave publication to `kiosk-federation publish` (a timer); also ${PUBLISH_IN_SERVER}=0",
    )
    sub.add_parser("migrate", help="create or update the database schema")
    centre = sub.add_parser("create-centre", help="add a centre; prints its id")
    centre.add_argument("--name", required=True)
    centre.add_argument("--commune", required=True)
    centre.add_argument("--departement", required=True)
    centre.add_argument("--type", dest="structure_type", default="france_services")
    centre.add_argument("--siret")
    terminal = sub.add_parser("create-terminal", help="add a terminal; prints its one-time enrolment code")
    terminal.add_argument("--centre", type=int, required=True)
    terminal.add_argument("--name", default="Borne")
    code = sub.add_parser("enrolment-code", help="a new enrolment code for an existing terminal")
    code.add_argument("--terminal", type=int, required=True)
    revoke = sub.add_parser("revoke-terminal", help="refuse this terminal's token from now on")
    revoke.add_argument("device_id")
    scope_help = "what it may read: national (default), departement:CODE or centre:ID"
    read = sub.add_parser("create-read-token", help="a token for the federation's exports; printed once")
    read.add_argument("--name", required=True)
    read.add_argument("--scope", default="national", help=scope_help)
    unread = sub.add_parser("revoke-read-token", help="revoke the read tokens with this name")
    unread.add_argument("--name", required=True)
    user = sub.add_parser("create-user", help="a dashboard account (password read from $BORNE_PASSWORD or asked)")
    user.add_argument("username")
    user.add_argument("--scope", default="national", help=scope_help)
    k = sub.add_parser("set-k", help="the smallest count published (5 or more; choose it before publishing)")
    k.add_argument("k", type=int)
    sub.add_parser("publish", help="publish every month that ended more than 7 days ago (the nightly timer)")
    catalogue = sub.add_parser("set-catalogue", help="publish the national tile catalogue (JSON file)")
    catalogue.add_argument("path", type=Path)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import logging.config

    from sync.server import admin
    from sync.server.db import Database, migrate
    from sync.server.logs import log_config

    if args.command in ("serve", "publish"):
        logging.config.dictConfig(log_config())
    db = Database(args.database)
    try:
        migrate(db.engine)
        if args.command == "migrate":
            print("database schema is up to date")
        elif args.command == "serve":
            return _serve(db, args.host, args.port, args.insecure_cookies, not args.no_publish)
        elif args.command == "create-centre":
            print(admin.create_centre(db, args.name, args.commune, args.departement, args.structure_type, args.siret))
        elif args.command == "create-terminal":
            made = admin.create_terminal(db, args.centre, args.name)
            print(f"terminal {made.terminal_id} ({made.device_id})")
            print(f"enrolment code: {made.code}  (valid until {made.expires_at:%Y-%m-%d %H:%M} UTC, once)")
            print(f"on the terminal: kiosk enroll --server URL --code {made.code}")
        elif args.command == "enrolment-code":
            print(admin.new_enrolment_code(db, args.terminal))
        elif args.command == "revoke-terminal":
            admin.revoke_terminal(db, args.device_id)
            print(f"{args.device_id}: revoked")
        elif args.command == "create-read-token":
            print(admin.create_read_token(db, args.name, args.scope))
        elif args.command == "revoke-read-token":
            print(f"{admin.revoke_read_token(db, args.name)} token(s) revoked")
        elif args.command == "create-user":
            import getpass

            password = os.environ.get("BORNE_PASSWORD") or getpass.getpass("password (12 characters or more): ")
            admin.create_user(db, args.username, password, args.scope)
            print(f"user {args.username} created ({args.scope})")
        elif args.command == "set-k":
            admin.set_suppression_k(db, args.k)
            print(f"k = {args.k}: counts below it are hidden in the months published from now on")
        elif args.command == "publish":
            from sync.server.schedule import publish_now

            months = publish_now(db)
            if months is None:
                print("kiosk-federation: publication failed (see the log); nothing half published", file=sys.stderr)
                return 1
            print(f"published: {', '.join(m.label for m in months) or 'nothing new'}")
        elif args.command == "set-catalogue":
            return _set_catalogue(db, args.path)
    except admin.AdminError as error:
        print(f"kiosk-federation: {error}", file=sys.stderr)
        return 2
    finally:
        db.dispose()
    return 0


def _serve(db: object, host: str, port: int, insecure_cookies: bool, publish: bool) -> int:
    import uvicorn

    from sync.server.app import create_app
    from sync.server.db import Database
    from sync.server.serving import uvicorn_config
    from sync.server.settings import ServerSettings

    assert isinstance(db, Database)
    from sync.server.logs import log_config

    settings = ServerSettings(insecure_cookies=insecure_cookies, publish_in_process=publish)
    config = uvicorn_config(create_app(db, settings), host, port, settings, log_config=log_config())
    uvicorn.Server(config).run()
    return 0


def _set_catalogue(db: object, path: Path) -> int:
    from pydantic import ValidationError

    from sync.protocol import Catalogue
    from sync.server.db import Database
    from sync.server.models import Setting

    assert isinstance(db, Database)
    try:
        catalogue = Catalogue.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError) as error:
        print(f"kiosk-federation: {path}: {error}", file=sys.stderr)
        return 2
    with db.session() as session:
        session.merge(Setting(key="catalogue", value=json.dumps(catalogue.model_dump(mode="json"))))
    print(f"catalogue version {catalogue.version} published ({len(catalogue.tiles)} tiles)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
