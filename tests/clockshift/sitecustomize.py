"""Moves this Python process's wall clock when MM_TEST_CLOCK_SHIFT_DAYS is set (`make test-future`).

`make test-future` puts this folder on PYTHONPATH, so Python imports this module at start-up in the
test process and in every Python subprocess the tests start (the service under test, the demo): the
whole suite then runs N days in the future and proves that no test depends on today's date.
time-machine moves `time.time`, `datetime.now`, `date.today` and friends; monotonic clocks and
`time.sleep` are left alone, so deadlines and timeouts behave as usual. Programs that are not Python
(openssl, PostgreSQL) keep the real time, as the outside world would.
"""

from __future__ import annotations

import os

_days = os.environ.get("MM_TEST_CLOCK_SHIFT_DAYS")
if _days:
    import datetime

    import time_machine

    _traveller = time_machine.travel(
        datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=int(_days)), tick=True
    )
    _traveller.start()
