"""Copy each media download's connection from its message, for the jobs written before 0015.

Additive only: fills the empty new column, one conditional update (still empty) per connection and page,
so a rerun, or a job the services stamped meanwhile, is left as it is. Reads each table on its own (no
join: the same on every profile). Reverse: nothing to undo.
"""

from django.db import migrations


def backfill(apps, schema_editor):
    MediaDownload = apps.get_model("tickets", "MediaDownload")
    Message = apps.get_model("tickets", "Message")
    after = None
    while True:
        empty = MediaDownload.objects.filter(connection__isnull=True)
        if after is not None:
            empty = empty.filter(pk__gt=after)
        page = list(empty.order_by("pk").values_list("pk", "message_id")[:2000])
        if not page:
            return
        after = page[-1][0]
        connection_of = dict(Message.objects.filter(pk__in=[m for _, m in page]).values_list("pk", "connection_id"))
        jobs_by_connection = {}
        for job_id, message_id in page:
            jobs_by_connection.setdefault(connection_of.get(message_id), []).append(job_id)
        for connection_id, job_ids in jobs_by_connection.items():
            if connection_id is not None:
                MediaDownload.objects.filter(pk__in=job_ids, connection__isnull=True).update(connection_id=connection_id)


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0015_jobs_not_before"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
