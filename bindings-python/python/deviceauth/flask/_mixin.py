"""The user model's column holding the id the app registers with the service."""

from __future__ import annotations

try:
    from sqlalchemy import String
    from sqlalchemy.orm import Mapped, mapped_column
except ImportError as _error:  # pragma: no cover - depends on the environment
    raise ImportError("DeviceAuthUserMixin needs SQLAlchemy 2: pip install 'sqlalchemy>=2'") from _error

from ..web import new_user_id


class DeviceAuthUserMixin:
    """Adds ``deviceauth_id``: the random id the app registers the user with at the service
    (unique; made when the row is first flushed). The service's guide advises a random token
    per user rather than a name or an e-mail address, and this id never changes when the
    user renames the account.

    For SQLAlchemy 2 declarative models (``DeclarativeBase``) and Flask-SQLAlchemy's
    ``db.Model``::

        class User(DeviceAuthUserMixin, UserMixin, db.Model): ...
    """

    deviceauth_id: Mapped[str] = mapped_column(String(64), unique=True, index=True, default=new_user_id)
