"""Demo users, the token / user / sign-challenge commands."""
from __future__ import annotations

import base64
import re
import uuid

from click.testing import CliRunner
from sqlalchemy import func, select

from accounts.demo_users import DEMO_PASSWORD, create_demo_users
from accounts.passwords import verify_password
from cli.context import CliContext
from cli.main import cli
from security.sm2 import public_key_from_private, sm2_verify
from store.accounts import ROLES, ApiClient, ApiToken, AppUser


def test_demo_users_one_per_role_idempotent(db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # another district than the seed's, so its users are new even when the seed already ran
    first = create_demo_users(db, district_code="310112", keys_dir=tmp_path)
    assert {u.role for u in first} == set(ROLES)
    assert {u.username for u in first if u.created} >= {"d310112_commander", "d310112_wall", "d310112_hospital"}
    counts = [db.scalar(select(func.count()).select_from(t)) for t in (AppUser, ApiToken, ApiClient)]
    again = create_demo_users(db, district_code="310112", keys_dir=tmp_path)
    assert not any(u.created for u in again)
    assert [db.scalar(select(func.count()).select_from(t)) for t in (AppUser, ApiToken, ApiClient)] == counts
    for u in (u for u in first if u.created):
        row = db.scalar(select(AppUser).where(AppUser.username == u.username))
        assert verify_password(DEMO_PASSWORD, hashed=row.password_hash, salt=row.password_salt,
                               iterations=row.password_iterations)
        assert row.password_iterations >= 100_000 and len(row.password_salt) == 16
        assert public_key_from_private(u.key_file.read_text().strip()) == row.sm2_public_key
        assert oct(u.key_file.stat().st_mode & 0o777) == "0o600"
    assert (tmp_path / "d310112_wall.token").read_text().startswith("om_")


def _ctx(settings) -> CliContext:  # type: ignore[no-untyped-def]
    return CliContext(settings=settings)


def test_token_commands(app, settings, services, principal_token) -> None:  # type: ignore[no-untyped-def]
    user, _ = principal_token("district_analyst", "310105")
    runner = CliRunner()
    out = runner.invoke(cli, ["token", "create", "--user", user.username, "--expires", "7"], obj=_ctx(settings))
    assert out.exit_code == 0, out.output
    token_id, clear = re.search(r"token id (\d+) for \S+: (om_\S+)", out.output).groups()  # type: ignore[union-attr]
    listed = runner.invoke(cli, ["token", "list", "--user", user.username], obj=_ctx(settings)).output
    assert f"{token_id}\tpersonal\tactive" in listed and clear not in listed
    api, auth = app.test_client(), {"Authorization": f"Bearer {clear}"}
    assert api.get("/api/v1/me", headers=auth).status_code == 200  # now in the one-minute token cache
    assert runner.invoke(cli, ["token", "revoke", token_id], obj=_ctx(settings)).exit_code == 0
    assert api.get("/api/v1/me", headers=auth).status_code == 401  # revocation applies at once
    assert "revoked" in runner.invoke(cli, ["token", "list", "--user", user.username], obj=_ctx(settings)).output
    assert runner.invoke(cli, ["token", "revoke", token_id], obj=_ctx(settings)).exit_code == 1
    assert runner.invoke(cli, ["token", "create", "--user", "nobody-" + uuid.uuid4().hex],
                         obj=_ctx(settings)).exit_code == 1


def test_sign_challenge_plays_the_users_key(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from security.sm2 import generate_keypair

    priv, pub = generate_keypair()
    (tmp_path / "u.key").write_text(priv + "\n")
    out = CliRunner().invoke(cli, ["sign-challenge", "--user", "u", "--challenge", "onemap-login|1|ab|2",
                                   "--key-file", str(tmp_path / "u.key")])
    assert out.exit_code == 0
    assert sm2_verify(pub, b"onemap-login|1|ab|2", base64.b64decode(out.output.strip()))


def test_user_create_enforces_policy(settings, services, principal_token) -> None:  # type: ignore[no-untyped-def]
    principal_token("district_analyst", "310105")  # makes sure org 310105 exists
    name = "u" + uuid.uuid4().hex[:8]
    runner = CliRunner()
    weak = runner.invoke(cli, ["user", "create", "--username", name, "--name", "张三", "--org", "310105", "--role",
                               "district_analyst", "--password", "weakpass"], obj=_ctx(settings))
    assert weak.exit_code == 1 and "password.too_simple" in weak.output
    wrong = runner.invoke(cli, ["user", "create", "--username", name, "--name", "张三", "--org", "310105", "--role",
                                "city_admin", "--password", "Good#pass1"], obj=_ctx(settings))
    assert wrong.exit_code == 1 and "user.role_org_mismatch" in wrong.output
    ok = runner.invoke(cli, ["user", "create", "--username", name, "--name", "张三", "--org", "310105", "--role",
                             "district_analyst", "--password", "Good#pass1"], obj=_ctx(settings))
    assert ok.exit_code == 0, ok.output
    assert runner.invoke(cli, ["user", "disable", name], obj=_ctx(settings)).exit_code == 0
    assert f"{name}\tdistrict_analyst\t310105\t310105 disabled" in runner.invoke(cli, ["user", "list"],
                                                                                   obj=_ctx(settings)).output


def test_disabling_a_user_ends_their_cached_tokens_at_once(app, settings, principal_token) -> None:  # type: ignore[no-untyped-def]
    user, token = principal_token("district_analyst", "310105")
    api, auth = app.test_client(), {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/me", headers=auth).status_code == 200
    assert CliRunner().invoke(cli, ["user", "disable", user.username], obj=_ctx(settings)).exit_code == 0
    assert api.get("/api/v1/me", headers=auth).status_code == 401
