"""manage.py check_migrations: fail when a migration would drop or shrink protected data."""

from django.core.management.base import BaseCommand, CommandError

from ops.migration_safety import blocking, project_problems


class Command(BaseCommand):
    help = (
        "Load every migration of the project apps and fail on an operation that drops a protected model "
        "or field, renames a table or column, or alters a field so that data can be lost, unless the "
        'migration declares `reviewed_data_loss = "<reason>"`.'
    )

    def handle(self, *args, **opts):
        problems = project_problems()
        for problem in problems:
            (self.stdout if problem.reviewed else self.stderr).write(str(problem))
        bad = blocking(problems)
        if bad:
            raise CommandError(f"{len(bad)} unsafe migration operation(s); fix them or declare reviewed_data_loss")
        self.stdout.write(f"OK: no migration drops or shrinks protected data ({len(problems)} reviewed exception(s))")
