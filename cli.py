"""Command-line interface: ``flask --app wsgi <command>``."""

from __future__ import annotations

import getpass
import logging
import os
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_migrate import upgrade
from sqlalchemy import func, inspect, make_url, select
from sqlalchemy.exc import OperationalError

import storage
from cases import accounts, audit, commands, notify, routing, seed, worker
from cases.categories import CATEGORIES
from cases.models import SEALED_MODELS, Case, Event, Queue, RoutingRule, User
from cases.refusals import Refused
from cases.vocabulary import Priority, Role
from storage import backup, db, keyexport, witness
from web import keycheck
from web.health import migration_heads

routing_cli = AppGroup("routing", help="Inspect and try the routing rules.")
cases_cli = AppGroup("cases", help="Look at cases.")
users_cli = AppGroup("users", help="Staff accounts.")
audit_cli = AppGroup("audit", help="Verify and checkpoint the audit trail.")
keys_cli = AppGroup("keys", help="Data-encryption keys; export and import of every key.")
backup_cli = AppGroup("backup", help="Back up the database and the audit witness; restore a backup.")
retention_cli = AppGroup("retention", help="Destroy personal content past its retention period.")
search_cli = AppGroup("search", help="The blind search index of the encrypted texts.")
escalation_cli = AppGroup("escalation", help="Tell supervisors about cases late on a service level.")
rollup_cli = AppGroup("rollup", help="The daily roll-ups of the supervisors' dashboard.")


@click.command("init-db")
@click.option("--demo-if-new", is_flag=True, help="Also run seed-demo when this run created the database.")
def init_db(demo_if_new: bool) -> None:
    """Run migrations and seed categories, queues and routing rules (idempotent)."""
    refused = keycheck.refusal(current_app)
    if refused:
        raise click.ClickException(refused)
    is_new = not inspect(db.engine).has_table("alembic_version")
    upgrade(directory=current_app.extensions["migrate"].directory)
    added = seed.seed_reference_data()
    click.echo("Database ready." + (f" Added: {', '.join(added)}." if added else " Nothing to add."))
    if demo_if_new and is_new:
        current_app.cli.commands["seed-demo"].callback()
    elif demo_if_new:
        click.echo("Existing database: no demo data added (demo logins, if any, are in instance/demo-logins.txt).")


@click.command("seed-demo")
def seed_demo() -> None:
    """Demo accounts and clearly fictional sample cases, only in a freshly created database."""
    require_database()
    try:
        logins = seed.seed_demo()
    except seed.NotFreshDatabase as exc:
        raise click.ClickException(str(exc)) from exc
    lines = ["Demo logins (fictional data; this database is for demonstration only):"]
    lines += [f"  {email:38} {password}" for email, password in logins.items()]
    path = Path(current_app.instance_path) / "demo-logins.txt"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    # The passwords stay in that file (0600): a service log or a terminal recording never holds them.
    click.echo(f"Demo accounts (fictional data; passwords in {path}, readable only by you):")
    click.echo("\n".join(f"  {email}" for email in logins))
    click.echo("(supervisor and admin enrol two-factor sign-in on first login)")


@routing_cli.command("list")
def routing_list() -> None:
    """Print the rules in the order they are tried."""
    for r in db.session.scalars(select(RoutingRule).order_by(RoutingRule.position)):
        state = "" if r.active else "  (inactive)"
        click.echo(
            f"{r.position:>4}  {r.name}\n      when {routing.describe(r)} → {r.queue.slug}, "
            f"priority {r.priority_name}{state}"
        )


def _tri(value: str | None) -> str:
    return {"y": "yes", "n": "no", "true": "yes", "false": "no"}.get((value or "").lower(), value or "unknown")


