"""Users, tokens, groups and who sees which job, in the store: SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text, update

from dockyard.errors import ConflictError, ForbiddenError, NotFoundError
from dockyard.jobs.accounts import SINGLE_USER, Usage
from dockyard.jobs.models import Job, JobStatus, utcnow
from dockyard.jobs.store import Store

NO_LIMITS = Usage(0, 0, None, None, None)


@pytest.fixture
def store(database_url: str):
    opened = Store.open(database_url)
    yield opened
    opened.close()


def test_the_first_admin_claims_the_jobs_stored_before_any_user(store: Store):
    before = store.create_job(kind="dock", name="single-user job", params={})
    assert store.get_job(before.id).owner_id is None
    member = store.accounts.add_user("bob", "pw-bob")
    assert store.get_job(before.id).owner_id is None, "a member claims nothing"
    admin = store.accounts.add_user("alice", "pw-alice", role="admin")
    assert store.get_job(before.id).owner_id == admin.id
    mine = store.create_job(kind="dock", name="bob's", params={}, owner_id=member.id)
    store.accounts.add_user("carol", "pw-carol", role="admin")
    assert store.get_job(before.id).owner_id == admin.id, "only the first admin claims"
    assert store.get_job(mine.id).owner_id == member.id


def test_passwords_are_argon2_and_names_unique(store: Store):
    user = store.accounts.add_user("alice", "s3cret")
    assert user.password_hash.startswith("$argon2")
    assert store.accounts.check_password("alice", "s3cret").id == user.id
    assert store.accounts.check_password("alice", "wrong") is None
    assert store.accounts.check_password("nobody", "s3cret") is None
    with pytest.raises(ConflictError):
        store.accounts.add_user("alice", "again")
    store.accounts.update_user(user.id, disabled=True)
    assert store.accounts.check_password("alice", "s3cret") is None


@pytest.mark.parametrize("name", ["al\x00ice", "", "x" * 65, "../alice", "alice smith"])
def test_a_name_no_account_can_have_is_missing_without_reaching_the_database(
    store: Store, name: str
):
    store.accounts.add_user("alice", "pw-alice")
    store.accounts.add_group("lab")
    with pytest.raises(NotFoundError):
        store.accounts.user_named(name)
    with pytest.raises(NotFoundError):
        store.accounts.group_named(name)


def test_tokens_are_stored_hashed_and_stop_working_once_revoked(store: Store):
    user = store.accounts.add_user("alice", "pw")
    token, secret = store.accounts.create_token(user.id, "laptop")
    assert secret not in token.token_hash and len(token.token_hash) == 64
    assert store.accounts.user_of_token(secret).id == user.id
    assert store.accounts.list_tokens(user.id)[0].last_used_at is not None
    other = store.accounts.add_user("bob", "pw")
    with pytest.raises(NotFoundError):
        store.accounts.revoke_token(other.id, token.id)
    store.accounts.revoke_token(user.id, token.id)
    assert store.accounts.user_of_token(secret) is None
    assert store.accounts.user_of_token(secret + "x") is None


def test_members_see_their_own_jobs_and_those_shared_with_their_groups(store: Store):
    admin = store.accounts.add_user("admin", "pw", role="admin")
    alice = store.accounts.add_user("alice", "pw")
    bob = store.accounts.add_user("bob", "pw")
    job_a = store.create_job(kind="dock", name="a", params={}, owner_id=alice.id)
    job_b = store.create_job(kind="dock", name="b", params={}, owner_id=bob.id)
    as_alice = store.accounts.viewer(alice)
    assert [job.id for job in store.list_jobs(viewer=as_alice)] == [job_a.id]
    with pytest.raises(NotFoundError):
        store.job_for(as_alice, job_b.id)
    store.accounts.add_group("lab")
    store.accounts.add_member("lab", "alice")
    store.accounts.share(job_b.id, "lab")
    as_alice = store.accounts.viewer(alice)
    assert store.job_for(as_alice, job_b.id).id == job_b.id
    with pytest.raises(ForbiddenError):
        store.job_for(as_alice, job_b.id, write=True)
    assert {job.id for job in store.list_jobs(viewer=as_alice)} == {job_a.id, job_b.id}
    assert store.accounts.shared_with(job_b.id) == ["lab"]
    as_admin = store.accounts.viewer(admin)
    assert {job.id for job in store.list_jobs(viewer=as_admin)} == {job_a.id, job_b.id}
    assert len(store.list_jobs(viewer=SINGLE_USER)) == 2
    changed = store.changed_since(job_a.created_at.replace(year=2000), viewer=as_alice)
    store.accounts.unshare(job_b.id, "lab")
    assert [job.id for job in changed] == [job_a.id, job_b.id]
    changed = store.changed_since(job_a.created_at.replace(year=2000), viewer=as_alice)
    assert [job.id for job in changed] == [job_a.id]


def test_usage_counts_unfinished_jobs_and_stored_bytes_against_overrides(store: Store):
    from dockyard.jobs.fence import StoredFile

    alice = store.accounts.add_user("alice", "pw")
    files = [StoredFile("receptor.pdbqt", b"x" * 1000, "text/plain")]
    done = store.create_job(kind="dock", name="a", params={}, owner_id=alice.id, files=files)
    store.create_job(kind="dock", name="b", params={}, owner_id=alice.id)
    with store.session() as session, session.begin():
        session.execute(update(Job).where(Job.id == done.id).values(status=JobStatus.COMPLETED))
    defaults = Usage(0, 0, 5, 100, 10_000)
    usage = store.accounts.usage(alice, defaults)
    assert (usage.active_jobs, usage.stored_bytes) == (1, 1000)
    assert usage.max_active_jobs == 5
    alice = store.accounts.update_user(alice.id, max_active_jobs=1)
    assert store.accounts.usage(alice, defaults).max_active_jobs == 1
    assert store.accounts.usage(alice, NO_LIMITS).max_stored_bytes is None


def test_pending_jobs_run_round_robin_across_owners_dockings_before_chunks(store: Store):
    alice = store.accounts.add_user("alice", "pw")
    bob = store.accounts.add_user("bob", "pw")
    screen = store.create_job(kind="screen", name="s", params={}, owner_id=alice.id)
    ids = {}
    for name, owner, parent in [
        ("chunk1", alice, screen.id),
        ("chunk2", alice, screen.id),
        ("a1", alice, None),
        ("a2", alice, None),
        ("a3", alice, None),
        ("b1", bob, None),
        ("b2", bob, None),
    ]:
        kind = "screen_chunk" if parent else "dock"
        job = store.create_job(kind=kind, name=name, params={}, owner_id=owner.id)
        if parent:
            with store.session() as session, session.begin():
                session.execute(update(Job).where(Job.id == job.id).values(parent_id=parent))
        ids[job.id] = name
    order = [ids[job_id] for job_id in store.pending_ids(10)]
    assert order == ["a1", "b1", "a2", "b2", "a3", "chunk1", "chunk2"]
    # The local runner claims through claim_next: the same order, a slot at a time.
    claimed = [ids[claim.job_id] for claim in store.claim_next("w", 30, 3)]
    assert claimed == ["a1", "b1", "a2"]
    assert [ids[claim.job_id] for claim in store.claim_next("w", 30, 1)] == ["b2"]


def test_jobs_from_before_accounts_keep_their_files_and_go_to_the_first_admin(database_url):
    from alembic import command

    from dockyard.jobs.db import alembic_config, make_engine
    from dockyard.jobs.fence import StoredFile

    engine = make_engine(database_url)
    try:
        command.upgrade(alembic_config(engine), "0003")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO jobs (kind, name, status, params, progress, stage, attempt, "
                    "max_attempts, time_limit, created_at, updated_at) VALUES ('dock', 'old', "
                    "'completed', '{}', 1.0, 'completed', 1, 3, 60, :now, :now)"
                ),
                {"now": utcnow()},
            )
            job_id = connection.execute(text("SELECT max(id) FROM jobs")).scalar()
            connection.execute(
                text(
                    "INSERT INTO job_files (job_id, name, role, media_type, size, content) "
                    "VALUES (:id, 'receptor.pdbqt', 'input', 'text/plain', 4, :content)"
                ),
                {"id": job_id, "content": b"ATOM"},
            )
        command.upgrade(alembic_config(engine), "head")
        store = Store(engine)
        assert store.get_job(job_id).owner_id is None
        assert store.read_file(job_id, "receptor.pdbqt").content == b"ATOM"
        admin = store.accounts.add_user("admin", "pw", role="admin")
        assert store.get_job(job_id).owner_id == admin.id
        assert store.read_file(job_id, "receptor.pdbqt") == StoredFile(
            "receptor.pdbqt", b"ATOM", "text/plain"
        )
        command.downgrade(alembic_config(engine), "0003")
        assert "users" not in inspect(engine).get_table_names()
        assert "owner_id" not in {column["name"] for column in inspect(engine).get_columns("jobs")}
    finally:
        engine.dispose()
