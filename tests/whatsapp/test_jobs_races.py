"""The job queue's claim under real concurrency (PostgreSQL, MongoDB): real threads released together by a
barrier, no sleeps. Of sixteen workers claiming one job, exactly one gets the lease."""

import pytest

from tests import factories as f
from tests.support.races import race, raise_first_error
from tests.whatsapp.test_jobs import QUEUES

pytestmark = [pytest.mark.realserver, pytest.mark.django_db(transaction=True)]

THREADS = 16


@pytest.mark.parametrize("name", QUEUES)
def test_sixteen_workers_claim_one_job_and_exactly_one_wins(name, tenant):
    queue, make = QUEUES[name]
    pk = make(f.make_connection(tenant.reseller, tenant.suporte))
    results = race(THREADS, lambda i: queue.claim(pk))
    raise_first_error(results)
    winners = [lease for lease in results if lease is not None]
    assert len(winners) == 1
    job = queue.objects.get(pk=pk)
    assert job.attempts == 1 and job.lease_until == winners[0]
    # ...and of sixteen workers ending the attempt, only the holder of that lease writes.
    outcomes = race(THREADS, lambda i: queue.succeed(pk, winners[0]) if i == 0 else queue.fail(pk, winners[0]))
    raise_first_error(outcomes)
    assert outcomes.count(True) == 1
