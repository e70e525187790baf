"""The abstract base of every project model, and the no-delete guard.

IAZE never deletes: tickets, messages, events, users, departments, configs,
connections and the webhook journal are kept forever. The guard makes an
accidental `.delete()` fail loudly instead of silently losing history.
"""

import uuid

from django.db import models
from django.db.models.query import ModelIterable
from django.utils.translation import gettext_lazy as _

from iaze.lib import clock, related


class DeletionRefused(Exception):
    """Raised on any attempt to delete a protected row."""


class ProtectedQuerySet(models.QuerySet):
    """The no-delete guard, and select_related/only that read relations separately on MongoDB
    (iaze/lib/related.py explains why)."""

    _attach: tuple[str, ...] = ()
    _attach_only: dict = {}

    def _clone(self):
        clone = super()._clone()
        clone._attach, clone._attach_only = self._attach, self._attach_only
        return clone

    def select_related(self, *fields):
        if fields == (None,) or not related.separate_reads(self.db):
            return super().select_related(*fields)
        clone = self._chain()
        clone._attach = tuple(dict.fromkeys(clone._attach + (fields or related.default_names(self.model))))
        return clone

    def only(self, *fields):
        if not related.separate_reads(self.db):
            return super().only(*fields)
        local, theirs = related.split_only(self.model, fields)
        clone = super().only(*local)
        clone._attach_only = {**clone._attach_only, **theirs}
        return clone

    def _fetch_all(self):
        fresh = self._result_cache is None
        super()._fetch_all()
        if fresh and self._attach and issubclass(self._iterable_class, ModelIterable):
            related.attach(self._result_cache, self._attach, self._attach_only, self.db)

    def delete(self):
        raise DeletionRefused(
            f"{self.model.__name__} rows are never deleted in IAZE; deactivate or close them instead."
        )

    delete.queryset_only = True


class ProtectedManager(models.Manager.from_queryset(ProtectedQuerySet)):
    pass


class MillisecondDateTimeField(models.DateTimeField):
    """auto_now / auto_now_add stamp iaze.lib.clock.now(): milliseconds, as every profile stores them.

    Explicit values are saved as given. Migrations see a plain DateTimeField (same column).
    """

    def pre_save(self, model_instance, add):
        if self.auto_now or (self.auto_now_add and add):
            value = clock.now()
            setattr(model_instance, self.attname, value)
            return value
        return super().pre_save(model_instance, add)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.DateTimeField", args, kwargs


class BaseModel(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("ID"))
    created_at = MillisecondDateTimeField(auto_now_add=True, verbose_name=_("criado em"))
    updated_at = MillisecondDateTimeField(auto_now=True, verbose_name=_("atualizado em"))

    objects = ProtectedManager()

    class Meta:
        abstract = True

    def delete(self, *args, **kwargs):
        raise DeletionRefused(
            f"{type(self).__name__} rows are never deleted in IAZE; deactivate or close them instead."
        )
