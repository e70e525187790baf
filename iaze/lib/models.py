"""The abstract base of every project model, and the no-delete guard.

IAZE never deletes: tickets, messages, events, users, departments, configs,
connections and the webhook journal are kept forever. The guard makes an
accidental `.delete()` fail loudly instead of silently losing history.
"""

import uuid

from django.db import models

from . import clock


class DeletionRefused(Exception):
    """Raised on any attempt to delete a protected row."""


class ProtectedQuerySet(models.QuerySet):
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
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = MillisecondDateTimeField(auto_now_add=True)
    updated_at = MillisecondDateTimeField(auto_now=True)

    objects = ProtectedManager()

    class Meta:
        abstract = True

    def delete(self, *args, **kwargs):
        raise DeletionRefused(
            f"{type(self).__name__} rows are never deleted in IAZE; deactivate or close them instead."
        )