@routing_cli.command("test")
@click.option("--category", required=True, type=click.Choice([c.slug for c in CATEGORIES]))
@click.option("--immediate-danger", "danger", type=click.Choice(["yes", "no"]), default="no")
@click.option("--child", type=click.Choice(["yes", "no", "unknown"]), default="unknown")
@click.option("--in-custody", "custody", type=click.Choice(["yes", "no", "unknown"]), default="unknown")
@click.option("--region", default="none")
def routing_test(category: str, danger: str, child: str, custody: str, region: str) -> None:
    """Show which rule, queue and priority a report with these facts would get."""
    facts = routing.ReportFacts(category, danger == "yes", child, custody, region)
    decision = routing.route(facts, db.session.scalars(select(RoutingRule)).all())
    queue = db.session.get(Queue, decision.queue_id)
    click.echo(
        f"rule {decision.rule.position}: {decision.rule.name}\nqueue: {queue.slug} ({queue.name})\n"
        f"priority: {Priority(decision.priority).label}"
    )


@cases_cli.command("show")
@click.argument("reference")
@click.option("--content", is_flag=True, help="Also print the narrative and contact details.")
def cases_show(reference: str, content: bool) -> None:
    """Print a case, its queue, priority, due date and events."""
    case = db.session.scalar(select(Case).where(Case.reference == reference.strip().upper()))
    if case is None:
        raise click.ClickException(f"No case {reference}.")
    click.echo(f"{case.reference}  status={case.status}  category={case.category}  region={case.region}")
    click.echo(f"queue: {case.queue.slug} ({case.queue.name})  rule: {case.routing_rule_name}")
    click.echo(
        f"priority: {case.priority_name}  due: {case.due_at.isoformat()}  "
        f"assignee: {case.assignee.email if case.assignee else '-'}"
    )
    click.echo(
        f"danger={case.immediate_danger} child={case.child_affected} custody={case.in_custody} "
        f"reporter={case.reporter_role} contact={'yes' if case.contact_email or case.contact_phone else 'anonymous'}"
    )
    if content:
        click.echo(
            f"narrative: {case.narrative}\nplace: {case.place_description or '-'}\n"
            f"email: {case.contact_email or '-'}  phone: {case.contact_phone or '-'}"
        )
    click.echo("events:")
    events = list(db.session.scalars(select(Event).where(Event.chain_id == case.id).order_by(Event.seq)))
    for e in events:
        who = e.actor.email if e.actor else e.actor_type
        change = f" {e.old_value or ''}→{e.new_value or ''}" if (e.old_value or e.new_value) else ""
        click.echo(
            f"  {e.seq:>3} {e.created_at.isoformat(timespec='seconds')} {who}: {e.action}{change}"
            + (f" ({e.reason})" if e.reason else "")
            + (f" {e.details}" if e.details else "")
        )
    broken = audit.check_case(db.session, case, events)
    click.echo("history intact" if broken is None else f"HISTORY BROKEN: {broken}")


@click.command("create-user")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--queue", "queues", multiple=True, help="Queue slug (repeatable), for case workers.")
def create_user(email: str, name: str, role: str, queues: tuple[str, ...]) -> None:
    """Create a staff account; the password comes from SHAGYM_PASSWORD or a hidden prompt."""
    require_database()
    password = os.environ.get("SHAGYM_PASSWORD") or getpass.getpass("Password: ")
    try:
        user = commands.create_user(email, name, role, password, list(queues))
    except Refused as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Created {user.role} {user.email}.")


@users_cli.command("list")
def users_list() -> None:
    for u in db.session.scalars(select(User).order_by(User.email)):
        queues = ",".join(q.slug for q in u.queues) or "-"
        click.echo(
            f"{u.email:40} {u.role:11} {'active' if u.active else 'inactive':8} 2fa={'on' if u.totp_enabled else 'off'} queues={queues}"
        )


@users_cli.command("deactivate")
@click.argument("email")
def users_deactivate(email: str) -> None:
    user = db.session.scalar(select(User).where(User.email == accounts.normalize_email(email)))
    if user is None:
        raise click.ClickException(f"No account {email}.")
    commands.deactivate_user(user)
    click.echo(f"Deactivated {user.email}; their sessions were ended.")


