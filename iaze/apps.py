"""Contrib app configs for the MongoDB profile (ObjectId primary keys on contrib models)."""

from django.contrib.admin.apps import AdminConfig
from django.contrib.auth.apps import AuthConfig
from django.contrib.contenttypes.apps import ContentTypesConfig

MONGO_AUTO_FIELD = "django_mongodb_backend.fields.ObjectIdAutoField"


class IazeAdminConfig(AdminConfig):
    # Role-scoped admin site: see accounts.admin_site.
    default_site = "accounts.admin_site.IazeAdminSite"


class MongoAdminConfig(IazeAdminConfig):
    default_auto_field = MONGO_AUTO_FIELD


class MongoAuthConfig(AuthConfig):
    default_auto_field = MONGO_AUTO_FIELD


class MongoContentTypesConfig(ContentTypesConfig):
    default_auto_field = MONGO_AUTO_FIELD
