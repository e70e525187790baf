"""Two stand-ins for a MongoDB server, used by the mongodb-compat lane.

`Recorder` sits where the backend hands a finished command to pymongo
(`DatabaseWrapper.get_collection` / `get_database`): everything Django and
django-mongodb-backend do to build the command runs for real, and the command
itself (filter, update pipeline, aggregation pipeline, documents, index models)
is kept for the test to assert. Nothing is executed.

`mongomock_backend()` puts an in-process fake server (mongomock) behind the
real backend for the smoke run. A few adapters bridge gaps in mongomock 4.3,
each meant as an exact equivalence, never a behaviour of our own:

- `Database.list_collections()` (Django's introspection) is answered from
  `list_collection_names()`;
- `create_indexes()` keeps each index's `partialFilterExpression` (mongomock
  drops it there, which would turn our partial unique indexes into plain ones);
- a `$lookup` with `localField`/`foreignField` *and* a pipeline of plain
  `$match` stages (how the backend writes joins) is evaluated as MongoDB
  defines it: the matching foreign documents that also pass the `$match`es;
- a duplicate-key BulkWriteError is raised as DuplicateKeyError (mongomock
  capitalises the "E11000 duplicate key error" text the backend looks for);
- the `$type` (the backend's IS NULL test) and `$getField` (its COUNT)
  aggregation operators are evaluated as MongoDB documents them;
- the `$unset` stage (the backend's GROUP BY drops its helper fields with it) is
  run as what MongoDB defines it to be, a `$project` excluding those fields.
- `list_search_indexes()` (the backend's introspection asks it before removing a
  unique index) fails as on every server that is not Atlas, with OperationFailure.

Everything else is mongomock's own behaviour. docs/mongodb.md says what this does
and does not cover.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from unittest import mock

MONGOMOCK_SERVER_VERSION = "7.0.0"  # the backend refuses servers older than 6.0


class StopRecording(Exception):
    """Raised by the recorder to stop a service right after the command under test."""


@dataclass
class Call:
    collection: str
    op: str
    args: tuple


class _Cursor:
    def __init__(self, docs):
        self._docs = iter(docs)

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._docs)

    next = __next__


class _Result:
    def __init__(self, **attrs):
        self.__dict__.update(attrs)


@dataclass
class Recorder:
    calls: list[Call] = field(default_factory=list)
    matched_count: int = 1
    # Raise StopRecording on the first read after this many writes (None: never)...
    stop_after_writes: int | None = None
    # ...once this many reads after them were answered (with nothing).
    reads_before_stop: int = 0

    def ops(self, op: str, collection: str | None = None) -> list[Call]:
        return [c for c in self.calls if c.op == op and (collection is None or c.collection == collection)]

    def _writes(self) -> int:
        return sum(c.op in ("insert_many", "update_many") for c in self.calls)

    def collection(self, name, **_kwargs):
        return _RecordingCollection(self, name)

    def database(self):
        return _RecordingDatabase(self)


class _RecordingCollection:
    def __init__(self, recorder: Recorder, name: str):
        self.recorder, self.name = recorder, name

    def _log(self, op, *args):
        self.recorder.calls.append(Call(self.name, op, args))

    def aggregate(self, pipeline, session=None, **_kwargs):
        rec = self.recorder
        if rec.stop_after_writes is not None and rec._writes() >= rec.stop_after_writes:
            self._log("aggregate", pipeline)
            if rec.reads_before_stop <= 0:
                raise StopRecording
            rec.reads_before_stop -= 1
            return _Cursor([])
        self._log("aggregate", pipeline)
        return _Cursor([])

    def update_many(self, criteria, update, session=None, **_kwargs):
        self._log("update_many", criteria, update)
        return _Result(matched_count=self.recorder.matched_count)

    def insert_many(self, docs, session=None, **_kwargs):
        docs = list(docs)
        self._log("insert_many", docs)
        return _Result(inserted_ids=[object() for _ in docs])

    def create_indexes(self, index_models, **_kwargs):
        self._log("create_indexes", list(index_models))

    def __getattr__(self, name):
        raise AssertionError(f"the recorder does not expect collection.{name}()")


class _RecordingDatabase:
    def __init__(self, recorder: Recorder):
        self.recorder = recorder

    def create_collection(self, name, **_kwargs):
        self.recorder.calls.append(Call(name, "create_collection", ()))

    def __getattr__(self, name):
        raise AssertionError(f"the recorder does not expect database.{name}()")


class _RecordingClient:
    """Just enough of a MongoClient for the backend to "connect" (version check, database handle)."""

    def __init__(self, recorder: Recorder):
        self.recorder = recorder

    def server_info(self):
        return {"version": MONGOMOCK_SERVER_VERSION, "versionArray": [7, 0, 0, 0]}

    def __getitem__(self, name):
        return _RecordingDatabase(self.recorder)

    def close(self):
        pass


def forget_connection(connection):
    """Drop whatever client the backend holds (real, recording or mongomock) so the next use reconnects."""
    from django.db import connections

    wrapper = connections[connection.alias]  # not django.db.connection: a proxy has its own __dict__
    wrapper.connection = None
    wrapper.__dict__.pop("database", None)
    wrapper._connection_pools.pop(wrapper.alias, None)


@contextmanager
def recording(connection, **options):
    recorder = Recorder(**options)
    forget_connection(connection)
    with (
        mock.patch.object(connection, "get_new_connection", return_value=_RecordingClient(recorder)),
        mock.patch.object(connection, "get_collection", side_effect=recorder.collection),
        mock.patch.object(connection, "get_database", side_effect=recorder.database),
    ):
        try:
            yield recorder
        finally:
            forget_connection(connection)
    forget_connection(connection)


# --- mongomock --------------------------------------------------------------------------------


class _Collection:
    def __init__(self, collection):
        self._collection = collection

    def __getattr__(self, name):
        return getattr(self._collection, name)

    def create_indexes(self, indexes, session=None, **_kwargs):
        names = []
        for index in indexes:
            doc = dict(index.document)
            keys = list(doc.pop("key").items())
            names.append(self._collection.create_index(keys, session=session, **doc))
        return names

    def list_search_indexes(self, *_args, **_kwargs):
        from pymongo.errors import OperationFailure

        raise OperationFailure("$listSearchIndexes stage is only allowed on MongoDB Atlas", 6047401)

    def insert_many(self, docs, *args, **kwargs):
        from pymongo.errors import BulkWriteError, DuplicateKeyError

        try:
            return self._collection.insert_many(docs, *args, **kwargs)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if errors and all(e.get("code") == 11000 for e in errors):
                raise DuplicateKeyError("E11000 duplicate key error", 11000, exc.details) from exc
            raise


class _Database:
    def __init__(self, db):
        self._db = db

    def __getattr__(self, name):
        return getattr(self._db, name)

    def __getitem__(self, name):
        return self._db[name]

    def list_collections(self, **_kwargs):
        return [{"name": name} for name in self._db.list_collection_names()]


class _Client:
    def __init__(self, client):
        self._client = client

    def __getitem__(self, name):
        return _Database(self._client[name])

    def __getattr__(self, name):
        return getattr(self._client, name)


def _bson_type_name(value) -> str:
    import datetime
    import decimal

    from bson import Binary, Decimal128, ObjectId

    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int" if -(2**31) <= value < 2**31 else "long"
    table = [
        (float, "double"),
        (str, "string"),
        (datetime.datetime, "date"),
        (dict, "object"),
        ((list, tuple), "array"),
        (ObjectId, "objectId"),
        ((bytes, Binary), "binData"),
        ((Decimal128, decimal.Decimal), "decimal"),
    ]
    for types, name in table:
        if isinstance(value, types):
            return name
    raise NotImplementedError(f"$type of a {type(value).__name__}")


_EXTRA_OPERATORS = ("$type", "$getField")


def _patched_type_operator(original):
    """Evaluate $type and $getField, dispatched through mongomock's type-operator hook."""

    def handle(self, operator, values):
        if operator == "$getField":
            # {"$getField": {"input": <expr>, "field": <name>}}; a missing field stays missing (KeyError).
            return self.parse(values["input"])[values["field"]]
        if operator != "$type":
            return original(self, operator, values)
        try:
            value = self.parse(values[0] if isinstance(values, list) and len(values) == 1 else values)
        except KeyError:
            return "missing"
        return _bson_type_name(value)

    return handle