@audit_cli.command("verify")
@click.option(
    "--witness-log",
    "witness_logs",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Also compare with an external witness log (AUDIT_WITNESS_LOG, or a syslog export). Repeatable.",
)
@click.option(
    "--witness",
    "witness_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="A witness file to compare with instead of the one in instance/: a copied database's, or each "
    "instance's when several share one PostgreSQL. Repeatable.",
)
def audit_verify(witness_logs: tuple[str, ...], witness_files: tuple[str, ...]) -> None:
    """Recompute every chain, checkpoint and case row; compare with the witness; open every
    encrypted value. Exit 0 only when the whole history is intact."""
    public = current_app.extensions["shagym_signing_key"].public_key()
    keys = current_app.extensions["shagym_audit_keys"]
    witnesses = [witness.Witness(Path(f), keys) for f in witness_files] or [audit.current_witness()]
    local, others = witnesses[0], witnesses[1:]
    extra_heads: dict = {}
    extra_checkpoints: list = []
    for other in others:
        _merge_heads(extra_heads, {h.chain: h for h in other.heads()})
        newest = other.newest_checkpoint()
        if newest is not None:
            extra_checkpoints.append(newest)
    for path in witness_logs:
        with open(path, encoding="utf-8", errors="replace") as fh:
            heads, checkpoints = witness.parse_log(fh)
        _merge_heads(extra_heads, heads)
        extra_checkpoints.extend(checkpoints)
    progress = _progress(db.session.scalar(select(func.max(Event.id))) or 0) if sys.stderr.isatty() else None
    report = audit.verify_all(db.session, public, keys, local, extra_heads, extra_checkpoints, progress)
    if progress is not None:
        click.echo("", err=True)
    problems: list[str] = [_named(p) for p in report.problems]
    if report.events and not local.exists and not witness_logs:
        problems.append(
            f"no audit witness at {local.path}: deleted events and checkpoints cannot be ruled out "
            "(point --witness at the server's copy)"
        )
    problems += [f"{case.reference}, event {p.seq}: {p.problem}" for case, p in audit.replay_all(db.session)]
    problems += [
        f"{_row_name(row)}: its {name.replace('_', ' ')} was not written for this {_owner_word(row)} (moved in the database)"
        for row, name in audit.misplaced_values(db.session, SEALED_MODELS)
    ]
    missing = audit.missing_triggers(db.session)
    if missing:
        problems.append(f"append-only triggers missing or disabled: {', '.join(missing)}")
    click.echo(
        f"{report.events} events in {report.chains} chains, {report.checkpoints} checkpoints, "
        f"{report.witnessed} witnessed heads checked; {report.unchecked_tail} event(s) after the newest "
        "checkpoint (held by the witness until the worker signs the next)."
    )
    for problem in problems[:50]:
        click.echo(f"BROKEN: {problem}", err=True)
    if len(problems) > 50:
        click.echo(f"BROKEN: … and {len(problems) - 50} more problems", err=True)
    if problems:
        sys.exit(1)
    click.echo("History intact.")


def _progress(total: int):
    """A line on the terminal (stderr) that counts the events read: only for a person watching."""
    started = time.monotonic()

    def show(done: int) -> None:
        rate = done / max(time.monotonic() - started, 1e-6)
        share = f" of ~{total:,} ({min(done / total, 1):.0%})" if total else ""
        click.echo(f"\r  verifying: {done:,} events{share}, {rate:,.0f}/s ", nl=False, err=True)

    return show


def _merge_heads(into: dict, heads: dict) -> None:
    for chain, head in heads.items():
        if chain not in into or into[chain].seq < head.seq:
            into[chain] = head


def _named(problem: audit.Break | str) -> str:
    """A problem with the case's reference where the case still exists."""
    if isinstance(problem, str) or problem.chain_id == audit.SYSTEM_CHAIN:
        return str(problem)
    reference = db.session.scalar(select(Case.reference).where(Case.id == problem.chain_id))
    where = f"{reference} (case {problem.chain_id})" if reference else f"case {problem.chain_id} (row deleted)"
    return f"{where}, event {problem.seq}: {problem.problem}"


