"""Security commands: `onemap token|audit|user …` and `onemap sign-challenge`."""
from __future__ import annotations

import base64
import time
from pathlib import Path

import click
from sqlalchemy import select

from accounts import audit
from accounts.demo_users import create_demo_users
from accounts.passwords import PasswordPolicyError
from accounts.sessions import SessionStore
from accounts.tokens import MAX_DAYS, TokenLifetimeError, create_token, list_tokens, revoke_token
from accounts.users import AccountError, create_user, list_users, set_password, update_user
from cli.context import CliContext, pass_ctx
from cli.textfile import read_utf8
from security.secrets import parse_sm2_private_key
from security.sm2 import SM2Error, sm2_sign
from store.accounts import AppUser, Org

KEYS_DIR = Path(__file__).resolve().parent.parent / "var" / "keys"


def _user(db, username: str) -> AppUser:
    user = db.scalar(select(AppUser).where(AppUser.username == username))
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    return user


def _signer(ctx: CliContext) -> audit.AuditSigner:
    key = ctx.settings.audit_signing_key.get_secret_value()
    if not key:
        raise click.ClickException("AUDIT_SIGNING_KEY (or AUDIT_SIGNING_KEY_FILE) is not set")
    return audit.AuditSigner(parse_sm2_private_key(key))


# ---- tokens ----

@click.group()
def token() -> None:
    """Personal API tokens (shown once, stored as SM3 hashes)."""


@token.command("create")
@click.option("--user", "username", required=True)
@click.option("--name", default="cli", show_default=True)
@click.option("--expires", "days", type=click.IntRange(1, MAX_DAYS["device"]), default=None,
              help="Days until it expires (default and maximum: 90 for personal, 365 for device tokens, "
                   "or less when PERSONAL_TOKEN_MAX_DAYS / DEVICE_TOKEN_MAX_DAYS say so).")
@click.option("--device", is_flag=True, help="A kiosk device token (for /login/device?token=…).")
@pass_ctx
def token_create(ctx: CliContext, username: str, name: str, days: int | None, device: bool) -> None:
    """Create a token for USER and print it once."""
    kind = "device" if device else "personal"
    cap = ctx.settings.device_token_max_days if device else ctx.settings.personal_token_max_days
    with ctx.services.session_factory() as db:
        user = _user(db, username)
        try:
            row, clear = create_token(db, user_id=user.id, name=name, expires_days=days, kind=kind, max_days=cap)
        except TokenLifetimeError as exc:
            raise click.ClickException(str(exc)) from None
        db.commit()
    click.echo(f"token id {row.id} for {username}: {clear}")


@token.command("revoke")
@click.argument("token_id", type=int)
@pass_ctx
def token_revoke(ctx: CliContext, token_id: int) -> None:
    """Revoke token TOKEN_ID."""
    with ctx.services.session_factory() as db:
        user_id = revoke_token(db, token_id=token_id, actor=None)
        if user_id is None:
            raise click.ClickException(f"no active token {token_id}")
        db.commit()
    ended = SessionStore(ctx.services.redis, ctx.settings.redis_namespace, ctx.settings.session_idle_minutes
                         ).destroy_token(token_id, user_id)  # its cached copies and every session born from it
    click.echo(f"token {token_id} revoked" + (f", {ended} session(s) ended" if ended else ""))


@token.command("list")
@click.option("--user", "username", required=True)
@pass_ctx
def token_list(ctx: CliContext, username: str) -> None:
    """List USER's tokens (never the secrets)."""
    with ctx.services.session_factory() as db:
        for t in list_tokens(db, user_id=_user(db, username).id):
            state = "revoked" if t.revoked_at else "active"
            click.echo(f"{t.id}\t{t.kind}\t{state}\t{t.name}\texpires={t.expires_at or '-'}\tlast_used={t.last_used_at or '-'}")


# ---- audit ----

@click.group("audit")
def audit_group() -> None:
    """The tamper-evident audit trail."""


@audit_group.command("verify")
@click.option("--full", is_flag=True, help="Check the signature of every checkpoint, not only the newest.")
@click.option("--max-unsigned-age", type=click.IntRange(1, None), default=None, metavar="SECONDS",
              help="Exit 2 when the oldest row after the newest signed checkpoint is older than this "
                   "(the checkpoint timer has stopped).")
@pass_ctx
def audit_verify(ctx: CliContext, full: bool, max_unsigned_age: int | None) -> None:
    """Check the hash chain and signed checkpoints; exit 1 naming the first broken row.

    Also reports the unsigned tail (rows after the newest signed checkpoint): its length and age.
    Deleting rows from that tail cannot be detected, so the tail must stay short and young; intake actions not yet
    linked into the chain count towards its age.
    """
    signer = _signer(ctx)
    with ctx.services.session_factory() as db:
        report = audit.verify_chain(db, public_keys={signer.key_id: signer.public_hex}, full=full)
    if not report.ok:
        click.echo(f"BROKEN at audit row {report.first_broken_id}: {report.reason}", err=True)
        raise SystemExit(1)
    age = report.unsigned_age()
    age_text = f", the oldest {int(age.total_seconds())} s old" if age is not None else ""
    click.echo(f"ok: {report.rows} rows, {report.checkpoints} checkpoints, "
               f"{report.unsigned_tail} rows after the newest signed checkpoint{age_text}, "
               f"{report.unchained} intake actions not yet chained")
    if max_unsigned_age is not None and age is not None and age.total_seconds() > max_unsigned_age:
        click.echo(f"STALE: the unsigned tail is {int(age.total_seconds())} s old (limit {max_unsigned_age} s); "
                   "is `onemap audit checkpoint --every 300` running?", err=True)
        raise SystemExit(2)


