"""Database tables: users, their Activeconnect token, sign-in sessions, and posts.

As the Activeconnect documentation recommends, the id registered with the service is a
random token kept in its own lookup table, never the user's name.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime, timezone

from sqlalchemy import DateTime, ForeignKey, String, Text, create_engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    token: Mapped["ActiveconnectToken"] = relationship(back_populates="user", uselist=False)
    posts: Mapped[list["Post"]] = relationship(back_populates="author")


class ActiveconnectToken(Base):
    """The random id this app registers with Activeconnect for a user."""

    __tablename__ = "activeconnect_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), unique=True)
    token: Mapped[str] = mapped_column(String(64), unique=True, default=lambda: secrets.token_urlsafe(24))
    user: Mapped[User] = relationship(back_populates="token")


class SignInSession(Base):
    """A sign-in session, kept server side: the browser's cookie holds only `id`.

    `data` is the deviceauth session JSON, which holds the session secret.
    """

    __tablename__ = "signin_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: secrets.token_urlsafe(32))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    data: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32))
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user: Mapped[User] = relationship()


class Post(Base):
    __tablename__ = "post"

    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(String(280))
    timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    author: Mapped[User] = relationship(back_populates="posts")


def make_sessionmaker(database_url: str) -> sessionmaker:
    """Creates the tables if needed and returns a session factory.

    Several gunicorn workers start at once and each creates the tables; when two race
    for the same table the loser's CREATE fails (SQLite: locked; Postgres: a duplicate),
    so try again (the tables exist by then).
    A worker that failed to boot would make gunicorn stop the whole server.
    """
    connect_args = {"check_same_thread": False, "timeout": 30} if database_url.startswith("sqlite") else {}
    # A plain postgresql:// URL (as libpq and the monitor's store take it) through psycopg 3.
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
    return sessionmaker(engine, expire_on_commit=False)