def _row_name(row: object) -> str:
    if isinstance(row, Case):
        return f"{row.reference} (case {row.id})"
    case_id = getattr(row, "case_id", None)
    if case_id is None:
        return f"{type(row).__tablename__} row {row.id}"
    reference = db.session.scalar(select(Case.reference).where(Case.id == case_id))
    return f"{reference} (case {case_id}), {type(row).__name__.lower()} {row.id}"


def _owner_word(row: object) -> str:
    return "case" if isinstance(row, Case) or getattr(row, "case_id", None) else "row"


@audit_cli.command("rotate-key")
def audit_rotate_key() -> None:
    """Make a new audit MAC key current (older events keep theirs; keep every key file)."""
    try:
        new = commands.rotate_audit_key(current_app.extensions["shagym_audit_keys"])
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"Audit key {new} is current. Keep every instance/keys/audit-*.key file, and back them up with the "
        "other keys: audit verify needs each key that an event names."
    )


@audit_cli.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign a Merkle tree head over every event so far."""
    cp = commands.write_checkpoint()
    if cp is None:
        click.echo("No new events since the last checkpoint.")
    else:
        click.echo(f"Checkpoint {cp.id}: {cp.tree_size} events up to id {cp.last_event_id}, root {cp.root_hash}")


@keys_cli.command("rotate")
def keys_rotate() -> None:
    """Make a new data key current and re-encrypt everything under it, while the app runs."""
    ring = current_app.extensions["shagym_keyring"]
    new, counts = commands.rotate_keys(ring)
    click.echo(f"New data key {new} is current. Re-encrypted: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    click.echo(
        "Old key files stay in instance/keys/ so that running workers can still read; "
        "remove them once every worker has restarted and a second rotate run re-encrypts nothing."
    )


def _passphrase(passphrase_file: Path | None, confirm: bool) -> str:
    if passphrase_file is not None:
        return passphrase_file.read_text(encoding="utf-8").splitlines()[0] if passphrase_file.stat().st_size else ""
    return click.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm)


PASSPHRASE_FILE = click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the passphrase from the first line of this file (else a hidden prompt).",
)


@keys_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@PASSPHRASE_FILE
def keys_export(path: Path, passphrase_file: Path | None) -> None:
    """Write every key the app reads on start to PATH, encrypted with a passphrase (Argon2id +
    AES-GCM). Keep it apart from the backups: a backup never holds a key."""
    ext = current_app.extensions
    rings = {"data": ext["shagym_keyring"], "audit": ext["shagym_audit_keys"], "search": ext["shagym_search_keys"]}
    bundle = keyexport.gather(
        rings, ext["shagym_signing_key"], ext["shagym_receipt_key"], current_app.config["SECRET_KEY"]
    )
    try:
        keyexport.write_new_file(path, keyexport.seal(bundle, _passphrase(passphrase_file, confirm=True)))
    except keyexport.KeyFileError as exc:
        raise click.ClickException(str(exc)) from exc
    counts = ", ".join(f"{len(r.keys)} {prefix}" for prefix, r in rings.items())
    click.echo(f"Exported {counts} key(s), the signing, receipt and session keys to {path}.")


@keys_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@PASSPHRASE_FILE
def keys_import(path: Path, passphrase_file: Path | None) -> None:
    """Write the keys of an export into instance/ (before `backup restore` on a new server).
    Keys this instance generated on its first start give way only while its database holds
    no audit event; otherwise a file with another key is refused."""
    try:
        bundle = keyexport.open_sealed(path.read_bytes(), _passphrase(passphrase_file, confirm=False))
        written = keyexport.install(bundle, Path(current_app.instance_path), replace=not _holds_events())
    except keyexport.KeyFileError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Imported the keys into {current_app.instance_path}: {len(written)} file(s) written.")
    overridden = [
        s
        for s in (
            "SHAGYM_DATA_KEYS",
            "SHAGYM_AUDIT_KEYS",
            "SHAGYM_SEARCH_KEYS",
            "SHAGYM_SIGNING_KEY",
            "SHAGYM_RECEIPT_KEY",
            "SECRET_KEY",
        )
        if os.environ.get(s)
    ]
    if overridden:
        click.echo(f"Note: {', '.join(overridden)} set in the environment take precedence over these files.")


def _holds_events() -> bool:
    if not database_ready():
        return False
    try:
        return db.session.scalar(select(Event.id).limit(1)) is not None
    finally:
        db.session.remove()


@backup_cli.command("create")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
def backup_create(path: Path) -> None:
    """A consistent copy of the database and the audit witness into the new directory PATH, with
    a manifest (schema revision, rows per table, newest signed audit head, SHA-256 of each file),
    while the app runs. Keys are not in it: `keys export` them separately."""
    try:
        backup.prepare_directory(path)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    commands.record_backup(db.engine.dialect.name)
    commands.write_checkpoint()  # the backed-up head is a signed one
    db.session.remove()
    try:
        manifest = backup.create(db.engine, audit.current_witness().path, path)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    rows = sum(manifest.row_counts.values())
    cp = manifest.checkpoint
    click.echo(
        f"Backup of {rows} rows in {len(manifest.row_counts)} tables at schema revision {manifest.revision} "
        f"written to {path}"
        + (f"; signed audit head: {cp['tree_size']} events, root {cp['root_hash']}." if cp else ".")
    )


@backup_cli.command("restore")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
def backup_restore(path: Path) -> None:
    """Restore the backup in PATH into the empty database DATABASE_URL names (refuses one that
    holds anything), check it against the manifest and put the backed-up audit witness in place.
    Import the keys first (`keys import`); then run `audit verify`."""
    try:
        manifest = backup.restore(db.engine, path)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    current = audit.current_witness()
    current.close()
    aside = backup.install_witness(path, current.path)
    click.echo(
        f"Restored {sum(manifest.row_counts.values())} rows in {len(manifest.row_counts)} tables from the backup "
        f"of {manifest.data['created_at']}; they match the manifest."
    )
    if aside is not None:
        click.echo(
            f"The witness that was here is kept at {aside}: `audit verify --witness {aside}` lists what the backup misses."
        )
    if manifest.revision in migration_heads(current_app):
        commands.record_restore(manifest.data["created_at"], manifest.revision)
        click.echo("Next: flask --app wsgi audit verify")
    else:
        click.echo(
            f"The backup is at schema revision {manifest.revision}: run `flask --app wsgi db upgrade`, then audit verify."
        )


@retention_cli.command("run")
@click.option("--apply", "apply_", is_flag=True, help="Really destroy (default: dry run that only lists).")
def retention_run(apply_: bool) -> None:
    """Destroy personal content of cases closed or rejected longer than their retention period."""
    now = datetime.now(UTC)
    due = commands.due_for_destruction(now, current_app.config["RETENTION_DAYS"])
    for d in due:
        click.echo(f"{d.reference}  {d.category:14} finished {d.finished_at.date().isoformat()}")
    if not apply_:
        click.echo(f"Dry run: {len(due)} case(s) would have their personal content destroyed. Use --apply.")
        return
    done = sum(commands.destroy_content(d.case_id, now) for d in due)
    click.echo(f"Destroyed the personal content of {done} case(s); their skeletons and audit trails remain.")


@search_cli.command("rebuild")
@click.option("--new-key", is_flag=True, help="First make a new search key current (key files only).")
def search_rebuild(new_key: bool) -> None:
    """Recompute every case's search terms (after an upgrade, or to move to a new search key)."""
    try:
        key_id, cases = commands.rebuild_index(new_key)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Search index rebuilt for {cases} case(s) under key {key_id}.")