def _patched_lookup(original):
    """$lookup with localField/foreignField *and* a pipeline of plain $match stages (MongoDB 5.0+).

    The backend writes joins this way; mongomock only knows the form without a pipeline.
    Semantics: the foreign documents whose foreignField equals the local value *and* that
    pass every $match. Any other pipeline is left to mongomock (which refuses it).
    """

    def handle(in_collection, database, options):
        pipeline = options.get("pipeline")
        plain = (
            pipeline is not None
            and "let" not in options
            and "localField" in options
            and all(list(stage) == ["$match"] and "$expr" not in stage["$match"] for stage in pipeline)
        )
        if not plain:
            return original(in_collection, database, options)
        from mongomock import helpers

        foreign = database.get_collection(options["from"])
        for doc in in_collection:
            try:
                local = helpers.get_value_by_dot(doc, options["localField"])
            except KeyError:
                local = None
            local = {"$in": local} if isinstance(local, list) else local
            query = {"$and": [{options["foreignField"]: local}, *(stage["$match"] for stage in pipeline)]}
            doc[options["as"]] = list(foreign.find(query))
        return in_collection

    return handle


def _unset_stage(project):
    """`{"$unset": "a"}` / `{"$unset": ["a", "b"]}`: by MongoDB's definition, `{"$project": {"a": 0, ...}}`."""

    def handle(in_collection, database, fields):
        names = [fields] if isinstance(fields, str) else list(fields)
        return project(in_collection, database, dict.fromkeys(names, 0))

    return handle