@audit_group.command("checkpoint")
@click.option("--every", type=click.IntRange(0, 86400), default=0, help="Repeat every N seconds (0: once).")
@pass_ctx
def audit_checkpoint(ctx: CliContext, every: int) -> None:
    """Sign the chain head now (and, with --every, on a timer)."""
    signer = _signer(ctx)
    while True:
        try:
            with ctx.services.session_factory() as db:
                cp = audit.checkpoint(db, signer)
                db.commit()
            click.echo(f"checkpoint at row {cp.last_audit_id}" if cp else "nothing new to sign")
        except Exception as exc:  # noqa: BLE001 - the timer outlives a database restart
            if not every:
                raise
            click.echo(f"checkpoint failed, retrying in {every} s: {type(exc).__name__}: {exc}", err=True)
        if not every:
            return
        time.sleep(every)


@audit_group.command("purge")
@click.option("--older-than-days", type=click.IntRange(audit.RETENTION_DAYS, None), default=audit.RETENTION_DAYS,
              show_default=True)
@pass_ctx
def audit_purge(ctx: CliContext, older_than_days: int) -> None:
    """Delete rows past retention (≥ 180 days) and re-anchor the chain with a signed checkpoint."""
    with ctx.services.session_factory() as db:
        n = audit.purge(db, _signer(ctx), older_than_days=older_than_days)
        db.commit()
    click.echo(f"purged {n} rows")


# ---- users ----

@click.group()
def user() -> None:
    """Accounts: create, list, change password, enable/disable, unlock; demo users."""


@user.command("create")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True)
@click.option("--org", "org_code", required=True, help="Org code (310000, a district code, or inst-<code>).")
@click.option("--role", required=True)
@click.option("--public-key", default=None, help="SM2 public key hex (second factor).")
@click.option("--pii", is_flag=True, help="May view personal data in clear.")
@click.password_option()
@pass_ctx
def user_create(ctx: CliContext, username: str, display_name: str, org_code: str, role: str,
                public_key: str | None, pii: bool, password: str) -> None:
    """Create an account."""
    with ctx.services.session_factory() as db:
        org = db.scalar(select(Org).where(Org.code == org_code))
        if org is None:
            raise click.ClickException(f"no org {org_code!r}")
        try:
            create_user(db, username=username, display_name=display_name, org=org, role=role, password=password,
                        sm2_public_key=public_key, may_view_pii=pii)
        except (AccountError, PasswordPolicyError) as exc:
            raise click.ClickException(f"{exc.code}: {exc}") from None
        db.commit()
    click.echo(f"user {username} created")


@user.command("list")
@pass_ctx
def user_list(ctx: CliContext) -> None:
    with ctx.services.session_factory() as db:
        for u in list_users(db):
            flags = ("" if u.is_active else " disabled") + (" locked" if u.locked else "")
            click.echo(f"{u.username}\t{u.role}\t{u.org}\t{u.region_code}{flags}")


@user.command("set-password")
@click.argument("username")
@click.password_option()
@pass_ctx
def user_set_password(ctx: CliContext, username: str, password: str) -> None:
    """Set a new password (also clears a lockout) and end the user's sessions."""
    with ctx.services.session_factory() as db:
        u = _user(db, username)
        try:
            set_password(db, u, password, actor=None)
        except PasswordPolicyError as exc:
            raise click.ClickException(f"{exc.code}: {exc}") from None
        db.commit()
        _end_sessions(ctx, u.id)
    click.echo("password changed")


@user.command("disable")
@click.argument("username")
@pass_ctx
def user_disable(ctx: CliContext, username: str) -> None:
    """Disable an account and end its sessions."""
    with ctx.services.session_factory() as db:
        u = _user(db, username)
        update_user(db, u, actor=None, is_active=False)
        db.commit()
        _end_sessions(ctx, u.id)
    click.echo(f"{username} disabled")


@user.command("enable")
@click.argument("username")
@pass_ctx
def user_enable(ctx: CliContext, username: str) -> None:
    with ctx.services.session_factory() as db:
        update_user(db, _user(db, username), actor=None, is_active=True)
        db.commit()
    click.echo(f"{username} enabled")


@user.command("demo")
@click.option("--district", default="310105", show_default=True)
@click.option("--keys-dir", type=click.Path(path_type=Path), default=KEYS_DIR, show_default=True)
@pass_ctx
def user_demo(ctx: CliContext, district: str, keys_dir: Path) -> None:
    """Create the demo org tree and one user per role (idempotent)."""
    with ctx.services.session_factory() as db:
        users = create_demo_users(db, district_code=district, keys_dir=keys_dir)
        db.commit()
    for u in users:
        click.echo(f"{u.username}\t{u.role}\t{u.org_code}\t{'created' if u.created else 'exists'}")


def _end_sessions(ctx: CliContext, user_id: int) -> None:
    s = ctx.settings
    SessionStore(ctx.services.redis, s.redis_namespace, s.session_idle_minutes).destroy_user(user_id)


# ---- second factor for the demo ----

@click.command("sign-challenge")
@click.option("--user", "username", required=True)
@click.option("--challenge", required=True, help="The challenge text shown on /login/verify.")
@click.option("--key-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Private key hex file (default var/keys/USER.key).")
def sign_challenge(username: str, challenge: str, key_file: Path | None) -> None:
    """Play the user's certificate key: print the base64 DER SM2 signature of the challenge."""
    path = key_file or KEYS_DIR / f"{username}.key"
    if not path.exists():
        raise click.ClickException(f"no key file {path}")
    try:
        signature = sm2_sign(parse_sm2_private_key(read_utf8(path)), challenge.encode("utf-8"))
    except (SM2Error, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(base64.b64encode(signature).decode())


COMMANDS = (token, audit_group, user, sign_challenge)