@escalation_cli.command("run")
def escalation_run() -> None:
    """Mark cases that became late on a target (once each, audited) and, when mail is configured,
    queue for each queue's supervisors one content-free e-mail with the number (the worker sends it). Run it every few
    minutes (a systemd timer or cron); a run handles at most 500 cases, the next the rest."""
    now = datetime.now(UTC)
    done, queued = commands.escalate_late(commands.due_for_escalation(now), now, notify.enabled(current_app))
    queues = len({e.queue_id for e in done})
    click.echo(f"Escalated {len(done)} late case(s) in {queues} queue(s); {queued} e-mail(s) queued for the worker.")


@click.command("worker")
@click.option("--once", is_flag=True, help="One round (a checkpoint if due, the e-mails that are due), then exit.")
def worker_command(once: bool) -> None:
    """Sign audit checkpoints when due and send the outbox's e-mails, every WORKER_POLL_SECONDS,
    until stopped (SIGTERM or Ctrl-C). Run one next to the web server (systemd unit in
    docs/operations.md); several may run at once."""
    require_database()
    if once:
        done = worker.run_once()
        signed = f"checkpoint over {done.checkpoint} events" if done.checkpoint else "no checkpoint due"
        click.echo(f"{signed}; {done.sent} e-mail(s) sent, {done.failed} to retry.")
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    click.echo(f"Worker running (every {current_app.config['WORKER_POLL_SECONDS']} s); stop with SIGTERM or Ctrl-C.")
    try:
        worker.run(stop, current_app.config["WORKER_POLL_SECONDS"])
    except KeyboardInterrupt:
        stop.set()
    click.echo("Worker stopped.")