@contextmanager
def mongomock_backend(connection, store=None):
    """Point the backend's MongoClient at a fresh in-process mongomock server (holding `store`'s data)."""
    import django_mongodb_backend.base as backend
    import mongomock
    from mongomock import aggregate

    server = mongomock.MongoClient(_store=store)
    server._server_version = MONGOMOCK_SERVER_VERSION
    type_operators = [*aggregate.type_operators, *_EXTRA_OPERATORS]
    handlers = {
        **aggregate._PIPELINE_HANDLERS,
        "$lookup": _patched_lookup(aggregate._PIPELINE_HANDLERS["$lookup"]),
        "$unset": _unset_stage(aggregate._handle_project_stage),
    }
    with (
        mock.patch.object(aggregate, "type_operators", type_operators),
        mock.patch.object(aggregate, "_PIPELINE_HANDLERS", handlers),
        mock.patch.object(
            aggregate._Parser, "_handle_type_operator", _patched_type_operator(aggregate._Parser._handle_type_operator)
        ),
        mock.patch.object(backend, "MongoClient", lambda **_kw: _Client(server)),
        mock.patch.object(backend, "Collection", lambda db, name, **kw: _Collection(db._db.get_collection(name, **kw))),
    ):
        forget_connection(connection)
        try:
            yield server[connection.settings_dict["NAME"]]
        finally:
            forget_connection(connection)


def copy_store(source):
    """A mongomock server's data, copied (its collections' locks stop a plain deepcopy)."""
    import copy

    from mongomock.store import ServerStore

    target = ServerStore()
    for db_name in source.list_created_database_names():
        for name in source[db_name].list_created_collection_names():
            old, new = source[db_name][name], target[db_name][name]
            new.create()
            new._documents = copy.deepcopy(old._documents)
            new.indexes = copy.deepcopy(old.indexes)
            new._ttl_indexes = copy.deepcopy(old._ttl_indexes)
    return target


# The data of a freshly migrated server: migrating costs seconds a test, a copy of its result milliseconds.
_migrated: list = []


@contextmanager
def migrated(connection):
    """A fresh in-process mongomock server behind the real backend, migrated; `migrate` runs again on the
    copy (it finds nothing to apply, and its post_migrate receivers run as after a real one)."""
    from django.contrib.auth.management import create_permissions
    from django.core.management import call_command
    from django.db.models.signals import post_migrate

    store = copy_store(_migrated[0]) if _migrated else None
    with mongomock_backend(connection, store) as db:
        # auth's post-migrate receiver reads permissions with a join ($lookup with a sub-pipeline), which
        # mongomock does not implement; the permissions are not part of what this lane checks.
        uid = "django.contrib.auth.management.create_permissions"
        post_migrate.disconnect(dispatch_uid=uid)
        try:
            call_command("migrate", verbosity=0, interactive=False)
        finally:
            post_migrate.connect(create_permissions, dispatch_uid=uid)
        if not _migrated:
            _migrated.append(copy_store(db.client._store))
        yield db
