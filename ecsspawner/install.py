"""This hub's install id: generated once, kept in the hub's database, tagged on every task.

`hub_id` is configuration, so two hubs can be given the same one (a copied config, the
example's old default). Tasks then look alike to both: each hub's leftover check and
reaper would stop the other's servers. The install id tells them apart: a random id
created the first time a hub with this `hub_id` meets its database, stored there, and
tagged on every task (`jupyterhub:install-id`). A task with this hub's id but another
install id belongs to a second hub; nothing here stops it, and every sighting is an
error in the log.

Where it is kept: JupyterHub's ORM has no key-value table, and the rows it has all
belong to something JupyterHub manages (users, servers, services, OAuth clients, which
it deletes when they leave the configuration). So the spawner keeps one small table of
its own, `ecsspawner_install` (hub_id primary key, install_id, created), in the same
database, created on first use. JupyterHub's schema checks and `upgrade-db` look only
at its alembic revision and its own tables, so the extra table survives upgrades. The
database is what makes a hub the same hub across restarts and image rebuilds: a hub
restarted on its database keeps its install id; a second hub on another database gets
its own. (A hub started on a *copy* of another's database has the same install id and
cannot be told apart; give it its own `hub_id`.)
"""

from __future__ import annotations

import uuid
import weakref
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

_metadata = sa.MetaData()
INSTALL_TABLE = sa.Table(
    "ecsspawner_install",
    _metadata,
    sa.Column("hub_id", sa.String(64), primary_key=True),
    sa.Column("install_id", sa.String(64), nullable=False),
    sa.Column("created", sa.DateTime, nullable=False),
)

_cache: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()


def install_id(db: Any, hub_id: str) -> str:
    """This hub's install id for `hub_id`, created in the database `db` (an ORM session) on first use."""
    engine = db.get_bind()
    known = _cache.setdefault(engine, {})
    if hub_id in known:
        return known[hub_id]
    found = _read_or_create(db, hub_id)
    known[hub_id] = found
    return found


def _read_or_create(db: Any, hub_id: str) -> str:
    select = sa.select(INSTALL_TABLE.c.install_id).where(INSTALL_TABLE.c.hub_id == hub_id)
    try:
        INSTALL_TABLE.create(db.connection(), checkfirst=True)
        found = db.execute(select).scalar()
        if found:
            db.commit()
            return str(found)
        new = uuid.uuid4().hex
        db.execute(INSTALL_TABLE.insert().values(hub_id=hub_id, install_id=new, created=datetime.now(UTC)))
        db.commit()
        return new
    except IntegrityError:  # another process of the same hub created it first
        db.rollback()
        return str(db.execute(select).scalar_one())
    except Exception:
        db.rollback()
        raise


def forget_cache() -> None:
    """Drop the per-process cache (tests)."""
    _cache.clear()
