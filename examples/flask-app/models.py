"""Database tables: users and their posts.

As the Activeconnect documentation recommends, the id registered with the service is a
random token (`deviceauth_id`, from DeviceAuthUserMixin), never the user's name.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from flask_login import UserMixin
from sqlalchemy import DateTime, ForeignKey, String, create_engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, scoped_session, sessionmaker

from deviceauth.flask import DeviceAuthUserMixin


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class User(DeviceAuthUserMixin, UserMixin, Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    posts: Mapped[list["Post"]] = relationship(back_populates="author")


class Post(Base):
    __tablename__ = "post"

    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(String(280))
    timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    author: Mapped[User] = relationship(back_populates="posts")


def make_session(database_url: str) -> scoped_session:
    """Creates the tables if needed and returns the app's session (one per thread).

    Several gunicorn workers start at once and each creates the tables; when two race
    for the same table the loser's CREATE fails (SQLite: locked; Postgres: a duplicate),
    so try again (the tables exist by then).
    A worker that failed to boot would make gunicorn stop the whole server.
    """
    connect_args = {"check_same_thread": False, "timeout": 30} if database_url.startswith("sqlite") else {}
    # A plain postgresql:// URL (as libpq and the sign-in store take it) through psycopg 3.
    for scheme in ("postgresql://", "postgres://"):
        if database_url.startswith(scheme):
            database_url = "postgresql+psycopg://" + database_url.removeprefix(scheme)
    engine = create_engine(database_url, connect_args=connect_args, pool_pre_ping=True)
    for attempt in range(10):
        try:
            Base.metadata.create_all(engine)
            break
        except (OperationalError, IntegrityError, ProgrammingError):
            if attempt == 9:
                raise
            time.sleep(0.1 * (attempt + 1))
    return scoped_session(sessionmaker(engine, expire_on_commit=False))