@rollup_cli.command("run")
@click.option("--all", "everything", is_flag=True, help="Recompute every day, not only the missing and changed ones.")
def rollup_run(everything: bool) -> None:
    """Roll up the dashboard's figures of every whole day before today that is missing or whose
    cases changed since the last run. Idempotent; run it on a timer (hourly, say): the dashboard
    is exact without it, computing what is not rolled up from the cases, only slower."""
    run = commands.run_rollups(ZoneInfo(current_app.config["OFFICE_TIMEZONE"]), datetime.now(UTC), everything)
    if run.first is None:
        click.echo("No reports yet: nothing to roll up.")
        return
    click.echo(
        f"Rolled up {len(run.days)} day(s) from {run.first.isoformat()} to {run.last.isoformat()}; "
        "the other days were current."
    )


def database_ready() -> bool:
    """Whether an initialised database exists, found without creating one (connecting to a
    missing SQLite file would create an empty one)."""
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    missing_file = url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists()
    token = storage.set_write_intent(False)  # a look, not a write: never wait for the writer lock
    try:
        return not missing_file and inspect(db.engine).has_table("alembic_version")
    except OperationalError:
        return False
    finally:
        storage.reset_write_intent(token)


def require_database() -> None:
    """Every command but init-db works on an existing, migrated database. Without one it stops
    with one line saying which database it looked at and how to point elsewhere, and creates
    nothing. With keys other than those recorded in the database it stops with the line naming
    the key (``web/keycheck.py``)."""
    if not database_ready():
        url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
        raise click.ClickException(
            f"no initialised Shagym database at {url.render_as_string(hide_password=True)}: set DATABASE_URL "
            "to the server's database (or run `flask --app wsgi init-db` to create this one)."
        )
    refused = keycheck.refusal(current_app)
    if refused:  # this instance's keys differ from the ones recorded in the database
        raise click.ClickException(refused)


# Commands that work without a database: they bring one (or its keys) to an empty instance.
WITHOUT_DATABASE = {"keys": {"export", "import"}, "backup": {"restore"}}


def _require_database_for(group: str):
    def check() -> None:
        if click.get_current_context().invoked_subcommand not in WITHOUT_DATABASE.get(group, set()):
            require_database()

    return check


def init_app(app: Flask) -> None:
    for command in (init_db, seed_demo, create_user, worker_command):
        app.cli.add_command(command)
    groups = (
        routing_cli,
        cases_cli,
        users_cli,
        audit_cli,
        keys_cli,
        backup_cli,
        retention_cli,
        search_cli,
        escalation_cli,
        rollup_cli,
    )
    for group in groups:
        group.callback = _require_database_for(group.name or "")  # runs before any of the group's commands
        app.cli.add_command(group)
